/**
 * Wiring of the Treaty controller: the informers it reads (shared with the GPUWorkload
 * controller), its probes and credential checks, and which changes enqueue which treaty —
 * workload and receipt changes enqueue the treaty they name, so activeJobs, usage and fill
 * rate follow the world. The reconcile itself is treaty-reconciler.ts.
 */
import type { GPUWorkload, Treaty } from "../../../crds/index.ts";
import { Resources } from "../../../services/kube/index.ts";
import type { Controller, Manager } from "../../runtime/index.ts";
import { RECEIPT_LABELS } from "../../../crds/domain/index.ts";
import { workloadCaches, type OperatorScope } from "../../shared/workload-caches.ts";
import {
  CredentialChecks,
  pingProbe,
  RttProbes,
  WORKLOADS_BY_TREATY,
  type RttProbe,
} from "./treaty-evidence.ts";
import { TreatyReconciler } from "./treaty-reconciler.ts";

export { httpProbe, pingProbe, type RttProbe } from "./treaty-evidence.ts";

/** How often external endpoints are probed (the default). */
export const DEFAULT_PROBE_INTERVAL_MS = 30_000;
/** How often a missing credentials Secret is looked up again (the default). */
export const DEFAULT_CREDENTIALS_RETRY_MS = 5_000;
/**
 * A treaty is reconciled at most once per this interval on workload, receipt and its own
 * status changes: its status (activeJobs, usage, fill rate) sums up every workload under it,
 * so under a burst it is written about once per interval instead of once per workload, while
 * a lone change is still seen at once (issue 13, ADR 0100).
 */
export const TREATY_STATUS_COALESCE_MS = 1_000;
/** Namespace of a `credentialsSecretRef` without one, outside a scoped install. */
const DEFAULT_CREDENTIALS_NAMESPACE = "vaultmesh-system";

/** Dependencies of the Treaty controller. */
export interface TreatyControllerDeps {
  readonly clock: { now(): Date };
  /** @default pingProbe */
  readonly probe?: RttProbe;
  /** How often external endpoints are probed. @default 30000 */
  readonly probeIntervalMs?: number;
  /** Treaty RTT observations (metrics). */
  readonly onRtt?: (treaty: string, ms: number) => void;
  readonly onStatus?: (treaty: string, fillRate: number | undefined) => void;
  readonly resyncMs?: number;
  readonly scope?: OperatorScope;
  /**
   * Namespace of a `credentialsSecretRef` without one; must match the provider connector's
   * (main.ts: the operator's namespace). @default the scope's namespace, else vaultmesh-system
   */
  readonly credentialsNamespace?: string;
  /** How often a missing credentials Secret is looked up again. @default 5000 */
  readonly credentialsRetryMs?: number;
}

/** Creates the Treaty controller and registers it with `mgr`. */
export function createTreatyController(
  mgr: Manager,
  deps: TreatyControllerDeps,
): Controller<Treaty> {
  const c = workloadCaches(mgr, deps.scope);
  const workloads = mgr.informer<GPUWorkload>(Resources.GPUWorkload, {
    ...(deps.scope?.namespace ? { namespace: deps.scope.namespace } : {}),
    indexers: {
      [WORKLOADS_BY_TREATY]: (w) => [...new Set((w.status?.attempts ?? []).map((a) => a.treaty))],
    },
  });
  const probeIntervalMs = deps.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  const credentialsRetryMs = deps.credentialsRetryMs ?? DEFAULT_CREDENTIALS_RETRY_MS;
  const reconciler = new TreatyReconciler({
    client: mgr.client,
    clock: deps.clock,
    events: mgr.events,
    treaties: c.treaties,
    caches: { receipts: c.receipts, workloads },
    probes: new RttProbes(deps.probe ?? pingProbe, probeIntervalMs, deps.onRtt),
    credentials: new CredentialChecks({
      client: mgr.client,
      namespace:
        deps.credentialsNamespace ?? deps.scope?.namespace ?? DEFAULT_CREDENTIALS_NAMESPACE,
      presentRecheckMs: probeIntervalMs,
      missingRetryMs: credentialsRetryMs,
    }),
    probeIntervalMs,
    credentialsRetryMs,
    onStatus: deps.onStatus,
  });
  const byName = (w: GPUWorkload): string[] => [
    ...new Set((w.status?.attempts ?? []).map((a) => a.treaty)),
  ];
  return mgr.controller({
    name: "treaty",
    for: c.treaties,
    workers: 1,
    // Its own status writes (and others' status-only changes) share the same interval.
    statusUpdateCoalesceMs: TREATY_STATUS_COALESCE_MS,
    ...(deps.resyncMs !== undefined ? { resyncMs: deps.resyncMs } : {}),
    reconcile: (req) => reconciler.reconcile(req.name),
    watches: [
      { informer: workloads, map: byName, coalesceMs: TREATY_STATUS_COALESCE_MS },
      {
        informer: c.receipts,
        coalesceMs: TREATY_STATUS_COALESCE_MS,
        map: (r) => {
          const t = r.metadata.labels?.[RECEIPT_LABELS.treaty];
          return t ? [t] : [];
        },
      },
    ],
  });
}
