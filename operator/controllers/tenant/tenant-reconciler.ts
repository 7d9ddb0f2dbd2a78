/**
 * The Tenant reconcile, in the runtime's fixed order: get (gone → done) → finalizer →
 * context → deleting ? teardown : components → status (written once, only when it changed)
 * and Events for transitions. Components reconcile independently: Namespace first (the others
 * live in it), then Quota, Network, Database → Billing, Cache and Discord concurrently; one
 * failing sets its own condition False and the reconcile is retried with backoff, while the
 * others still converge.
 */
import { TenantComponentReason } from "../../../crds/constants.ts";
import type { GPUWorkload, Receipt, Tenant } from "../../../crds/index.ts";
import {
  completionsSince,
  microsToUsd,
  periodStart,
  sumUsage,
  TENANT_LABEL,
  tenantGpuUsage,
  tenantOfNamespace,
} from "../../../crds/domain/index.ts";
import {
  Resources,
  type KubeClient,
  type KubeObject,
  type ObjectCache,
} from "../../../services/kube/index.ts";
import { TENANT_FINALIZER, tenantNamespace } from "../../../services/tenant-stack/kube/names.ts";
import {
  ensureFinalizer,
  hasFinalizer,
  removeFinalizer,
  transitions,
  writeStatus,
  type EventRecorder,
  type Result,
} from "../../runtime/index.ts";
import {
  billingStateOf,
  paymentSuspends,
  reconcileBilling,
  ReportedUsage,
} from "./tenant-billing-component.ts";
import {
  redact,
  type ComponentResult,
  type TenantContext,
  type TenantServices,
  type TenantSettings,
} from "./tenant-context.ts";
import { reconcileCache, reconcileDatabase } from "./tenant-data-components.ts";
import { GuildMemory, reconcileDiscord } from "./tenant-discord-component.ts";
import {
  reconcileNamespace,
  reconcileNetwork,
  reconcileQuota,
  waitingForNamespace,
} from "./tenant-kube-components.ts";
import type { TenantApplier } from "./tenant-kube.ts";
import type { TenantSecrets } from "./tenant-secrets.ts";
import {
  computeTenantStatus,
  type ComponentName,
  type Suspension,
  type TenantObservation,
} from "./tenant-status.ts";
import { teardown, type ReceiptLedger, type TeardownMemory } from "./tenant-teardown.ts";

/** Everything the reconciler reads and writes through. */
export interface TenantReconcilerDeps {
  readonly client: KubeClient;
  readonly clock: { now(): Date };
  readonly tenants: ObjectCache<Tenant>;
  readonly workloads: ObjectCache<GPUWorkload>;
  readonly receipts: ObjectCache<Receipt>;
  readonly applier: TenantApplier;
  readonly secrets: TenantSecrets;
  readonly events: EventRecorder;
  readonly services: TenantServices;
  readonly settings: TenantSettings;
  readonly ledger?: ReceiptLedger | undefined;
}

/** Thrown after status is written when a component failed, so the key is retried with backoff. */
export class ComponentsFailedError extends Error {
  override readonly name = "ComponentsFailedError";
}

/** Reconciles Tenants. */
export class TenantReconciler {
  readonly #d: TenantReconcilerDeps;
  readonly #usage = new ReportedUsage();
  readonly #guilds = new GuildMemory();
  readonly #teardown: TeardownMemory = { unbound: new Set() };

  constructor(deps: TenantReconcilerDeps) {
    this.#d = deps;
  }

  #context(t: Tenant): TenantContext {
    const name = t.metadata.name ?? "";
    return {
      tenant: t,
      name,
      uid: t.metadata.uid ?? "",
      namespace: tenantNamespace(name),
      now: this.#d.clock.now(),
      client: this.#d.client,
      applier: this.#d.applier,
      secrets: this.#d.secrets,
      services: this.#d.services,
      settings: this.#d.settings,
      workloads: this.#d.workloads,
      receipts: this.#d.receipts,
      events: this.#d.events,
      sensitive: new Set(),
    };
  }

  /** Reconciles the Tenant `name`. */
  async reconcile(req: { name: string }): Promise<Result | void> {
    const cached = this.#d.tenants.get(req.name);
    if (!cached) return;
    if (cached.metadata.deletionTimestamp) return await this.#reconcileDelete(cached);
    const t = await ensureFinalizer(this.#d.client, Resources.Tenant, cached, TENANT_FINALIZER);
    return await this.#reconcileNormal(this.#context(t));
  }

  #suspension(ctx: TenantContext, subscription: string | undefined): Suspension | undefined {
    if (ctx.tenant.spec.suspended) {
      return { reason: "Spec", message: "spec.suspended is true: new workloads are refused" };
    }
    const state = billingStateOf(ctx);
    if (paymentSuspends(state, subscription)) {
      return {
        reason: "PaymentFailed",
        message:
          state?.state === "PaymentFailed"
            ? `payment of invoice ${state.invoiceId} failed: new workloads are refused until it is paid`
            : `subscription is ${subscription ?? "inactive"}: new workloads are refused`,
      };
    }
    return undefined;
  }

  async #components(
    ctx: TenantContext,
    suspended: boolean,
  ): Promise<Partial<Record<ComponentName, ComponentResult>>> {
    const ns = await reconcileNamespace(ctx);
    const ready = ns.outcome.status === "True";
    const [quota, network, data, cache, discord] = await Promise.all([
      ready ? reconcileQuota(ctx) : waitingForNamespace(),
      ready ? reconcileNetwork(ctx) : waitingForNamespace(),
      (async () => {
        const db = await reconcileDatabase(ctx, suspended, ready);
        const rowWritten = !(
          db.failed &&
          (db.outcome.reason === TenantComponentReason.DatabaseUnavailable ||
            db.outcome.reason === TenantComponentReason.NameConflict)
        );
        return { db, billing: await reconcileBilling(ctx, rowWritten, this.#usage) };
      })(),
      reconcileCache(ctx, suspended, ready),
      reconcileDiscord(ctx, this.#guilds),
    ]);
    return {
      Namespace: ns,
      Quota: quota,
      Network: network,
      Database: data.db,
      Billing: data.billing,
      Cache: cache,
      Discord: discord,
    };
  }

  #usageOf(ctx: TenantContext): TenantObservation["usage"] {
    const totals = sumUsage(
      completionsSince(this.#d.receipts.list(ctx.namespace), periodStart(ctx.now)),
    );
    return {
      gpusInUse: tenantGpuUsage(this.#d.workloads.list(ctx.namespace)).gpusInUse,
      gpuHoursThisPeriod: Math.round((totals.gpuSeconds / 3600) * 1e6) / 1e6,
      costMicroUsd: totals.costMicroUsd,
      cost: microsToUsd(totals.costMicroUsd),
    };
  }

  async #reconcileNormal(ctx: TenantContext): Promise<Result | void> {
    const t = ctx.tenant;
    const before = this.#suspension(ctx, t.status?.subscriptionStatus);
    const results = await this.#components(ctx, before !== undefined);
    const observed: Partial<TenantObservation> = {};
    for (const r of Object.values(results)) Object.assign(observed, r.observed ?? {});
    const suspension = this.#suspension(
      ctx,
      observed.subscriptionStatus ?? t.status?.subscriptionStatus,
    );
    const status = computeTenantStatus(
      t,
      {
        ...observed,
        outcomes: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.outcome])),
        suspension,
        usage: this.#usageOf(ctx),
      },
      ctx.now,
    );
    await writeStatus(this.#d.client, Resources.Tenant, t, status);
    for (const c of transitions(t.status?.conditions, status.conditions)) {
      this.#d.events.event(
        Resources.Tenant,
        t,
        c.status === "True" ? "Normal" : "Warning",
        c.reason,
        `${c.type}: ${c.message}`,
      );
    }
    const failed = Object.entries(results).filter(([, r]) => r.failed);
    if (failed.length > 0) {
      throw new ComponentsFailedError(
        redact(
          failed.map(([k, r]) => `${k}: ${r.outcome.reason}: ${r.outcome.message}`).join("; "),
          ctx.sensitive,
        ),
      );
    }
    const waits = Object.values(results)
      .map((r) => r.requeueAfterMs)
      .filter((x): x is number => x !== undefined);
    return waits.length > 0 ? { requeueAfterMs: Math.min(...waits) } : {};
  }

  async #reconcileDelete(cached: Tenant): Promise<Result | void> {
    if (!hasFinalizer(cached, TENANT_FINALIZER)) return;
    // Teardown acts on the world; confirm against the API server that the finalizer is still
    // ours to remove (the cache may still show a tenant whose teardown just finished).
    const fresh = await this.#d.client.get<Tenant>(Resources.Tenant, cached.metadata.name ?? "");
    if (!fresh || !hasFinalizer(fresh, TENANT_FINALIZER)) return;
    let t = fresh;
    const deleting: Suspension = { reason: "Deleting", message: "the tenant is being deleted" };
    const statusAt = (step: string): ReturnType<typeof computeTenantStatus> =>
      computeTenantStatus(
        t,
        { outcomes: {}, suspension: deleting, teardownStep: step },
        this.#d.clock.now(),
      );
    // Step 1 (RefuseNewWorkloads) is this write: admission reads status.suspended.
    if (!(t.status?.suspended && t.status.suspendedReason === "Deleting")) {
      t = await writeStatus(this.#d.client, Resources.Tenant, t, statusAt("RefuseNewWorkloads"));
      this.#d.events.event(
        Resources.Tenant,
        t,
        "Normal",
        "Deleting",
        "new workloads are refused; tearing down",
      );
    }
    const ctx = this.#context(t);
    const progress = await teardown(ctx, this.#d.ledger, this.#teardown);
    if (progress.step === undefined) {
      this.#d.events.event(
        Resources.Tenant,
        t,
        "Normal",
        "TenantDeleted",
        `stack torn down${progress.receiptDigest ? `; receipt ${progress.receiptDigest}` : ""}`,
      );
      await removeFinalizer(this.#d.client, Resources.Tenant, t, TENANT_FINALIZER);
      this.#usage.forget(ctx.uid);
      this.#guilds.forget(ctx.uid);
      this.#teardown.unbound.delete(ctx.uid);
      return;
    }
    // One Event per step: when the status (which names the step) changed, not by reading text.
    const written = await writeStatus(this.#d.client, Resources.Tenant, t, statusAt(progress.step));
    if (written !== t) {
      this.#d.events.event(
        Resources.Tenant,
        t,
        "Normal",
        "TeardownStep",
        `teardown: ${progress.step}`,
      );
    }
    if (progress.error !== undefined) {
      const msg =
        progress.error instanceof Error ? progress.error.message : JSON.stringify(progress.error);
      this.#d.events.event(
        Resources.Tenant,
        t,
        "Warning",
        "TeardownStepFailed",
        redact(`${progress.step}: ${msg}`, ctx.sensitive),
      );
      throw new ComponentsFailedError(redact(`teardown ${progress.step}: ${msg}`, ctx.sensitive));
    }
    return { requeueAfterMs: progress.requeueAfterMs ?? 1000 };
  }
}

/** The objects whose changes concern a tenant, mapped to its name (for watches). */
export function tenantOfObject(obj: KubeObject): string[] {
  const label = obj.metadata?.labels?.[TENANT_LABEL];
  if (label) return [label];
  const tenant = tenantOfNamespace(obj.metadata?.namespace);
  return tenant === undefined ? [] : [tenant];
}
