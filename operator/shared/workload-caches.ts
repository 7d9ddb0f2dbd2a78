/**
 * The informers the GPUWorkload, Treaty, Receipt and Tenant controllers share (one watch and
 * one cache per kind through the Manager), their indexes, and the reads that go through those
 * indexes. Shared wiring lives here so that no controller imports another's internals
 * (docs/adr/0095-domain-package-and-reason-codes.md).
 */
import type { GPUWorkload, Receipt, Tenant, Treaty } from "../../crds/index.ts";
import {
  completionsSince,
  RECEIPT_LABELS,
  WORKLOAD_LABELS,
  workloadIsWaiting,
  type CompletionPayload,
} from "../../crds/domain/index.ts";
import {
  ownerReferencesOf,
  Resources,
  type Informer,
  type ObjectCache,
} from "../../services/kube/index.ts";
import { jobFinished } from "../placement/index.ts";
import type { Manager } from "../runtime/index.ts";
import { slimJob, slimPod, type Job, type Pod } from "./kube-types.ts";

/** Which objects an operator instance handles (tests and sharded installs narrow it). */
export interface OperatorScope {
  /** Only GPUWorkloads (and their Jobs, Pods, Receipts) in this namespace; all when omitted. */
  readonly namespace?: string | undefined;
  /** Only Treaties matching this label selector; all when omitted. */
  readonly treatySelector?: string | undefined;
}

/** Index names of the shared informers. */
export const CacheIndex = {
  /** GPUWorkloads waiting for a treaty (Routed False), under "true". */
  waitingWorkloads: "waiting",
  /** GPUWorkloads by the treaty of their last attempt, while it has not finished. */
  workloadsPendingOnTreaty: "pendingOnTreaty",
  /** GPUWorkloads by uid. */
  workloadsByUid: "byUid",
  /** Jobs by their treaty label. */
  jobsByTreaty: "byTreaty",
  /** Jobs by the uid of their controlling GPUWorkload. */
  jobsByOwner: "byOwnerUid",
  /** Pods by `<namespace>/<job name>` of their Job. */
  podsByJob: "byJob",
  /** Receipts by their treaty label. */
  receiptsByTreaty: "byTreaty",
  /** Receipts by the workload uid label. */
  receiptsByWorkload: "byWorkloadUid",
} as const;

/** Indexers installed on the Job informer. */
export const jobIndexers = {
  [CacheIndex.jobsByTreaty]: (j: Job): string[] => {
    const t = j.metadata.labels?.[WORKLOAD_LABELS.treaty];
    return t ? [t] : [];
  },
  [CacheIndex.jobsByOwner]: (j: Job): string[] =>
    ownerReferencesOf(j)
      .filter((r) => r.kind === "GPUWorkload" && r.controller)
      .map((r) => r.uid),
};

/** Indexers installed on the Receipt informer. */
export const receiptIndexers = {
  [CacheIndex.receiptsByTreaty]: (r: Receipt): string[] => {
    const t = r.metadata.labels?.[RECEIPT_LABELS.treaty];
    return t ? [t] : [];
  },
  [CacheIndex.receiptsByWorkload]: (r: Receipt): string[] => {
    const u = r.metadata.labels?.[RECEIPT_LABELS.workloadUid];
    return u ? [u] : [];
  },
};

/** The informers the controllers share. */
export interface WorkloadCaches {
  readonly workloads: Informer<GPUWorkload>;
  readonly jobs: Informer<Job>;
  readonly pods: Informer<Pod>;
  readonly receipts: Informer<Receipt>;
  readonly treaties: Informer<Treaty>;
  readonly tenants: Informer<Tenant>;
}

/** Informers of the kinds the controllers share, with their indexes (one per kind per Manager). */
export function workloadCaches(mgr: Manager, scope: OperatorScope = {}): WorkloadCaches {
  const ns = scope.namespace ? { namespace: scope.namespace } : {};
  const workloads = mgr.informer<GPUWorkload>(Resources.GPUWorkload, {
    ...ns,
    indexers: {
      [CacheIndex.waitingWorkloads]: (w) => (workloadIsWaiting(w) ? ["true"] : []),
      [CacheIndex.workloadsPendingOnTreaty]: (w) => {
        const a = w.status?.attempts?.at(-1);
        return a?.outcome === "Running" ? [a.treaty] : [];
      },
      [CacheIndex.workloadsByUid]: (w) => (w.metadata.uid ? [w.metadata.uid] : []),
    },
  });
  const jobs = mgr.informer<Job>(Resources.Job, {
    ...ns,
    labelSelector: WORKLOAD_LABELS.workloadUid,
    indexers: jobIndexers,
    transform: slimJob,
  });
  const pods = mgr.informer<Pod>(Resources.Pod, {
    ...ns,
    labelSelector: WORKLOAD_LABELS.workloadUid,
    transform: slimPod,
    indexers: {
      [CacheIndex.podsByJob]: (p) =>
        ownerReferencesOf(p)
          .filter((r) => r.kind === "Job")
          .map((r) => `${p.metadata.namespace}/${r.name}`),
    },
  });
  const receipts = mgr.informer<Receipt>(Resources.Receipt, { ...ns, indexers: receiptIndexers });
  const treaties = mgr.informer<Treaty>(
    Resources.Treaty,
    scope.treatySelector ? { labelSelector: scope.treatySelector } : {},
  );
  const tenants = mgr.informer<Tenant>(Resources.Tenant);
  return { workloads, jobs, pods, receipts, treaties, tenants };
}

/** True when the Job is live: not finished and not being deleted. */
export function jobIsLive(j: Job): boolean {
  return !j.metadata.deletionTimestamp && !jobFinished(j);
}

/** Completion payloads of a treaty's receipts finished at or after `since` (all when omitted). */
export function treatyCompletions(
  receipts: ObjectCache<Receipt>,
  treaty: string,
  since?: Date,
): CompletionPayload[] {
  return completionsSince(receipts.byIndex(CacheIndex.receiptsByTreaty, treaty), since);
}
