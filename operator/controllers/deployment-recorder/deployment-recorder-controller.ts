/**
 * Wiring of the deployment recorder (issue 17, item 1; ADR 0144): one controller per kind
 * (Deployment, StatefulSet, DaemonSet of apps/v1) on shared informers, with the Namespace
 * informer as a secondary watch (a namespace's record-deployments label enqueues its
 * workloads) and the Receipt informer as the cache of views already created. Like every
 * controller it runs only on the leader.
 */
import type { Receipt } from "../../../crds/index.ts";
import { Resources, type KubeObject, type ResourceType } from "../../../services/kube/index.ts";
import type { Controller, Manager } from "../../runtime/index.ts";
import type { OperatorScope } from "../../shared/workload-caches.ts";
import {
  DeploymentRecorderReconciler,
  type DeploymentRecorderDeps,
  type RecordedWorkload,
} from "./deployment-recorder-reconciler.ts";
import { RECORD_DEPLOYMENTS_KEY, type RecordedKind } from "./deployment-rollout.ts";

const apps = (kind: RecordedKind, plural: string): ResourceType => ({
  group: "apps",
  version: "v1",
  kind,
  plural,
  namespaced: true,
});

/** The apps/v1 kinds the recorder watches. */
export const RECORDED_RESOURCES: Readonly<Record<RecordedKind, ResourceType>> = {
  Deployment: apps("Deployment", "deployments"),
  StatefulSet: apps("StatefulSet", "statefulsets"),
  DaemonSet: apps("DaemonSet", "daemonsets"),
};

/** Dependencies of the deployment recorder. */
export interface DeploymentRecorderControllerDeps {
  readonly ledger: DeploymentRecorderDeps["ledger"];
  readonly clock: { now(): Date };
  /** Only workloads (and their namespace) in `scope.namespace`; all when omitted. */
  readonly scope: OperatorScope;
  /** @default 2 per kind */
  readonly workers?: number;
}

/** Creates the recorder's controllers (one per kind) and registers them with `mgr`. */
export function createDeploymentRecorderControllers(
  mgr: Manager,
  deps: DeploymentRecorderControllerDeps,
): Controller<RecordedWorkload>[] {
  const only = deps.scope.namespace;
  const inNs = only ? { namespace: only } : {};
  const namespaces = mgr.informer<KubeObject>(
    Resources.Namespace,
    only ? { fieldSelector: `metadata.name=${only}` } : {},
  );
  const receipts = mgr.informer<Receipt>(Resources.Receipt, inNs);
  return (Object.keys(RECORDED_RESOURCES) as RecordedKind[]).map((kind) => {
    const type = RECORDED_RESOURCES[kind];
    const objects = mgr.informer<RecordedWorkload>(type, inNs);
    const reconciler = new DeploymentRecorderReconciler({
      kind,
      type,
      client: mgr.client,
      clock: deps.clock,
      events: mgr.events,
      ledger: deps.ledger,
      objects,
      namespaces,
      receipts,
    });
    return mgr.controller({
      name: `deployment-recorder-${kind.toLowerCase()}`,
      for: objects,
      workers: deps.workers ?? 2,
      watches: [
        {
          informer: namespaces,
          // Only a change of the label matters; it enqueues every workload of the namespace.
          when: (_t, n, old) =>
            n.metadata?.labels?.[RECORD_DEPLOYMENTS_KEY] !==
            old?.metadata?.labels?.[RECORD_DEPLOYMENTS_KEY],
          map: (n) =>
            objects
              .list(n.metadata?.name ?? "")
              .map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
        },
      ],
      reconcile: (req) => reconciler.reconcile(req),
    });
  });
}
