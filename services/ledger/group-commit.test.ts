import { describe, expect, it } from "@jest/globals";
import { GroupCommitter } from "./group-commit.ts";

describe("GroupCommitter", () => {
  it("commits the first item alone and batches what arrives meanwhile, up to maxBatch", async () => {
    const batches: number[][] = [];
    const gc = new GroupCommitter<number, string>(async (items) => {
      batches.push([...items]);
      await new Promise((r) => setTimeout(r, 5));
      return items.map((i) => `ok-${i}`);
    }, 4);
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) => gc.submit(i)));
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `ok-${i}`));
    expect(batches).toEqual([[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]);
  });

  it("rejects every item of a failed batch and keeps serving later ones", async () => {
    let calls = 0;
    const gc = new GroupCommitter<number, number>((items) => {
      calls++;
      return calls === 1
        ? Promise.reject(new Error("db down"))
        : Promise.resolve(items.map((i) => i * 2));
    });
    await expect(gc.submit(1)).rejects.toThrow("db down");
    expect(await gc.submit(2)).toBe(4);
    await gc.flush();
    expect(gc.pending).toBe(0);
  });
});
