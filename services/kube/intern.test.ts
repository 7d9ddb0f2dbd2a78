import { StringInterner } from "./intern.ts";

// Two equal strings built at run time are distinct heap objects; %HaveSameMap-style identity is
// not observable from JS, so these tests check the table's behaviour and that values survive.
describe("StringInterner", () => {
  it("returns the first instance for equal strings and leaves values unchanged", () => {
    const i = new StringInterner();
    const a = i.intern(["Tr", "ue"].join(""));
    expect(i.intern("True")).toBe(a);
    expect(i.size()).toBe(1);
    const obj = JSON.parse(
      '{"metadata":{"namespace":"ns","labels":{"a":"ns"}},"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Complete","status":"True"}]},"n":3,"b":true,"z":null}',
    ) as unknown;
    const before = JSON.stringify(obj);
    expect(i.internDeep(obj)).toBe(obj);
    expect(JSON.stringify(obj)).toBe(before);
    // ns, Ready, True, Complete: each held once.
    expect(i.size()).toBe(4);
  });

  it("skips strings longer than maxLength", () => {
    const i = new StringInterner({ maxLength: 4 });
    i.intern("short");
    i.intern("ok");
    expect(i.size()).toBe(1);
  });

  it("forgets strings no longer seen after two generations, keeps those still in use", () => {
    const i = new StringInterner({ generationSize: 3 });
    i.intern("gone");
    i.intern("kept");
    for (let n = 0; n < 3; n++) i.intern(`a${n}`); // fills generation 1; "gone", "kept" move back
    i.intern("kept"); // promoted into the current generation
    for (let n = 0; n < 3; n++) i.intern(`b${n}`); // one more generation goes by
    const table = i as unknown as { cur: Map<string, string>; prev: Map<string, string> };
    const held = (): Set<string> => new Set([...table.cur.keys(), ...table.prev.keys()]);
    expect(held().has("gone")).toBe(false);
    expect(held().has("kept")).toBe(true);
    for (let n = 0; n < 6; n++) i.intern(`c${n}`); // unused for two generations: forgotten
    expect(held().has("kept")).toBe(false);
    expect(i.size()).toBeLessThanOrEqual(6);
  });
});
