import { describe, expect, it } from "@jest/globals";
import { usageOf, type Usage } from "./index.ts";

const T0 = "2026-03-01T12:00:00Z";

describe("usageOf", () => {
  type Row = [string, string | Date, string | Date, number, number, Usage];
  it.each<Row>([
    [
      "an hour on one GPU",
      T0,
      "2026-03-01T13:00:00Z",
      1,
      0.85,
      { gpuSeconds: 3600, costMicroUsd: 850_000 },
    ],
    [
      "five minutes on four GPUs",
      T0,
      "2026-03-01T12:05:00Z",
      4,
      2.5,
      { gpuSeconds: 1200, costMicroUsd: 833_333 },
    ],
    // 1200 s × $2.50/h = $0.833333… → 833 333 µ$ (half up: below half a micro-dollar)
    [
      "half a cent, exactly",
      T0,
      "2026-03-01T12:00:18Z",
      1,
      1,
      { gpuSeconds: 18, costMicroUsd: 5_000 },
    ],
    // 18 s × $1/h = $0.005 exactly (it was rounded up to $0.01 when costs were cents)
    // 17 s × $1/h = $0.004722… → 4 722 µ$ (it was 0 when costs were cents)
    [
      "a sub-cent job is not free",
      T0,
      "2026-03-01T12:00:17Z",
      1,
      1,
      { gpuSeconds: 17, costMicroUsd: 4_722 },
    ],
    // 2 s × $0.60/h = $0.000333… → 333 µ$
    ["a 2-second job", T0, "2026-03-01T12:00:02Z", 1, 0.6, { gpuSeconds: 2, costMicroUsd: 333 }],
    [
      "half a second rounds up",
      T0,
      "2026-03-01T12:00:01.500Z",
      2,
      1,
      { gpuSeconds: 4, costMicroUsd: 1_111 },
    ],
    [
      "an end before the start counts 0",
      "2026-03-01T13:00:00Z",
      T0,
      8,
      3,
      { gpuSeconds: 0, costMicroUsd: 0 },
    ],
    ["a free treaty", T0, "2026-03-01T13:00:00Z", 1, 0, { gpuSeconds: 3600, costMicroUsd: 0 }],
    [
      "Date inputs",
      new Date(T0),
      new Date("2026-03-01T12:30:00Z"),
      1,
      1.8,
      { gpuSeconds: 1800, costMicroUsd: 900_000 },
    ],
    // 30 days on 64 GPUs at $10,000/h: the exact product passes 2^53 micro-dollar-seconds
    [
      "a long job on many GPUs, exactly",
      T0,
      "2026-03-31T12:00:00Z",
      64,
      10_000,
      { gpuSeconds: 165_888_000, costMicroUsd: 460_800_000_000_000 },
    ],
    [
      "a price with sub-cent digits",
      T0,
      "2026-03-01T13:00:00Z",
      3,
      0.333,
      { gpuSeconds: 10_800, costMicroUsd: 999_000 },
    ],
  ])("%s", (...[, start, end, gpus, price, want]: Row) => {
    expect(usageOf(start, end, gpus, price)).toEqual(want);
  });

  it.each<[string, () => Usage, string]>([
    [
      "a fractional GPU count",
      () => usageOf(T0, T0, 1.5, 1),
      "gpuCount must be a non-negative integer, got 1.5",
    ],
    [
      "a negative price",
      () => usageOf(T0, T0, 1, -1),
      "pricePerHour must be a non-negative number of USD, got -1",
    ],
    [
      "a bad timestamp",
      () => usageOf("yesterday", T0, 1, 1),
      "start is not a timestamp: yesterday",
    ],
  ])("refuses %s", (_what, f, wantError) => {
    expect(f).toThrow(wantError);
  });
});
