/**
 * Billing: the tenant's Stripe customer and subscription, metered GPU usage from completion
 * receipts, and the payment state that suspends or resumes the tenant. Stripe is called only
 * when the inputs changed (plan, e-mail, prices, a new webhook event) or the resync interval
 * passed; what was synced is remembered in the tenant's billing account row.
 */
import { SUBSCRIPTION_STATUSES, TenantComponentReason } from "../../../crds/constants.ts";
import { createHash } from "node:crypto";
import type { Receipt, TenantStatus } from "../../../crds/index.ts";
import type { BillingAccount } from "../../../services/tenant-stack/postgres/tenant-database.ts";
import {
  BILLING_STATE_ANNOTATION,
  parseBillingState,
  type BillingState,
} from "../../../services/tenant-stack/stripe/billing-state.ts";
import {
  BillingConfigError,
  type BillingInput,
  type BillingResult,
  type TenantBilling,
} from "../../../services/tenant-stack/stripe/billing.ts";
import { completionPayloadOf } from "../../../crds/domain/index.ts";
import { disabled, failure, type ComponentResult, type TenantContext } from "./tenant-context.ts";
import { reportSaasFailure } from "./tenant-saas-health.ts";
import type { ComponentOutcome } from "./tenant-status.ts";

/** Subscription states that suspend the tenant (Stripe gave up collecting, or it was ended). */
const INACTIVE: ReadonlySet<string> = new Set(["unpaid", "canceled", "incomplete_expired"]);
// Stripe accepts meter events at most 35 days old; older usage is reported as of now.
const METER_WINDOW_MS = 34 * 24 * 3600 * 1000;

/** The tenant's payment state from the billing-state annotation. */
export function billingStateOf(ctx: Pick<TenantContext, "tenant">): BillingState | undefined {
  return parseBillingState(ctx.tenant.metadata.annotations?.[BILLING_STATE_ANNOTATION]);
}

/** True when the tenant's payments put it in suspension. */
export function paymentSuspends(
  state: BillingState | undefined,
  subscription: string | undefined,
): boolean {
  return (
    state?.state === "PaymentFailed" || (subscription !== undefined && INACTIVE.has(subscription))
  );
}

function inputsHash(ctx: TenantContext, state: BillingState | undefined): string {
  const spec = ctx.tenant.spec;
  return createHash("sha256")
    .update(
      JSON.stringify([
        spec.plan,
        spec.billing?.email ?? null,
        spec.billing?.stripeCustomerId ?? null,
        ctx.services.billingConfigId ?? null,
        state?.eventId ?? null,
      ]),
    )
    .digest("hex");
}

function outcomeOf(r: BillingResult, state: BillingState | undefined): ComponentOutcome {
  if (state?.state === "PaymentFailed") {
    return {
      status: "False",
      reason: TenantComponentReason.PaymentFailed,
      message: `payment of invoice ${state.invoiceId} failed (Stripe event ${state.eventId}); new workloads are refused until it is paid`,
    };
  }
  const s = r.subscriptionStatus;
  if (s === undefined) {
    return {
      status: "True",
      reason: TenantComponentReason.CustomerOnly,
      message: `Stripe customer ${r.customerId ?? ""}`,
    };
  }
  if (s === "active" || s === "trialing") {
    return {
      status: "True",
      reason: TenantComponentReason.Active,
      message: `subscription ${r.subscriptionId ?? ""} is ${s}`,
    };
  }
  return {
    status: "False",
    reason:
      s === "past_due" ? TenantComponentReason.PastDue : TenantComponentReason.SubscriptionInactive,
    message: `subscription ${r.subscriptionId ?? ""} is ${s}`,
  };
}

/** The subscription status as the Tenant API spells it; undefined for a value it does not know. */
function knownStatus(s: string | undefined): TenantStatus["subscriptionStatus"] {
  return SUBSCRIPTION_STATUSES.find((v) => v === s);
}

function errorReason(err: unknown): string {
  if (err instanceof BillingConfigError) return TenantComponentReason.BillingMisconfigured;
  const e = err as { type?: string; code?: string };
  if (typeof e.type === "string" && e.type.startsWith("Stripe")) {
    return e.type === "StripeConnectionError" || e.type === "StripeAPIError"
      ? TenantComponentReason.StripeUnavailable
      : TenantComponentReason.StripeRequestRefused;
  }
  return typeof e.code === "string" && /^[0-9A-Z]{5}$|^ECONN/.test(e.code)
    ? TenantComponentReason.DatabaseUnavailable
    : TenantComponentReason.BillingFailed;
}

/** Completion receipts of the namespace with GPU usage, not yet reported. */
function unreported(receipts: readonly Receipt[], reported: ReadonlySet<string>): Receipt[] {
  return receipts.filter((r) => {
    const p = completionPayloadOf(r);
    return p !== undefined && p.gpuSeconds > 0 && !reported.has(r.spec.digest);
  });
}

/** Per-process memory of usage already reported, so steady state costs no database read. */
export class ReportedUsage {
  readonly #byTenant = new Map<string, Set<string>>();
  get(uid: string): Set<string> | undefined {
    return this.#byTenant.get(uid);
  }
  set(uid: string, digests: Set<string>): void {
    this.#byTenant.set(uid, digests);
  }
  forget(uid: string): void {
    this.#byTenant.delete(uid);
  }
}

async function reportUsage(
  ctx: TenantContext,
  customerId: string,
  memory: ReportedUsage,
): Promise<number> {
  const db = ctx.services.database;
  const billing = ctx.services.billing;
  if (!db || !billing) return 0;
  const receipts = ctx.receipts.list(ctx.namespace);
  let known = memory.get(ctx.uid) ?? new Set<string>();
  if (unreported(receipts, known).length === 0) return 0;
  known = await db.reportedUsage(ctx.uid);
  memory.set(ctx.uid, known);
  let n = 0;
  for (const r of unreported(receipts, known)) {
    const p = completionPayloadOf(r);
    if (!p) continue;
    const at = new Date(p.completionTime);
    const recent = ctx.now.getTime() - at.getTime() < METER_WINDOW_MS;
    await billing.reportUsage(customerId, r.spec.digest, p.gpuSeconds, recent ? at : undefined);
    await db.recordUsageReport(ctx.uid, r.spec.digest, p.gpuSeconds / 3600);
    known.add(r.spec.digest);
    n++;
  }
  return n;
}

function fromAccount(account: BillingAccount | undefined): BillingResult {
  const status = knownStatus(account?.subscriptionStatus ?? undefined);
  return {
    ...(account?.customerId ? { customerId: account.customerId } : {}),
    ...(account?.subscriptionId ? { subscriptionId: account.subscriptionId } : {}),
    ...(status ? { subscriptionStatus: status } : {}),
  };
}

function syncInput(ctx: TenantContext, account: BillingAccount | undefined): BillingInput {
  const spec = ctx.tenant.spec;
  const knownCustomer = account?.customerId ?? ctx.tenant.status?.stripeCustomerId;
  const knownSub = account?.subscriptionId;
  return {
    tenantName: ctx.name,
    tenantUid: ctx.uid,
    plan: spec.plan,
    ...(spec.billing?.email ? { email: spec.billing.email } : {}),
    ...(spec.billing?.stripeCustomerId ? { customerId: spec.billing.stripeCustomerId } : {}),
    known: {
      ...(knownCustomer ? { customerId: knownCustomer } : {}),
      ...(knownSub ? { subscriptionId: knownSub } : {}),
    },
  };
}

async function syncIfDue(
  ctx: TenantContext,
  billing: TenantBilling,
  state: BillingState | undefined,
): Promise<BillingResult> {
  const db = ctx.services.database;
  const hash = inputsHash(ctx, state);
  const account = db ? await db.getBillingAccount(ctx.uid) : undefined;
  const fresh =
    account !== undefined &&
    account.syncedHash === hash &&
    ctx.now.getTime() - account.syncedAt.getTime() < ctx.settings.billingResyncMs;
  if (fresh) return fromAccount(account);
  const result = await billing.sync(syncInput(ctx, account));
  await db?.putBillingAccount(ctx.uid, {
    customerId: result.customerId ?? null,
    subscriptionId: result.subscriptionId ?? null,
    subscriptionStatus: result.subscriptionStatus ?? null,
    syncedHash: hash,
    syncedAt: ctx.now,
  });
  return result;
}

/** Billing: sync with Stripe when due, meter usage, report the payment state. */
export async function reconcileBilling(
  ctx: TenantContext,
  databaseReady: boolean,
  memory: ReportedUsage,
): Promise<ComponentResult> {
  const billing = ctx.services.billing;
  const spec = ctx.tenant.spec;
  const state = billingStateOf(ctx);
  if (!billing) return disabled("Stripe");
  if (!billing.isBilled(spec.plan) && spec.billing === undefined) {
    return {
      outcome: {
        status: "True",
        reason: TenantComponentReason.NotRequired,
        message: "free plan without billing",
      },
    };
  }
  if (ctx.services.database && !databaseReady) {
    // The billing account row references the tenant row; wait for it.
    return {
      outcome: {
        status: "Unknown",
        reason: TenantComponentReason.WaitingForDatabase,
        message: "waiting for the tenant's database row",
      },
    };
  }
  try {
    const result = await syncIfDue(ctx, billing, state);
    if (result.customerId && billing.isBilled(spec.plan)) {
      await reportUsage(ctx, result.customerId, memory);
    }
    ctx.services.stripeHealth?.up();
    return {
      outcome: outcomeOf(result, state),
      observed: {
        ...(result.customerId ? { stripeCustomerId: result.customerId } : {}),
        ...(knownStatus(result.subscriptionStatus)
          ? { subscriptionStatus: knownStatus(result.subscriptionStatus) }
          : {}),
      },
    };
  } catch (err) {
    const reason = errorReason(err);
    reportSaasFailure(
      ctx.services.stripeHealth,
      err,
      reason === TenantComponentReason.StripeUnavailable,
    );
    return failure(ctx, reason, err);
  }
}
