import { describe, expect, it } from "@jest/globals";
import { KeyedMemo, KeyIds } from "./memo-keys.ts";

describe("KeyIds and KeyedMemo", () => {
  it("gives each key a small stable id", () => {
    const ids = new KeyIds(4);
    expect([ids.id("a"), ids.id("b"), ids.id("a"), ids.id("c")]).toEqual([0, 1, 0, 2]);
    expect(ids.epoch).toBe(0);
  });

  it("forgets every key past max, and memos filled before read as empty", () => {
    const ids = new KeyIds(2);
    const memo = new KeyedMemo<string>(ids);
    memo.set(ids.id("a"), "A");
    memo.set(ids.id("b"), "B");
    expect(memo.get(ids.id("a"))).toBe("A");
    const c = ids.id("c");
    expect([c, ids.epoch]).toEqual([0, 1]);
    expect(memo.get(c)).toBeUndefined();
    expect(memo.get(ids.id("a"))).toBeUndefined();
    memo.set(c, "C");
    expect(memo.get(c)).toBe("C");
  });
});
