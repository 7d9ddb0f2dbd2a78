import { describe, expect, it } from "@jest/globals";
import { usageOf, type Usage } from "./index.ts";

const T0 = "2026-03-01T12:00:00Z";

describe("usageOf", () => {
  type Row = [string, string | Date, string | Date, number, number, Usage];
  it.each<Row>([
    ["an hour on one GPU", T0, "2026-03-01T13:00:00Z", 1, 0.85, { gpuSeconds: 3600, cost: 0.85 }],
    [
      "five minutes on four GPUs",
      T0,
      "2026-03-01T12:05:00Z",
      4,
      2.5,
      { gpuSeconds: 1200, cost: 0.83 },
    ],
    // 1200 s × $2.50/h = $0.8333… → $0.83 (half up: below half a cent)
    ["half a cent rounds up", T0, "2026-03-01T12:00:18Z", 1, 1, { gpuSeconds: 18, cost: 0.01 }],
    // 18 s × $1/h = $0.005 exactly → $0.01
    [
      "just under half a cent rounds down",
      T0,
      "2026-03-01T12:00:17Z",
      1,
      1,
      { gpuSeconds: 17, cost: 0 },
    ],
    ["half a second rounds up", T0, "2026-03-01T12:00:01.500Z", 2, 1, { gpuSeconds: 4, cost: 0 }],
    [
      "an end before the start counts 0",
      "2026-03-01T13:00:00Z",
      T0,
      8,
      3,
      { gpuSeconds: 0, cost: 0 },
    ],
    ["a free treaty", T0, "2026-03-01T13:00:00Z", 1, 0, { gpuSeconds: 3600, cost: 0 }],
    [
      "Date inputs",
      new Date(T0),
      new Date("2026-03-01T12:30:00Z"),
      1,
      1.8,
      { gpuSeconds: 1800, cost: 0.9 },
    ],
    // 30 days on 64 GPUs at $10,000/h: the exact product passes 2^53 micro-dollar-seconds
    [
      "a long job on many GPUs, exactly",
      T0,
      "2026-03-31T12:00:00Z",
      64,
      10_000,
      { gpuSeconds: 165_888_000, cost: 460_800_000 },
    ],
    [
      "a price with sub-cent digits",
      T0,
      "2026-03-01T13:00:00Z",
      3,
      0.333,
      { gpuSeconds: 10_800, cost: 1 },
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
      "pricePerHour must be a non-negative number, got -1",
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
