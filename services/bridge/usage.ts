/**
 * A tenant's usage this billing period (the calendar month, UTC), derived from its completion
 * receipts exactly as the operator derives Tenant status usage (ADR 0022): a sum over signed
 * facts, never a counter. Pure.
 */
import type { Receipt } from "../../crds/index.ts";

/** One completion receipt as the usage lists it. */
export interface UsageReceipt {
  readonly digest: string;
  readonly workload: string;
  readonly outcome: string;
  readonly gpuSeconds: number;
  readonly cost: number;
  readonly completionTime: string;
}

/** The usage of one period. */
export interface Usage {
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly gpuSeconds: number;
  readonly cost: number;
  readonly completed: number;
  readonly receipts: readonly UsageReceipt[];
}

/** The billing period (calendar month, UTC) containing `now`: [start, end). */
export function billingPeriod(now: Date): { readonly start: Date; readonly end: Date } {
  return {
    start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
    end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
  };
}

const COMPLETION_TYPES: ReadonlySet<string> = new Set(["WorkloadCompleted", "WorkloadFailed"]);

/** The completion facts of a receipt, when it is a completion receipt. */
function completionOf(r: Receipt): UsageReceipt | undefined {
  if (!COMPLETION_TYPES.has(r.spec.type)) return undefined;
  const p = r.spec.payload;
  const { gpuSeconds, cost, completionTime, name, outcome } = p;
  if (typeof gpuSeconds !== "number" || typeof completionTime !== "string") return undefined;
  return {
    digest: r.spec.digest,
    workload: typeof name === "string" ? name : "",
    outcome: typeof outcome === "string" ? outcome : r.spec.type,
    gpuSeconds,
    cost: typeof cost === "number" ? cost : 0,
    completionTime,
  };
}

/** Sums the completion receipts whose completion time falls in the period containing `now`. */
export function usageOf(receipts: readonly Receipt[], now: Date): Usage {
  const { start, end } = billingPeriod(now);
  const inPeriod = receipts
    .map(completionOf)
    .filter((u): u is UsageReceipt => {
      const t = u ? Date.parse(u.completionTime) : NaN;
      return t >= start.getTime() && t < end.getTime();
    })
    .sort((a, b) => a.completionTime.localeCompare(b.completionTime));
  let gpuSeconds = 0;
  let cost = 0;
  for (const u of inPeriod) {
    gpuSeconds += u.gpuSeconds;
    cost += u.cost;
  }
  return {
    periodStart: start.toISOString(),
    periodEnd: end.toISOString(),
    gpuSeconds,
    cost: Math.round(cost * 1e6) / 1e6,
    completed: inPeriod.length,
    receipts: inPeriod,
  };
}
