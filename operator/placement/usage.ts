// GPU-seconds and cost of one attempt, computed from its start and end: usage is derived from
// recorded facts, never incremented, so recomputing it gives the same numbers.
import { costMicros } from "../../crds/domain/money.ts";
import type { Time } from "./job-observer.ts";

/** Usage of one attempt. */
export interface Usage {
  /** Whole seconds run times the GPU count. */
  readonly gpuSeconds: number;
  /** Integer micro-dollars, rounded half up once per attempt (crds/domain/money.ts). */
  readonly costMicroUsd: number;
}

/**
 * Usage of an attempt that held `gpuCount` GPUs from `start` to `end` at `pricePerHour` USD
 * per GPU-hour. Rounding, documented because money depends on it: the duration is rounded to
 * the nearest whole second (Kubernetes timestamps have one-second resolution; half a second
 * rounds up) and a negative duration counts as 0; the cost is computed in integers from the price
 * in micro-dollars and rounded half up to a whole micro-dollar, once per attempt (a workload's
 * cost is the exact sum of its attempts' costs, so it matches the receipts; ADR 0096).
 */
export function usageOf(start: Time, end: Time, gpuCount: number, pricePerHour: number): Usage {
  if (!Number.isInteger(gpuCount) || gpuCount < 0) {
    throw new RangeError(`gpuCount must be a non-negative integer, got ${gpuCount}`);
  }
  const ms = toMs(end, "end") - toMs(start, "start");
  const seconds = ms <= 0 ? 0 : Math.floor(ms / 1000 + 0.5);
  const gpuSeconds = seconds * gpuCount;
  return { gpuSeconds, costMicroUsd: costMicros(gpuSeconds, pricePerHour) };
}

function toMs(t: Time, what: string): number {
  const ms = typeof t === "string" ? Date.parse(t) : t.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`${what} is not a timestamp: ${String(t)}`);
  return ms;
}
