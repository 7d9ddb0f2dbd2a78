/**
 * A tenant's usage this billing period (the calendar month, UTC), derived from its completion
 * receipts with the same domain rules the operator uses for Tenant status (crds/domain,
 * ADR 0022): a sum over signed facts, never a counter. Pure.
 */
import { completionPayloadOf, periodStart, sumUsage } from "../../crds/domain/index.ts";
import type { Receipt } from "../../crds/index.ts";

/** One completion receipt as the usage lists it. */
export interface UsageReceipt {
  readonly digest: string;
  readonly workload: string;
  readonly outcome: string;
  readonly gpuSeconds: number;
  readonly costMicroUsd: number;
  readonly completionTime: string;
}

/** The usage of one period. */
export interface Usage {
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly gpuSeconds: number;
  /** Exact, in integer micro-dollars. */
  readonly costMicroUsd: number;
  /** USD, for display. */
  readonly cost: number;
  readonly completed: number;
  readonly receipts: readonly UsageReceipt[];
}

/** Sums the completion receipts whose completion time falls in the period containing `now`. */
export function usageOf(receipts: readonly Receipt[], now: Date): Usage {
  const start = periodStart(now);
  const end = periodStart(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)));
  const rows = receipts
    .map((r) => ({ r, p: completionPayloadOf(r) }))
    .filter(({ p }) => {
      const t = p ? Date.parse(p.completionTime) : NaN;
      return t >= start.getTime() && t < end.getTime();
    })
    .sort((x, y) => (x.p?.completionTime ?? "").localeCompare(y.p?.completionTime ?? ""));
  const payloads = rows.flatMap(({ p }) => (p ? [p] : []));
  const totals = sumUsage(payloads);
  return {
    periodStart: start.toISOString(),
    periodEnd: end.toISOString(),
    gpuSeconds: totals.gpuSeconds,
    costMicroUsd: totals.costMicroUsd,
    cost: totals.costMicroUsd / 1e6,
    completed: totals.completed,
    receipts: rows.flatMap(({ r, p }) =>
      p
        ? [
            {
              digest: r.spec.digest,
              workload: p.name,
              outcome: p.outcome,
              gpuSeconds: p.gpuSeconds,
              costMicroUsd: p.costMicroUsd,
              completionTime: p.completionTime,
            },
          ]
        : [],
    ),
  };
}
