import { describe, expect, it } from "@jest/globals";
import type { Condition } from "../../crds/index.ts";
import {
  findCondition,
  isTrue,
  removeCondition,
  setCondition,
  setConditions,
} from "./conditions.ts";

const t0 = new Date("2026-01-01T00:00:00.000Z");
const t1 = new Date("2026-01-01T00:05:00.500Z");
const ready = (status: Condition["status"], reason = "R", gen = 1): Condition => ({
  type: "Ready",
  status,
  reason,
  message: "",
  lastTransitionTime: "2026-01-01T00:00:00Z",
  observedGeneration: gen,
});

describe("setCondition", () => {
  it.each([
    {
      name: "adds a new condition with now as transition time",
      before: [] as Condition[],
      input: { type: "Ready", status: "True" as const, reason: "Placed" },
      gen: 3,
      wantTime: "2026-01-01T00:05:00Z",
      wantGen: 3,
      wantLen: 1,
    },
    {
      name: "keeps lastTransitionTime when the status is unchanged",
      before: [ready("True")],
      input: { type: "Ready", status: "True" as const, reason: "Other", message: "m" },
      gen: 2,
      wantTime: "2026-01-01T00:00:00Z",
      wantGen: 2,
      wantLen: 1,
    },
    {
      name: "moves lastTransitionTime when the status changes",
      before: [ready("True")],
      input: { type: "Ready", status: "False" as const, reason: "Broken" },
      gen: 1,
      wantTime: "2026-01-01T00:05:00Z",
      wantGen: 1,
      wantLen: 1,
    },
    {
      name: "appends a second type and leaves the first alone",
      before: [ready("True")],
      input: { type: "Routed", status: "True" as const, reason: "Chosen" },
      gen: 1,
      wantTime: "2026-01-01T00:05:00Z",
      wantGen: 1,
      wantLen: 2,
    },
  ])("$name", ({ before, input, gen, wantTime, wantGen, wantLen }) => {
    const got = setCondition(before, input, gen, t1);
    const c = findCondition(got, input.type);
    expect(c?.lastTransitionTime).toBe(wantTime);
    expect(c?.observedGeneration).toBe(wantGen);
    expect(c?.reason).toBe(input.reason);
    expect(c?.message).toBe(input.message ?? "");
    expect(got).toHaveLength(wantLen);
  });

  it("does not mutate its input", () => {
    const before = [ready("True")];
    setCondition(before, { type: "Ready", status: "False", reason: "X" }, 2, t1);
    expect(before[0]?.status).toBe("True");
  });

  it("sets several conditions in order and removes by type", () => {
    const got = setConditions(
      undefined,
      [
        { type: "A", status: "True", reason: "Yes" },
        { type: "B", status: "False", reason: "No" },
      ],
      undefined,
      t0,
    );
    expect(got.map((c) => c.type)).toEqual(["A", "B"]);
    expect(got[0]?.observedGeneration).toBeUndefined();
    expect(isTrue(got, "A")).toBe(true);
    expect(isTrue(got, "B")).toBe(false);
    expect(removeCondition(got, "A").map((c) => c.type)).toEqual(["B"]);
  });
});
