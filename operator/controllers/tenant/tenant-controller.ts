/**
 * Wiring of the Tenant controller: the informers it reads (Tenants; the tenant children by
 * the `vaultmesh.cloud/tenant` label; GPUWorkloads and Receipts for usage, drain and notices),
 * which changes enqueue which tenant, and the reconciler. A deleted or edited child enqueues
 * its tenant, so drift is corrected within one reconcile.
 */
import type { GPUWorkload, Receipt, Tenant } from "../../../crds/index.ts";
import {
  Resources,
  type Informer,
  type KubeObject,
  type ObjectCache,
} from "../../../services/kube/index.ts";
import { TENANT_LABEL } from "../../../services/tenant-stack/kube/names.ts";
import {
  DEFAULT_NETWORK_CONFIG,
  checkNetworkConfig,
} from "../../../services/tenant-stack/kube/network.ts";
import { findCondition, type Controller, type Manager } from "../../runtime/index.ts";
import { receiptIndexers } from "../../shared/workload-caches.ts";
import {
  DEFAULT_TENANT_SETTINGS,
  type TenantServices,
  type TenantSettings,
} from "./tenant-context.ts";
import { TenantApplier, TenantChildTypes } from "./tenant-kube.ts";
import { TenantReconciler, tenantOfObject } from "./tenant-reconciler.ts";
import { TenantSecrets } from "./tenant-secrets.ts";
import type { ReceiptLedger } from "./tenant-teardown.ts";

/** Dependencies of the Tenant controller. */
export interface TenantControllerDeps {
  readonly clock: { now(): Date };
  /** Postgres, Redis, Stripe and Discord adapters; each omitted one is reported Disabled. */
  readonly services?: TenantServices;
  /** Receives the TenantDeleted receipt; without it teardown records none. */
  readonly ledger?: ReceiptLedger;
  readonly settings?: Partial<TenantSettings>;
  /** Only Tenants matching this label selector (tests, shards); all when omitted. */
  readonly tenantSelector?: string | undefined;
  /** @default 4 */
  readonly workers?: number;
  readonly resyncMs?: number;
}

/** What the controller exposes besides itself (tests and benchmarks read the counters). */
export interface TenantControllerHandle {
  readonly controller: Controller<Tenant>;
  readonly applier: TenantApplier;
  readonly secrets: TenantSecrets;
  /** Reconciles every tenant now (a dependency came back: ADR 0075). */
  requeueAll(): void;
  /** Reconciles now the tenants whose `component` condition is not True (ADR 0077). */
  requeueFailing(component: string): void;
}

/** Creates the Tenant controller and registers it with `mgr`. */
export function createTenantController(
  mgr: Manager,
  deps: TenantControllerDeps,
): TenantControllerHandle {
  const settings: TenantSettings = {
    network: DEFAULT_NETWORK_CONFIG,
    ...DEFAULT_TENANT_SETTINGS,
    ...deps.settings,
  };
  checkNetworkConfig(settings.network);
  const tenants = mgr.informer<Tenant>(
    Resources.Tenant,
    deps.tenantSelector ? { labelSelector: deps.tenantSelector } : {},
  );
  const children: Record<string, Informer<KubeObject>> = {};
  for (const [kind, type] of Object.entries(TenantChildTypes)) {
    children[kind] = mgr.informer<KubeObject>(type, { labelSelector: TENANT_LABEL });
  }
  const workloads = mgr.informer<GPUWorkload>(Resources.GPUWorkload);
  const receipts = mgr.informer<Receipt>(Resources.Receipt, { indexers: receiptIndexers });
  const applier = new TenantApplier(mgr.client, children);
  const secrets = new TenantSecrets(mgr.client, children.Secret as ObjectCache<KubeObject>);
  const reconciler = new TenantReconciler({
    client: mgr.client,
    clock: deps.clock,
    tenants,
    workloads,
    receipts,
    applier,
    secrets,
    events: mgr.events,
    services: deps.services ?? {},
    settings,
    ledger: deps.ledger,
  });
  // Only tenants this controller owns: a selector-scoped instance ignores the others' children.
  const mine = (names: string[]): string[] => names.filter((n) => tenants.get(n) !== undefined);
  const controller = mgr.controller({
    name: "tenant",
    for: tenants,
    workers: deps.workers ?? 4,
    ...(deps.resyncMs !== undefined ? { resyncMs: deps.resyncMs } : {}),
    reconcile: (req) => reconciler.reconcile(req),
    watches: [
      ...Object.values(children).map((informer) => ({
        informer,
        map: (o: KubeObject) => mine(tenantOfObject(o)),
      })),
      { informer: workloads, map: (w: GPUWorkload) => mine(tenantOfObject(w)) },
      { informer: receipts, map: (r: Receipt) => mine(tenantOfObject(r)) },
    ],
  });
  return {
    controller,
    applier,
    secrets,
    requeueAll: () => {
      for (const t of tenants.list()) controller.enqueue(t.metadata.name ?? "");
    },
    requeueFailing: (component) => {
      for (const t of tenants.list()) {
        const c = findCondition(t.status?.conditions, component);
        if (c !== undefined && c.status !== "True") controller.enqueue(t.metadata.name ?? "");
      }
    },
  };
}
