// The chaos suite's fault schedule: every component alone, every unordered pair once, in an
// order fixed by the seed (so a failing run replays with --seed).
import { describe, expect, it } from "@jest/globals";
import { faultLabel, faultSchedule } from "./chaos-run.ts";
import { FAULT_TARGETS } from "./stack.ts";

describe("faultSchedule", () => {
  it.each([
    ["singles", 1, 11],
    ["pairs", 1, 55],
    ["singles", 7, 11],
    ["pairs", 7, 55],
  ] as const)("%s with seed %i: %i distinct faults", (kind, seed, wantCount) => {
    const faults = faultSchedule(kind, seed);
    expect(faults).toHaveLength(wantCount);
    expect(new Set(faults.map(faultLabel)).size).toBe(wantCount);
    for (const f of faults) {
      expect(f).toHaveLength(kind === "singles" ? 1 : 2);
      expect(new Set(f).size).toBe(f.length);
      for (const t of f) expect(FAULT_TARGETS).toContain(t);
    }
  });

  it("gives the same order for the same seed and another for another seed", () => {
    const labels = (seed: number): string[] => faultSchedule("pairs", seed).map(faultLabel);
    expect(labels(3)).toEqual(labels(3));
    expect(labels(3)).not.toEqual(labels(4));
  });

  it.each([
    [["postgres"], "postgres"],
    [["redis", "etcd"], "etcd+redis"],
  ] as const)("labels %j as %s", (fault, want) => {
    expect(faultLabel(fault)).toBe(want);
  });
});
