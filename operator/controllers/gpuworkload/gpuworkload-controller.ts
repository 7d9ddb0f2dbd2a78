/**
 * Wiring of the GPUWorkload controller: the informers it reads (shared through the Manager),
 * their indexes, and which changes enqueue which workloads. A Job or Pod change enqueues its
 * workload; a finished Job and any Treaty change also enqueue the workloads waiting for a
 * treaty (capacity may have freed) and those placed but not started on that treaty (it may
 * have been suspended: failover).
 */
import type { GPUWorkload, Treaty } from "../../../crds/index.ts";
import { RECEIPT_LABELS, WORKLOAD_LABELS } from "../../../crds/domain/index.ts";
import { objectKey, Resources } from "../../../services/kube/index.ts";
import {
  poolNodeChanged,
  poolNodeOf,
  RouterMemo,
  type SlimNode,
} from "../../../services/routing/index.ts";
import { ownerKeys, type Controller, type Manager } from "../../runtime/index.ts";
import {
  CacheIndex,
  jobIsLive,
  workloadCaches,
  type OperatorScope,
} from "../../shared/workload-caches.ts";
import { GPUWorkloadReconciler, type GPUWorkloadDeps } from "./gpuworkload-reconciler.ts";
import { TreatyUsageTracker } from "./treaty-usage.ts";

/** Concurrent GPUWorkload reconciles. */
const DEFAULT_WORKERS = 4;

/** What the caller provides; the caches come from the Manager. */
export type GPUWorkloadControllerDeps = Pick<
  GPUWorkloadDeps,
  | "ledger"
  | "clock"
  | "unschedulableTimeoutMs"
  | "metrics"
  | "providers"
  | "providerPollMs"
  | "retryBackoff"
> & {
  readonly workers?: number;
  readonly resyncMs?: number;
  readonly scope?: OperatorScope;
  /** Back-off of a failing workload's retries (war-game live mode compresses it, ADR 0133). */
  readonly queueBackoff?: { readonly baseDelayMs: number; readonly maxDelayMs: number };
};

/** Creates the GPUWorkload controller and registers it with `mgr`. */
export function createGPUWorkloadController(
  mgr: Manager,
  deps: GPUWorkloadControllerDeps,
): Controller<GPUWorkload> {
  const c = workloadCaches(mgr, deps.scope);
  // Every Node, cut to name, labels and allocatable: the in-cluster pool's node sizes.
  const nodes = mgr.informer<SlimNode>(Resources.Node, { transform: poolNodeOf });
  const keys = (ws: GPUWorkload[]): string[] => ws.map((w) => objectKey(w));
  const waiting = (): string[] => keys(c.workloads.byIndex(CacheIndex.waitingWorkloads, "true"));
  const reconciler = new GPUWorkloadReconciler({
    ...deps,
    client: mgr.client,
    workloads: c.workloads,
    treaties: c.treaties,
    tenants: c.tenants,
    jobs: c.jobs,
    pods: c.pods,
    receipts: c.receipts,
    events: mgr.events,
    live: new TreatyUsageTracker(c),
    routerMemo: new RouterMemo(),
    nodes,
    logger: mgr.log,
  });
  c.workloads.on((type, w) =>
    reconciler.observed(objectKey(w), w.metadata.resourceVersion, type === "delete"),
  );
  const toJob = ownerKeys("GPUWorkload");
  return mgr.controller({
    name: "gpuworkload",
    for: c.workloads,
    workers: deps.workers ?? DEFAULT_WORKERS,
    ...(deps.resyncMs !== undefined ? { resyncMs: deps.resyncMs } : {}),
    ...deps.queueBackoff,
    reconcile: (req) => reconciler.reconcile(req),
    watches: [
      {
        informer: c.jobs,
        map: (job) => [...toJob(job), ...(jobIsLive(job) ? [] : waiting())],
      },
      {
        informer: c.pods,
        map: (pod) =>
          keys(
            c.workloads.byIndex(
              CacheIndex.workloadsByUid,
              pod.metadata.labels?.[WORKLOAD_LABELS.workloadUid] ?? "",
            ),
          ),
      },
      {
        informer: c.treaties,
        // Routability changes (spec, conditions), not status counters the Treaty controller
        // rewrites on every workload change: those would re-queue every pending workload.
        when: (type, t, old) => type !== "update" || treatyRoutabilityChanged(t, old),
        map: (t) => [
          ...waiting(),
          ...keys(c.workloads.byIndex(CacheIndex.workloadsPendingOnTreaty, t.metadata.name ?? "")),
        ],
      },
      {
        informer: c.tenants,
        map: () => waiting(),
      },
      {
        // A node joining, leaving or resized may let a waiting workload fit the pool.
        informer: nodes,
        when: (type, n, old) => type !== "update" || poolNodeChanged(n, old),
        map: () => waiting(),
      },
      {
        informer: c.receipts,
        map: (r) => {
          const uid = r.metadata.labels?.[RECEIPT_LABELS.workloadUid];
          return uid ? keys(c.workloads.byIndex(CacheIndex.workloadsByUid, uid)) : [];
        },
      },
    ],
  });
}

/** True when a Treaty change can change routing or failover: its spec or its conditions. */
export function treatyRoutabilityChanged(obj: Treaty, old?: Treaty): boolean {
  if (!old) return true;
  if (obj.metadata.generation !== old.metadata.generation) return true;
  const conds = (o: Treaty): string =>
    JSON.stringify((o.status?.conditions ?? []).map((c) => [c.type, c.status, c.reason]));
  return conds(obj) !== conds(old);
}
