/**
 * Usage is derived, never incremented (DESIGN §8): a treaty's active jobs are the live Jobs
 * labelled with it (plus placements this process made that the cache has not shown yet), and
 * GPU-hours are the sum over completion receipts in the period. A crash between two writes
 * therefore cannot double-charge: there is no counter to bump twice.
 */
import type { Receipt } from "../../../crds/index.ts";
import { ownerReferencesOf, type ObjectCache } from "../../../services/kube/index.ts";
import { completionPayloadOf, Labels, type CompletionPayload } from "./completion-receipt.ts";
import { observeJob } from "../../placement/index.ts";
import type { Job } from "./kube-types.ts";

/** Index names the usage functions read. */
export const UsageIndex = {
  /** Jobs by their treaty label. */
  jobsByTreaty: "byTreaty",
  /** Receipts by their treaty label. */
  receiptsByTreaty: "byTreaty",
  /** Receipts by the workload uid label. */
  receiptsByWorkload: "byWorkloadUid",
  /** Jobs by the uid of their controlling GPUWorkload. */
  jobsByOwner: "byOwnerUid",
} as const;

/** Indexers to install on the Job informer. */
export const jobIndexers = {
  [UsageIndex.jobsByTreaty]: (j: Job): string[] => {
    const t = j.metadata.labels?.[Labels.treaty];
    return t ? [t] : [];
  },
  [UsageIndex.jobsByOwner]: (j: Job): string[] =>
    ownerReferencesOf(j)
      .filter((r) => r.kind === "GPUWorkload" && r.controller)
      .map((r) => r.uid),
};

/** Indexers to install on the Receipt informer. */
export const receiptIndexers = {
  [UsageIndex.receiptsByTreaty]: (r: Receipt): string[] => {
    const t = r.metadata.labels?.[Labels.receiptTreaty];
    return t ? [t] : [];
  },
  [UsageIndex.receiptsByWorkload]: (r: Receipt): string[] => {
    const u = r.metadata.labels?.[Labels.receiptFor];
    return u ? [u] : [];
  },
};

/** Start of the calendar month (UTC) containing `now`: the quota period. */
export function periodStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

const LIVE_EPOCH = new Date(0);

/** True when the Job is live: not finished and not being deleted. */
export function jobIsLive(j: Job): boolean {
  if (j.metadata.deletionTimestamp) return false;
  const state = observeJob(j, [], LIVE_EPOCH).state;
  return state !== "Succeeded" && state !== "Failed";
}

/** Completion payloads of a treaty's receipts finished at or after `since`. */
export function treatyCompletions(
  receipts: ObjectCache<Receipt>,
  treaty: string,
  since?: Date,
): CompletionPayload[] {
  const out: CompletionPayload[] = [];
  const from = since?.getTime() ?? -Infinity;
  for (const r of receipts.byIndex(UsageIndex.receiptsByTreaty, treaty)) {
    const p = completionPayloadOf(r);
    if (p && Date.parse(p.completionTime) >= from) out.push(p);
  }
  return out;
}

/** Sums of recorded facts: GPU-seconds and cost. */
export interface UsageTotals {
  readonly gpuSeconds: number;
  readonly cost: number;
  readonly completed: number;
}

/** Sums GPU-seconds and cost over completion payloads. */
export function sumUsage(payloads: readonly CompletionPayload[]): UsageTotals {
  let gpuSeconds = 0;
  let cost = 0;
  for (const p of payloads) {
    gpuSeconds += p.gpuSeconds;
    cost += p.cost;
  }
  return { gpuSeconds, cost: Math.round(cost * 1e6) / 1e6, completed: payloads.length };
}

/** A tenant namespace's usage over its completion receipts since `since` (for the Tenant controller). */
export function namespaceUsage(
  receipts: ObjectCache<Receipt>,
  namespace: string,
  since?: Date,
): UsageTotals {
  const from = since?.getTime() ?? -Infinity;
  const ps = receipts
    .list(namespace)
    .map(completionPayloadOf)
    .filter((p): p is CompletionPayload => !!p && Date.parse(p.completionTime) >= from);
  return sumUsage(ps);
}
