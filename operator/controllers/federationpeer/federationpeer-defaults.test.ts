import { describe, expect, it } from "@jest/globals";
import { federationReceiptLookBackMs } from "./federationpeer-defaults.ts";

describe("federationReceiptLookBackMs", () => {
  it.each<[number, number]>([
    [10, 600_000], // 3 × 10 s is under the 10 min floor
    [200, 600_000], // exactly the floor
    [300, 900_000], // three intervals
    [3600, 10_800_000],
  ])("syncIntervalSeconds %d → %d ms", (interval, want) => {
    expect(federationReceiptLookBackMs(interval)).toBe(want);
  });
});
