/**
 * What every component reconcile of one Tenant shares: the tenant, its namespace, the clock
 * reading, the services (each optional: an operator without Stripe or Discord configured
 * reports those components Disabled), the caches, and the error plumbing that turns a failure
 * into a condition with a reason and a redacted message.
 */
import { TenantComponentReason } from "../../../crds/constants.ts";
import type { GPUWorkload, Receipt, Tenant } from "../../../crds/index.ts";
import type { DependencyReporter } from "../../../services/dependency-health/index.ts";
import type { KubeClient, ObjectCache } from "../../../services/kube/index.ts";
import type { TenantNetworkConfig } from "../../../services/tenant-stack/kube/network.ts";
import type { TenantDiscord } from "../../../services/tenant-stack/discord/discord-binding.ts";
import type { TenantDatabase } from "../../../services/tenant-stack/postgres/tenant-database.ts";
import type { TenantCache } from "../../../services/tenant-stack/redis/tenant-cache.ts";
import type { TenantBilling } from "../../../services/tenant-stack/stripe/billing.ts";
import type { EventRecorder } from "../../runtime/index.ts";
import type { TenantApplier } from "./tenant-kube.ts";
import type { TenantSecrets } from "./tenant-secrets.ts";
import type { ComponentOutcome, TenantObservation } from "./tenant-status.ts";

/** The external services of the tenant stack; an omitted one is Disabled. */
export interface TenantServices {
  readonly database?: TenantDatabase | undefined;
  readonly cache?: TenantCache | undefined;
  readonly billing?: TenantBilling | undefined;
  readonly discord?: TenantDiscord | undefined;
  /** Identifies the billing configuration (prices), so a price change triggers a resync. */
  readonly billingConfigId?: string | undefined;
  /** Where Billing reports Stripe up or down (ADR 0077); none in some tests. */
  readonly stripeHealth?: DependencyReporter | undefined;
  /** Where the Discord component reports Discord up or down (ADR 0077). */
  readonly discordHealth?: DependencyReporter | undefined;
}

/** Settings of the Tenant controller. */
export interface TenantSettings {
  readonly network: TenantNetworkConfig;
  /** How long running workloads may finish after deletion before they are cancelled. @default 600000 */
  readonly teardownGraceMs: number;
  /** How often billing state is re-read from Stripe when nothing changed. @default 3600000 */
  readonly billingResyncMs: number;
  /** How often guild commands are re-checked when nothing changed. @default 3600000 */
  readonly discordResyncMs: number;
}

/** The defaults of {@link TenantSettings} (network excepted). */
export const DEFAULT_TENANT_SETTINGS: Omit<TenantSettings, "network"> = {
  teardownGraceMs: 600_000,
  billingResyncMs: 3_600_000,
  discordResyncMs: 3_600_000,
};

/** One reconcile's view of a tenant. */
export interface TenantContext {
  readonly tenant: Tenant;
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly now: Date;
  readonly client: KubeClient;
  readonly applier: TenantApplier;
  readonly secrets: TenantSecrets;
  readonly services: TenantServices;
  readonly settings: TenantSettings;
  readonly workloads: ObjectCache<GPUWorkload>;
  readonly receipts: ObjectCache<Receipt>;
  readonly events: EventRecorder;
  /** Values that must never appear in a message (keys, passwords) seen this reconcile. */
  readonly sensitive: Set<string>;
}

/** A component's outcome plus what it observed for status, and when to look again. */
export interface ComponentResult {
  readonly outcome: ComponentOutcome;
  readonly observed?: Partial<TenantObservation>;
  readonly requeueAfterMs?: number;
  /** True when the component failed and the reconcile should be retried with backoff. */
  readonly failed?: boolean;
}

const SECRET_PATTERNS: readonly RegExp[] = [
  /vmk_[0-9a-f]{16}_[A-Za-z0-9_-]+/g,
  /\b(sk|rk)_(live|test)_[A-Za-z0-9]+/g,
  /\bwhsec_[A-Za-z0-9]+/g,
  /\bBot [A-Za-z0-9._-]{20,}/g,
  /(postgres(ql)?|rediss?):\/\/[^@\s]*@/g,
];

/** Removes secrets (known values and recognisable key formats) from a message and bounds it. */
export function redact(message: string, sensitive: Iterable<string> = []): string {
  let m = message;
  for (const s of sensitive) if (s.length >= 6) m = m.split(s).join("[redacted]");
  for (const re of SECRET_PATTERNS) m = m.replace(re, "[redacted]");
  return m.length > 1024 ? `${m.slice(0, 1021)}...` : m;
}

/** A failed component: condition False with `reason` and the redacted error, retried with backoff. */
export function failure(ctx: TenantContext, reason: string, err: unknown): ComponentResult {
  const msg = err instanceof Error ? err.message : String(err);
  return {
    outcome: { status: "False", reason, message: redact(msg, ctx.sensitive) },
    failed: true,
  };
}

/** A component that is turned off in the operator's configuration. */
export function disabled(what: string): ComponentResult {
  return {
    outcome: {
      status: "True",
      reason: TenantComponentReason.Disabled,
      message: `${what} is not configured in the operator; this component is skipped`,
    },
  };
}
