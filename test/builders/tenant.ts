// The fluent Tenant builder: `tenant("acme").plan("free").allowedRegions("local").ready().obj()`.
// It starts as a pro-plan tenant billed to billing@<name>.example, not suspended, with no status.
import type { Tenant, TenantSpec, TenantStatus } from "../../crds/index.ts";
import { API_VERSION } from "../../crds/index.ts";
import { copy, ObjectBuilder } from "./builder.ts";

/** Builds a Tenant. */
export class TenantBuilder extends ObjectBuilder<Tenant> {
  private readonly name: string;
  constructor(name: string) {
    super({
      apiVersion: API_VERSION,
      kind: "Tenant",
      metadata: { name },
      spec: { plan: "pro", billing: { email: `billing@${name}.example` }, suspended: false },
    });
    this.name = name;
  }
  /** The plan; `free` needs no billing (dropped), a paid plan gets the default if it had none. */
  plan(p: TenantSpec["plan"]): this {
    this.o.spec.plan = p;
    if (p === "free") delete this.o.spec.billing;
    else this.o.spec.billing ??= { email: `billing@${this.name}.example` };
    return this;
  }
  billingEmail(email: string): this {
    this.o.spec.billing = { ...(this.o.spec.billing ?? {}), email };
    return this;
  }
  displayName(d: string): this {
    this.o.spec.displayName = d;
    return this;
  }
  /** Owners, as users. */
  owners(...users: string[]): this {
    this.o.spec.owners = users.map((name) => ({ kind: "User" as const, name }));
    return this;
  }
  rateLimit(requestsPerMinute: number): this {
    this.o.spec.rateLimit = { requestsPerMinute };
    return this;
  }
  discord(guildId: string, channelId?: string): this {
    this.o.spec.discord = { guildId, ...(channelId ? { channelId } : {}) };
    return this;
  }
  quotas(q: NonNullable<TenantSpec["quotas"]>): this {
    this.o.spec.quotas = { ...q };
    return this;
  }
  allowedRegions(...r: string[]): this {
    this.o.spec.allowedRegions = r;
    return this;
  }
  allowedTreaties(...t: string[]): this {
    this.o.spec.allowedTreaties = t;
    return this;
  }
  suspended(s = true): this {
    this.o.spec.suspended = s;
    return this;
  }
  /** Merges `patch` over the spec: top-level fields replaced whole, `undefined` removes one. */
  spec(patch: Partial<TenantSpec>): this {
    const spec = this.o.spec as Record<string, unknown>;
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete spec[k];
      else spec[k] = copy(v);
    }
    return this;
  }
  /** Sets the status (as the operator would have written it). */
  status(s: TenantStatus): this {
    this.o.status = copy(s);
    return this;
  }
  /** A Ready condition: `True Provisioned`, or `False Provisioning`. */
  ready(ready = true, at = "2026-01-01T00:00:00Z"): this {
    return this.status({
      ...(this.o.status ?? {}),
      conditions: [
        {
          type: "Ready",
          status: ready ? "True" : "False",
          reason: ready ? "Provisioned" : "Provisioning",
          message: "",
          lastTransitionTime: at,
        },
      ],
    });
  }
}

/** Starts a Tenant builder. */
export const tenant = (name: string): TenantBuilder => new TenantBuilder(name);
