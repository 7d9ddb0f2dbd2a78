/**
 * Records a verified Stripe payment state on the Tenant it concerns (the billing-state
 * annotation), for the Stripe webhook endpoint. The tenant is found by its Stripe customer
 * (status.stripeCustomerId or spec.billing.stripeCustomerId); the annotation is written with a
 * merge patch carrying the resourceVersion read, and an older event never replaces a newer one.
 */
import type { Tenant } from "../../../crds/index.ts";
import {
  isConflict,
  Resources,
  type KubeClient,
  type ObjectCache,
} from "../../../services/kube/index.ts";
import {
  BILLING_STATE_ANNOTATION,
  formatBillingState,
  parseBillingState,
  supersedes,
  type BillingState,
} from "../../../services/tenant-stack/stripe/billing-state.ts";
import type { BillingStateStore } from "../../../services/tenant-stack/stripe/stripe-webhook.ts";

/** Index of the tenants informer: Stripe customer id → tenant. */
export const TENANTS_BY_CUSTOMER = "byStripeCustomer";

/** Indexer for {@link TENANTS_BY_CUSTOMER}. */
export const tenantsByCustomer = (t: Tenant): string[] =>
  [...new Set([t.status?.stripeCustomerId, t.spec.billing?.stripeCustomerId])].filter(
    (x): x is string => typeof x === "string" && x !== "",
  );

/** A {@link BillingStateStore} over the Kubernetes API. */
export class KubeBillingStateStore implements BillingStateStore {
  readonly #client: KubeClient;
  readonly #tenants: ObjectCache<Tenant>;

  /** `tenants` must carry the {@link TENANTS_BY_CUSTOMER} index. */
  constructor(client: KubeClient, tenants: ObjectCache<Tenant>) {
    this.#client = client;
    this.#tenants = tenants;
  }

  async #find(customerId: string): Promise<string | undefined> {
    const cached = this.#tenants.byIndex(TENANTS_BY_CUSTOMER, customerId)[0];
    if (cached) return cached.metadata.name;
    // The cache may lag a customer created moments ago: ask the API server.
    const all = await this.#client.list<Tenant>(Resources.Tenant);
    return all.items.find((t) => tenantsByCustomer(t).includes(customerId))?.metadata.name;
  }

  async record(customerId: string, state: BillingState): Promise<boolean> {
    const name = await this.#find(customerId);
    if (!name) return false;
    for (let attempt = 0; ; attempt++) {
      const t = await this.#client.get<Tenant>(Resources.Tenant, name);
      if (!t) return false;
      const cur = parseBillingState(t.metadata.annotations?.[BILLING_STATE_ANNOTATION]);
      if (!supersedes(state, cur)) return true;
      try {
        await this.#client.patch(
          Resources.Tenant,
          { name },
          {
            metadata: {
              resourceVersion: t.metadata.resourceVersion,
              annotations: { [BILLING_STATE_ANNOTATION]: formatBillingState(state) },
            },
          },
        );
        return true;
      } catch (err) {
        if (!isConflict(err) || attempt >= 4) throw err;
      }
    }
  }
}
