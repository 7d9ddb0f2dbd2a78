/**
 * Stripe billing of a tenant: a customer, a subscription to the plan's price plus the metered
 * GPU price, usage reported as Billing Meter events, and cancellation on teardown. Every create
 * carries an idempotency key derived from the tenant's uid (or the receipt's digest), so a
 * retried reconcile never creates a second customer, subscription or charge.
 */
import type Stripe from "stripe";
import type { PlanName } from "../plans.ts";

/** Billing settings from the operator's configuration. */
export interface BillingConfig {
  /** Stripe price of each paid plan (recurring, licensed); every plan but free needs one. */
  readonly planPrices: Readonly<Partial<Record<PlanName, string>>>;
  /** Metered Stripe price attached to the GPU-seconds meter; omitted → no usage item. */
  readonly gpuSecondsPrice?: string;
  /** `event_name` of the Billing Meter counting GPU-seconds. @default "vaultmesh_gpu_seconds" */
  readonly meterEventName: string;
}

/** Subscription states reported in Tenant status. */
export type SubscriptionStatus = Stripe.Subscription.Status;

/** What the Tenant controller asks billing to converge. */
export interface BillingInput {
  readonly tenantName: string;
  readonly tenantUid: string;
  readonly plan: PlanName;
  readonly email?: string;
  /** A customer the tenant brings (`spec.billing.stripeCustomerId`). */
  readonly customerId?: string;
  /** What a previous sync created (from the billing account row). */
  readonly known?: { readonly customerId?: string; readonly subscriptionId?: string };
}

/** The tenant's billing objects after a sync. */
export interface BillingResult {
  readonly customerId?: string;
  readonly subscriptionId?: string;
  readonly subscriptionStatus?: SubscriptionStatus;
}

/** Thrown when the plan has no configured price. */
export class BillingConfigError extends Error {
  override readonly name = "BillingConfigError";
}

const META = "vaultmesh_tenant_uid";

function isMissing(err: unknown): boolean {
  const e = err as { code?: string; statusCode?: number };
  return e.code === "resource_missing" || e.statusCode === 404;
}

/** The subscription items a plan should have. */
function wantedPrices(cfg: BillingConfig, plan: PlanName): string[] {
  const planPrice = cfg.planPrices[plan];
  if (planPrice === undefined) {
    throw new BillingConfigError(
      `billing.planPrices.${plan}: no Stripe price is configured for plan ${plan}`,
    );
  }
  return cfg.gpuSecondsPrice ? [planPrice, cfg.gpuSecondsPrice] : [planPrice];
}

/** Stripe operations for tenants. */
export class TenantBilling {
  /** Stripe API calls made since construction. */
  calls = 0;
  readonly #stripe: Stripe;
  readonly #cfg: BillingConfig;

  constructor(stripe: Stripe, cfg: BillingConfig) {
    this.#stripe = stripe;
    this.#cfg = cfg;
  }

  /** True when the plan is billed: every plan but free has a subscription. */
  isBilled(plan: PlanName): boolean {
    return plan !== "free";
  }

  async #customer(input: BillingInput): Promise<string> {
    const id = input.customerId ?? input.known?.customerId;
    if (id !== undefined) {
      this.calls++;
      const c = await this.#stripe.customers.retrieve(id).catch((err: unknown) => {
        if (isMissing(err)) return undefined;
        throw err;
      });
      if (c && !c.deleted) {
        if (input.email !== undefined && c.email !== input.email) {
          this.calls++;
          await this.#stripe.customers.update(id, { email: input.email });
        }
        return c.id;
      }
      if (input.customerId !== undefined) {
        throw new Error(
          `spec.billing.stripeCustomerId: customer ${id} does not exist or was deleted`,
        );
      }
    }
    this.calls++;
    const created = await this.#stripe.customers.create(
      {
        ...(input.email !== undefined ? { email: input.email } : {}),
        name: input.tenantName,
        metadata: { [META]: input.tenantUid, vaultmesh_tenant: input.tenantName },
      },
      // A recreated customer (the old one deleted) needs a key of its own.
      { idempotencyKey: `vaultmesh-tenant-${input.tenantUid}-customer${id ? `-after-${id}` : ""}` },
    );
    return created.id;
  }

  async #findSubscription(
    customerId: string,
    input: BillingInput,
  ): Promise<Stripe.Subscription | undefined> {
    const known = input.known?.subscriptionId;
    if (known !== undefined) {
      this.calls++;
      const s = await this.#stripe.subscriptions.retrieve(known).catch((err: unknown) => {
        if (isMissing(err)) return undefined;
        throw err;
      });
      if (s && s.status !== "canceled" && s.status !== "incomplete_expired") return s;
    }
    // Adopt a subscription an interrupted sync created before it could record the id.
    this.calls++;
    const list = await this.#stripe.subscriptions.list({ customer: customerId, limit: 20 });
    return list.data.find((s) => s.metadata?.[META] === input.tenantUid && s.status !== "canceled");
  }

  async #fixPlanItem(s: Stripe.Subscription, want: string[]): Promise<Stripe.Subscription> {
    const have = new Set(s.items.data.map((i) => i.price.id));
    if (want.every((p) => have.has(p))) return s;
    // Replace items whose price is not wanted (an old plan) and add the missing ones.
    const items: Stripe.SubscriptionUpdateParams.Item[] = [
      ...s.items.data
        .filter((i) => !want.includes(i.price.id))
        .map((i) => ({ id: i.id, deleted: true })),
      ...want.filter((p) => !have.has(p)).map((price) => ({ price })),
    ];
    this.calls++;
    return await this.#stripe.subscriptions.update(s.id, { items, proration_behavior: "none" });
  }

  /**
   * Converges the tenant's customer and subscription: creates what is missing, moves the
   * subscription to the plan's price when the plan changed, and returns the current state.
   */
  async sync(input: BillingInput): Promise<BillingResult> {
    const billed = this.isBilled(input.plan);
    // Check the configuration before any Stripe call: a misconfigured plan creates nothing.
    const want = billed ? wantedPrices(this.#cfg, input.plan) : [];
    if (!billed && input.email === undefined && input.customerId === undefined) return {};
    const customerId = await this.#customer(input);
    if (!billed) return { customerId };
    let sub = await this.#findSubscription(customerId, input);
    if (sub) {
      sub = await this.#fixPlanItem(sub, want);
    } else {
      this.calls++;
      sub = await this.#stripe.subscriptions.create(
        {
          customer: customerId,
          items: want.map((price) => ({ price })),
          metadata: { [META]: input.tenantUid, vaultmesh_tenant: input.tenantName },
        },
        { idempotencyKey: `vaultmesh-tenant-${input.tenantUid}-subscription-${customerId}` },
      );
    }
    return { customerId, subscriptionId: sub.id, subscriptionStatus: sub.status };
  }

  /** Reads the current status of a subscription (a periodic resync; no writes). */
  async subscriptionStatus(subscriptionId: string): Promise<SubscriptionStatus | undefined> {
    this.calls++;
    const s = await this.#stripe.subscriptions.retrieve(subscriptionId).catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    return s?.status;
  }

  /**
   * Reports GPU usage of one completed workload as a meter event. The receipt digest is both
   * the event identifier and the idempotency key, so a retried report is counted once.
   */
  async reportUsage(
    customerId: string,
    receiptDigest: string,
    gpuSeconds: number,
    at?: Date,
  ): Promise<void> {
    this.calls++;
    await this.#stripe.billing.meterEvents.create(
      {
        event_name: this.#cfg.meterEventName,
        identifier: receiptDigest,
        payload: { stripe_customer_id: customerId, value: String(Math.round(gpuSeconds)) },
        ...(at ? { timestamp: Math.floor(at.getTime() / 1000) } : {}),
      },
      { idempotencyKey: receiptDigest },
    );
  }

  /** Cancels the subscription now, without proration; a missing or canceled one is done. */
  async cancel(subscriptionId: string): Promise<void> {
    this.calls++;
    await this.#stripe.subscriptions
      .cancel(subscriptionId, { prorate: false })
      .catch((err: unknown) => {
        const e = err as { code?: string; message?: string };
        if (isMissing(err) || /canceled subscription/i.test(e.message ?? "")) return undefined;
        throw err;
      });
  }
}
