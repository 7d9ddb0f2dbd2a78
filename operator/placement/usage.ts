// GPU-seconds and cost of one attempt, computed from its start and end: usage is derived from
// recorded facts, never incremented, so recomputing it gives the same numbers.
import type { Time } from "./job-observer.ts";

/** Usage of one attempt. */
export interface Usage {
  /** Whole seconds run times the GPU count. */
  readonly gpuSeconds: number;
  /** USD, rounded to whole cents. */
  readonly cost: number;
}

/**
 * Usage of an attempt that held `gpuCount` GPUs from `start` to `end` at `pricePerHour` USD
 * per GPU-hour. Rounding, documented because money depends on it: the duration is rounded to
 * the nearest whole second (Kubernetes timestamps have one-second resolution; half a second
 * rounds up) and a negative duration counts as 0; the cost is computed exactly from the price
 * in micro-dollars and rounded half up to whole cents, once per attempt (a workload's cost is
 * the sum of its attempts' rounded costs, so it matches the receipts).
 */
export function usageOf(start: Time, end: Time, gpuCount: number, pricePerHour: number): Usage {
  if (!Number.isInteger(gpuCount) || gpuCount < 0) {
    throw new RangeError(`gpuCount must be a non-negative integer, got ${gpuCount}`);
  }
  if (!Number.isFinite(pricePerHour) || pricePerHour < 0) {
    throw new RangeError(`pricePerHour must be a non-negative number, got ${pricePerHour}`);
  }
  const ms = toMs(end, "end") - toMs(start, "start");
  const seconds = ms <= 0 ? 0 : Math.floor(ms / 1000 + 0.5);
  const gpuSeconds = seconds * gpuCount;
  // cents = gpuSeconds × µ$/h ÷ 3600 s/h ÷ 10⁴ µ$/¢, in integers (BigInt: the product can pass
  // 2^53 for long jobs on many GPUs), rounded half up.
  const micros = BigInt(Math.round(pricePerHour * 1e6));
  const cents = (BigInt(gpuSeconds) * micros + 18_000_000n) / 36_000_000n;
  return { gpuSeconds, cost: Number(cents) / 100 };
}

function toMs(t: Time, what: string): number {
  const ms = typeof t === "string" ? Date.parse(t) : t.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`${what} is not a timestamp: ${String(t)}`);
  return ms;
}
