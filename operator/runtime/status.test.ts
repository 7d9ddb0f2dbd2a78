import { describe, expect, it } from "@jest/globals";
import { isDeepStrictEqual } from "node:util";
import { jsonEqual, pruneUndefined } from "./status.ts";

describe("jsonEqual", () => {
  const when = "2026-01-01T00:00:00Z";
  it.each<[string, unknown, unknown, boolean]>([
    ["equal primitives", "a", "a", true],
    ["different primitives", 1, 2, false],
    ["a number and its text", 1, "1", false],
    ["null and an object", null, {}, false],
    ["undefined and an empty status", undefined, {}, false],
    ["both undefined", undefined, undefined, true],
    ["keys in another order", { a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, true],
    ["an undefined member is absent", { a: 1 }, { a: 1, jobRef: undefined }, true],
    ["an undefined member on the left", { a: 1, x: undefined }, { a: 1 }, true],
    ["a missing member", { a: 1, b: 2 }, { a: 1 }, false],
    ["a member undefined on one side only", { a: 1, b: 2 }, { a: 1, b: undefined }, false],
    [
      "nested difference",
      { c: [{ type: "Ready", status: "True" }] },
      { c: [{ type: "Ready", status: "False" }] },
      false,
    ],
    ["array length", [1, 2], [1, 2, 3], false],
    ["array and object", [], {}, false],
    ["undefined in an array is null", [null], [undefined], true],
    ["a Date is not the API's text of the same time", { t: when }, { t: new Date(when) }, false],
    [
      "a Date object and its text",
      { t: new Date(when).toISOString() },
      { t: new Date(when) },
      true,
    ],
    ["NaN is null", { n: null }, { n: NaN }, true],
    ["a function member is absent", { a: 1 }, { a: 1, f: () => 1 }, true],
  ])("%s", (_what, a, b, want) => {
    expect(jsonEqual(a, b)).toBe(want);
    expect(jsonEqual(b, a)).toBe(want);
  });

  it("answers what comparing with the JSON round trip answered", () => {
    const cached = pruneUndefined({
      conditions: [{ type: "Routed", status: "True", reason: "Routed", message: "m" }],
      attempts: [{ attempt: 1, treaty: "t", outcome: "Running" }],
      observedGeneration: 1,
    });
    const same = { ...cached, jobRef: undefined, placement: undefined };
    const other = { ...cached, observedGeneration: 2 };
    for (const next of [same, other]) {
      expect(jsonEqual(cached, next)).toBe(isDeepStrictEqual(cached, pruneUndefined(next)));
    }
  });
});
