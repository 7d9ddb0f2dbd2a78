/**
 * Deletion: the finalizer tears a tenant's stack down in a fixed order, one idempotent step at
 * a time, each checking the world before acting — so a teardown interrupted anywhere (operator
 * killed, a service down) resumes where it stopped:
 *
 *   1. RefuseNewWorkloads  status says suspended (Deleting): admission refuses new workloads
 *   2. DrainWorkloads      running workloads may finish until the grace period ends; then cancelled
 *   3. CancelSubscription  Stripe subscription cancelled (no proration)
 *   4. DeleteCacheUser     Redis ACL user, keys and limits deleted
 *   5. UnbindDiscord       the bot's guild commands removed
 *   6. EraseDatabase       every tenant row erased (GDPR)
 *   7. DeleteNamespace     namespace deleted, and waited for until gone
 *   8. RecordReceipt       a TenantDeleted receipt appended to the ledger (deduplicated by digest)
 *
 * and then the finalizer is removed.
 */
import { API_VERSION } from "../../../crds/constants.ts";
import type { GPUWorkload } from "../../../crds/index.ts";
import { Resources } from "../../../services/kube/index.ts";
import type { ReceiptInput } from "../../../services/ledger/receipt.ts";
import type { TenantContext } from "./tenant-context.ts";
import { workloadIsActive } from "../../../crds/domain/index.ts";

/** The ledger operation teardown needs. */
export interface ReceiptLedger {
  append(
    input: ReceiptInput,
  ): Promise<{ readonly receipt: { readonly digest: string }; readonly existing: boolean }>;
}

/** Teardown steps in order. */
export const TEARDOWN_STEPS = [
  "RefuseNewWorkloads",
  "DrainWorkloads",
  "CancelSubscription",
  "DeleteCacheUser",
  "UnbindDiscord",
  "EraseDatabase",
  "DeleteNamespace",
  "RecordReceipt",
] as const;
/** A teardown step. */
export type TeardownStep = (typeof TEARDOWN_STEPS)[number];

/** Where a teardown pass stopped. */
export interface TeardownProgress {
  /** The step in progress, or undefined when every step is done. */
  readonly step: TeardownStep | undefined;
  readonly requeueAfterMs?: number;
  /** Set when the step failed (retried with backoff). */
  readonly error?: unknown;
  /** Digest of the TenantDeleted receipt, once recorded. */
  readonly receiptDigest?: string;
}

type StepResult = { done: true; digest?: string } | { done: false; requeueAfterMs: number };

/** The TenantDeleted receipt input: deterministic, so a repeated append finds the first. */
export function tenantDeletedReceipt(
  ctx: Pick<TenantContext, "tenant" | "name" | "uid" | "namespace">,
): ReceiptInput {
  const deletion = ctx.tenant.metadata.deletionTimestamp;
  return {
    type: "TenantDeleted",
    subject: { apiVersion: API_VERSION, kind: "Tenant", name: ctx.name, uid: ctx.uid },
    payload: {
      tenant: ctx.name,
      uid: ctx.uid,
      namespace: ctx.namespace,
      plan: ctx.tenant.spec.plan,
      deletionRequestedAt:
        deletion instanceof Date ? deletion.toISOString() : String(deletion ?? ""),
      steps: [...TEARDOWN_STEPS],
    },
  };
}

async function drain(ctx: TenantContext): Promise<StepResult> {
  const active = ctx.workloads.list(ctx.namespace).filter(workloadIsActive);
  if (active.length === 0) return { done: true };
  const requested = Date.parse(String(ctx.tenant.metadata.deletionTimestamp ?? ""));
  const deadline =
    (Number.isFinite(requested) ? requested : ctx.now.getTime()) + ctx.settings.teardownGraceMs;
  const left = deadline - ctx.now.getTime();
  if (left > 0) return { done: false, requeueAfterMs: Math.min(left, 5000) };
  // Grace is over: cancel what still runs (their Jobs are owned and go with them).
  await Promise.all(
    active.map((w: GPUWorkload) =>
      ctx.client.delete(
        Resources.GPUWorkload,
        { name: w.metadata.name ?? "", namespace: ctx.namespace },
        { propagationPolicy: "Background" },
      ),
    ),
  );
  return { done: false, requeueAfterMs: 1000 };
}

async function cancelSubscription(ctx: TenantContext): Promise<StepResult> {
  const { billing, database } = ctx.services;
  if (!billing) return { done: true };
  const account = database ? await database.getBillingAccount(ctx.uid) : undefined;
  if (!account?.subscriptionId || account.subscriptionStatus === "canceled") return { done: true };
  await billing.cancel(account.subscriptionId);
  await database?.putBillingAccount(ctx.uid, { ...account, subscriptionStatus: "canceled" });
  return { done: true };
}

async function deleteNamespace(ctx: TenantContext): Promise<StepResult> {
  const live = await ctx.client.get(Resources.Namespace, ctx.namespace);
  if (!live) return { done: true };
  if (!live.metadata?.deletionTimestamp) {
    await ctx.client.delete(
      Resources.Namespace,
      { name: ctx.namespace },
      { propagationPolicy: "Background" },
    );
  }
  // The namespace informer's delete event wakes the tenant; the requeue is only a safety net.
  return { done: false, requeueAfterMs: 5000 };
}

/** What teardown remembers within a process (a restart repeats these idempotent calls once). */
export interface TeardownMemory {
  /** Tenants (uid) whose guild commands were already removed. */
  readonly unbound: Set<string>;
}

async function runStep(
  ctx: TenantContext,
  step: TeardownStep,
  ledger: ReceiptLedger | undefined,
  memory: TeardownMemory,
): Promise<StepResult> {
  const { cache, discord, database } = ctx.services;
  switch (step) {
    case "RefuseNewWorkloads": {
      // Done once status says so (the reconciler writes it before any other step runs).
      const s = ctx.tenant.status;
      return s?.suspended && s.suspendedReason === "Deleting"
        ? { done: true }
        : { done: false, requeueAfterMs: 0 };
    }
    case "DrainWorkloads":
      return await drain(ctx);
    case "CancelSubscription":
      return await cancelSubscription(ctx);
    case "DeleteCacheUser":
      if (cache) await cache.deleteTenant(ctx.name);
      return { done: true };
    case "UnbindDiscord": {
      const guild = ctx.tenant.spec.discord?.guildId;
      if (discord && guild && !memory.unbound.has(ctx.uid)) {
        await discord.unregisterCommands(guild);
        memory.unbound.add(ctx.uid);
      }
      return { done: true };
    }
    case "EraseDatabase":
      if (database) await database.eraseTenant(ctx.uid);
      return { done: true };
    case "DeleteNamespace":
      return await deleteNamespace(ctx);
    case "RecordReceipt": {
      if (!ledger) return { done: true };
      const out = await ledger.append(tenantDeletedReceipt(ctx));
      return { done: true, digest: out.receipt.digest };
    }
  }
}

/** Runs teardown steps in order until one has to wait or fails, or all are done. */
export async function teardown(
  ctx: TenantContext,
  ledger: ReceiptLedger | undefined,
  memory: TeardownMemory,
): Promise<TeardownProgress> {
  let digest: string | undefined;
  for (const step of TEARDOWN_STEPS) {
    try {
      const r = await runStep(ctx, step, ledger, memory);
      if (!r.done) return { step, requeueAfterMs: r.requeueAfterMs };
      if (r.digest) digest = r.digest;
    } catch (err) {
      return { step, error: err };
    }
  }
  return { step: undefined, ...(digest ? { receiptDigest: digest } : {}) };
}
