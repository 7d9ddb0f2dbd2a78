/**
 * Wiring of the GPUWorkload controller: the informers it reads (shared through the Manager),
 * their indexes, and which changes enqueue which workloads. A Job or Pod change enqueues its
 * workload; a finished Job and any Treaty change also enqueue the workloads waiting for a
 * treaty (capacity may have freed) and those placed but not started on that treaty (it may
 * have been suspended: failover).
 */
import type { GPUWorkload, Receipt, Tenant, Treaty } from "../../../crds/index.ts";
import {
  objectKey,
  ownerReferencesOf,
  Resources,
  type Informer,
} from "../../../services/kube/index.ts";
import { ownerKeys, type Controller, type Manager } from "../../runtime/index.ts";
import { Labels } from "./completion-receipt.ts";
import { isWaiting } from "./gpuworkload-status.ts";
import {
  GPUWorkloadReconciler,
  PODS_BY_JOB,
  type GPUWorkloadDeps,
} from "./gpuworkload-reconciler.ts";
import { slimJob, slimPod, type Job, type Pod } from "./kube-types.ts";
import { TreatyUsageTracker } from "./treaty-usage.ts";
import { jobIndexers, jobIsLive, receiptIndexers } from "./usage.ts";

const WAITING = "waiting";
const PENDING_ON_TREATY = "pendingOnTreaty";
const BY_UID = "byUid";
/** Concurrent GPUWorkload reconciles. */
const DEFAULT_WORKERS = 4;

/** What the caller provides; the caches come from the Manager. */
export type GPUWorkloadControllerDeps = Pick<
  GPUWorkloadDeps,
  "ledger" | "clock" | "unschedulableTimeoutMs" | "metrics" | "providers" | "providerPollMs"
> & { readonly workers?: number; readonly resyncMs?: number; readonly scope?: OperatorScope };

/** Which objects an operator instance handles (tests and sharded installs narrow it). */
export interface OperatorScope {
  /** Only GPUWorkloads (and their Jobs, Pods, Receipts) in this namespace; all when omitted. */
  readonly namespace?: string | undefined;
  /** Only Treaties matching this label selector; all when omitted. */
  readonly treatySelector?: string | undefined;
}

/** The informers the GPUWorkload and Treaty controllers share. */
export interface WorkloadCaches {
  readonly workloads: Informer<GPUWorkload>;
  readonly jobs: Informer<Job>;
  readonly pods: Informer<Pod>;
  readonly receipts: Informer<Receipt>;
  readonly treaties: Informer<Treaty>;
  readonly tenants: Informer<Tenant>;
}

/** Informers of the kinds the GPUWorkload and Treaty controllers share, with their indexes. */
export function workloadCaches(mgr: Manager, scope: OperatorScope = {}): WorkloadCaches {
  const ns = scope.namespace ? { namespace: scope.namespace } : {};
  const workloads = mgr.informer<GPUWorkload>(Resources.GPUWorkload, {
    ...ns,
    indexers: {
      [WAITING]: (w) => (isWaiting(w) ? ["true"] : []),
      [PENDING_ON_TREATY]: (w) => {
        const a = w.status?.attempts?.at(-1);
        return a?.outcome === "Running" ? [a.treaty] : [];
      },
      [BY_UID]: (w) => (w.metadata.uid ? [w.metadata.uid] : []),
    },
  });
  const jobs = mgr.informer<Job>(Resources.Job, {
    ...ns,
    labelSelector: Labels.workloadUid,
    indexers: jobIndexers,
    transform: slimJob,
  });
  const pods = mgr.informer<Pod>(Resources.Pod, {
    ...ns,
    labelSelector: Labels.workloadUid,
    transform: slimPod,
    indexers: {
      [PODS_BY_JOB]: (p) =>
        ownerReferencesOf(p)
          .filter((r) => r.kind === "Job")
          .map((r) => `${p.metadata.namespace}/${r.name}`),
    },
  });
  const receipts = mgr.informer<Receipt>(Resources.Receipt, {
    ...ns,
    indexers: receiptIndexers,
  });
  const treaties = mgr.informer<Treaty>(
    Resources.Treaty,
    scope.treatySelector ? { labelSelector: scope.treatySelector } : {},
  );
  const tenants = mgr.informer<Tenant>(Resources.Tenant);
  return { workloads, jobs, pods, receipts, treaties, tenants };
}

/** Creates the GPUWorkload controller and registers it with `mgr`. */
export function createGPUWorkloadController(
  mgr: Manager,
  deps: GPUWorkloadControllerDeps,
): Controller<GPUWorkload> {
  const c = workloadCaches(mgr, deps.scope);
  const keys = (ws: GPUWorkload[]): string[] => ws.map((w) => objectKey(w));
  const waiting = (): string[] => keys(c.workloads.byIndex(WAITING, "true"));
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
    reconcile: (req) => reconciler.reconcile(req),
    watches: [
      {
        informer: c.jobs,
        map: (job) => [...toJob(job), ...(jobIsLive(job) ? [] : waiting())],
      },
      {
        informer: c.pods,
        map: (pod) =>
          keys(c.workloads.byIndex(BY_UID, pod.metadata.labels?.[Labels.workloadUid] ?? "")),
      },
      {
        informer: c.treaties,
        // Routability changes (spec, conditions), not status counters the Treaty controller
        // rewrites on every workload change: those would re-queue every pending workload.
        when: (type, t, old) => type !== "update" || treatyRoutabilityChanged(t, old),
        map: (t) => [
          ...waiting(),
          ...keys(c.workloads.byIndex(PENDING_ON_TREATY, t.metadata.name ?? "")),
        ],
      },
      {
        informer: c.tenants,
        map: () => waiting(),
      },
      {
        informer: c.receipts,
        map: (r) => {
          const uid = r.metadata.labels?.[Labels.receiptFor];
          return uid ? keys(c.workloads.byIndex(BY_UID, uid)) : [];
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
