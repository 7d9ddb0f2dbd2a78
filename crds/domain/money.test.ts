import { describe, expect, it } from "@jest/globals";
import {
  centsCostToMicros,
  costMicros,
  formatUsd,
  microsToUsd,
  sumMicros,
  usdToMicros,
} from "./money.ts";

describe("costMicros", () => {
  it.each<[string, number, number, number]>([
    // 2 s × $0.60/h = $0.000333… → 333 µ$ (it was 0 when rounded to cents)
    ["a 2-second job at $0.60/h", 2, 0.6, 333],
    ["an hour on one GPU", 3600, 0.85, 850_000],
    // 1200 s × $2.50/h = $0.833333… → 833 333 µ$
    ["five minutes on four GPUs", 1200, 2.5, 833_333],
    // 18 s × $1/h = $0.005 exactly
    ["half a cent, exactly", 18, 1, 5_000],
    // 1 s × $1.80/h = 500 µ$ exactly; 1 s × $0.0018/h = 0.5 µ$ → rounds half up
    ["half a micro-dollar rounds up", 1, 0.0018, 1],
    ["just under half a micro-dollar rounds down", 1, 0.0017, 0],
    ["a free treaty", 3600, 0, 0],
    // 30 days on 64 GPUs at $10,000/h: the product passes 2^53
    ["a long job on many GPUs, exactly", 165_888_000, 10_000, 460_800_000_000_000],
  ])("%s", (_what, gpuSeconds, price, want) => {
    expect(costMicros(gpuSeconds, price)).toBe(want);
  });

  it.each<[string, () => number, string]>([
    [
      "a fractional GPU-second count",
      () => costMicros(1.5, 1),
      "gpuSeconds must be a non-negative integer, got 1.5",
    ],
    [
      "a negative price",
      () => costMicros(1, -1),
      "pricePerHour must be a non-negative number of USD, got -1",
    ],
    [
      "a NaN price",
      () => costMicros(1, Number.NaN),
      "pricePerHour must be a non-negative number of USD, got NaN",
    ],
  ])("refuses %s", (_what, f, wantError) => {
    expect(f).toThrow(wantError);
  });

  it("sums many sub-cent jobs to the true total, where rounding each to cents gave 0", () => {
    // 10 000 jobs of 2 s at $0.90/h: each exactly $0.0005, together exactly $5.
    const parts = Array.from({ length: 10_000 }, () => costMicros(2, 0.9));
    expect(parts[0]).toBe(500);
    expect(sumMicros(parts)).toBe(5_000_000);
    expect(formatUsd(sumMicros(parts))).toBe("$5.00");
  });
});

describe("formatUsd", () => {
  it.each<[number, string]>([
    [0, "$0.00"],
    [333, "$0.000333"],
    [1_230_000, "$1.23"],
    [1_234_500, "$1.2345"],
    [10_000, "$0.01"],
    [100_000, "$0.10"],
    [460_800_000_000_000, "$460800000.00"],
  ])("%d µ$ → %s", (micros, want) => {
    expect(formatUsd(micros)).toBe(want);
  });
});

describe("conversions", () => {
  it.each<[number, number]>([
    [0.6, 600_000],
    [0.000001, 1],
    [10_000, 10_000_000_000],
  ])("usdToMicros(%d) = %d", (usd, want) => {
    expect(usdToMicros(usd)).toBe(want);
  });

  it.each<[number, number]>([
    [0, 0],
    [0.01, 10_000],
    [0.83, 830_000],
    [1.15, 1_150_000],
    [460_800_000, 460_800_000_000_000],
  ])("a receipt's cents cost of $%d is %d µ$", (usd, want) => {
    expect(centsCostToMicros(usd)).toBe(want);
  });

  it("shows micro-dollars as USD without changing the digits", () => {
    expect(String(microsToUsd(333))).toBe("0.000333");
  });

  it("refuses a sum beyond exact integers", () => {
    expect(() => sumMicros([Number.MAX_SAFE_INTEGER, 1])).toThrow("beyond exact integer range");
  });
});
