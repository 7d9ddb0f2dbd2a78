/**
 * Pure status computation of a Tenant: one condition per component (Namespace, Quota, Network,
 * Database, Cache, Billing, Discord), Ready (what admission reads) and Degraded on top, the suspension and the derived usage. No
 * I/O and no clock: the reconciler passes what it observed and `now`.
 */
import {
  TENANT_ADMISSION_COMPONENTS,
  TENANT_BILLING_GATING_REASONS,
  TenantDegradedReason,
  TenantReadyReason,
  type TenantConditionType,
} from "../../../crds/constants.ts";
import type { Condition, Tenant, TenantStatus } from "../../../crds/index.ts";
import { findCondition, setConditions, type ConditionInput } from "../../runtime/index.ts";

/** A stack component with its own condition. */
export type ComponentName = Exclude<keyof typeof TenantConditionType, "Ready" | "Degraded">;

/** The components in reconcile and display order. */
export const COMPONENTS: readonly ComponentName[] = [
  "Namespace",
  "Quota",
  "Network",
  "Database",
  "Cache",
  "Billing",
  "Discord",
];

/** What one component's reconcile concluded. */
export interface ComponentOutcome {
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
}

/** Why new workloads are refused, when they are. */
export interface Suspension {
  readonly reason: NonNullable<TenantStatus["suspendedReason"]>;
  readonly message: string;
}

/** Everything the status is computed from. */
export interface TenantObservation {
  /** Outcomes of the components reconciled this time; others keep their condition. */
  readonly outcomes: Partial<Record<ComponentName, ComponentOutcome>>;
  readonly suspension?: Suspension | undefined;
  /** Set while the finalizer tears the stack down: the step in progress. */
  readonly teardownStep?: string | undefined;
  /** Fields copied into status when known (undefined keeps the previous value). */
  readonly namespace?: string | undefined;
  readonly stripeCustomerId?: string | undefined;
  readonly subscriptionStatus?: TenantStatus["subscriptionStatus"];
  readonly apiKeySecretRef?: TenantStatus["apiKeySecretRef"];
  readonly usage?: TenantStatus["usage"];
}

/** How one component's condition bears on admission. */
export const ComponentImpact = {
  /** True: nothing to say. */
  Ok: "Ok",
  /** Not True and needed to run workloads safely: Ready is False. */
  Gates: "Gates",
  /** Not True but workloads run safely without it: Ready stays True, Degraded is True. */
  Degrades: "Degrades",
} as const;

/** One of {@link ComponentImpact}'s values. */
export type ComponentImpactValue = (typeof ComponentImpact)[keyof typeof ComponentImpact];

const ADMISSION: ReadonlySet<string> = new Set(TENANT_ADMISSION_COMPONENTS);
const BILLING_GATES: ReadonlySet<string> = new Set(TENANT_BILLING_GATING_REASONS);

/**
 * The one rule for which failing component refuses new workloads (ADR 0077): the Kubernetes and
 * data-isolation components always gate; Discord never does; Billing gates until the tenant's
 * Stripe customer exists (first-time setup) and, after that, only on a payment decision
 * (PaymentFailed, PastDue, SubscriptionInactive) — an outage of Stripe only delays metering,
 * which is retried with the receipt digest as idempotency key.
 */
export function componentImpact(
  c: Pick<Condition, "type" | "status" | "reason"> | undefined,
  type: ComponentName,
  customerKnown: boolean,
): ComponentImpactValue {
  if (c?.status === "True") return ComponentImpact.Ok;
  if (ADMISSION.has(type) || c === undefined) return ComponentImpact.Gates;
  if (type === "Discord") return ComponentImpact.Degrades;
  if (!customerKnown || BILLING_GATES.has(c.reason)) return ComponentImpact.Gates;
  return ComponentImpact.Degrades;
}

function summary(c: Condition): string {
  return `${c.type}: ${c.reason}${c.message ? ` (${c.message})` : ""}`;
}

function impacts(
  conditions: readonly Condition[],
  customerKnown: boolean,
): { gating: string[]; degraded: Condition[] } {
  const gating: string[] = [];
  const degraded: Condition[] = [];
  for (const type of COMPONENTS) {
    const c = findCondition(conditions, type);
    const impact = componentImpact(c, type, customerKnown);
    if (impact === ComponentImpact.Gates) {
      gating.push(c ? summary(c) : `${type}: not reconciled yet`);
    } else if (impact === ComponentImpact.Degrades && c) {
      degraded.push(c);
    }
  }
  return { gating, degraded };
}

/**
 * Ready from the component conditions, the suspension and the teardown: True when every
 * component that gates admission is True ({@link componentImpact}).
 */
export function readyCondition(
  conditions: readonly Condition[],
  o: Pick<TenantObservation, "suspension" | "teardownStep">,
  customerKnown = false,
): ConditionInput {
  if (o.teardownStep !== undefined) {
    return {
      type: "Ready",
      status: "False",
      reason: TenantReadyReason.Deleting,
      message: `teardown: ${o.teardownStep}`,
    };
  }
  if (o.suspension) {
    return {
      type: "Ready",
      status: "False",
      reason: o.suspension.reason === "Spec" ? TenantReadyReason.Suspended : o.suspension.reason,
      message: o.suspension.message,
    };
  }
  const { gating, degraded } = impacts(conditions, customerKnown);
  if (gating.length > 0) {
    return {
      type: "Ready",
      status: "False",
      reason: TenantReadyReason.ComponentsNotReady,
      message: gating.join("; "),
    };
  }
  if (degraded.length > 0) {
    return {
      type: "Ready",
      status: "True",
      reason: TenantReadyReason.ReadyDegraded,
      message: `new workloads are admitted; degraded: ${degraded.map((c) => c.type).join(", ")}`,
    };
  }
  return {
    type: "Ready",
    status: "True",
    reason: TenantReadyReason.Ready,
    message: "every component is ready",
  };
}

/** Degraded: True naming each failing component that does not gate admission, and why. */
export function degradedCondition(
  conditions: readonly Condition[],
  customerKnown: boolean,
): ConditionInput {
  const { degraded } = impacts(conditions, customerKnown);
  const discord = degraded.some((c) => c.type === "Discord");
  const billing = degraded.some((c) => c.type === "Billing");
  if (!discord && !billing) {
    return {
      type: "Degraded",
      status: "False",
      reason: TenantDegradedReason.AsExpected,
      message: "",
    };
  }
  const reason =
    discord && billing
      ? TenantDegradedReason.DiscordAndBillingFailing
      : discord
        ? TenantDegradedReason.DiscordFailing
        : TenantDegradedReason.BillingFailing;
  return {
    type: "Degraded",
    status: "True",
    reason,
    message: `${degraded.map(summary).join("; ")}; retried, new workloads are still admitted`,
  };
}

/** Computes the next status of `t` from an observation. */
export function computeTenantStatus(t: Tenant, o: TenantObservation, now: Date): TenantStatus {
  const prev = t.status ?? {};
  const gen = t.metadata.generation;
  const inputs: ConditionInput[] = COMPONENTS.flatMap((c) => {
    const out = o.outcomes[c];
    return out ? [{ type: c, ...out }] : [];
  });
  // Keep the previous observedGeneration on components not reconciled this time.
  let conditions = [...(prev.conditions ?? [])];
  conditions = setConditions(conditions, inputs, gen, now);
  const customerKnown = (o.stripeCustomerId ?? prev.stripeCustomerId) !== undefined;
  conditions = setConditions(
    conditions,
    [readyCondition(conditions, o, customerKnown), degradedCondition(conditions, customerKnown)],
    gen,
    now,
  );
  const order: string[] = [...COMPONENTS, "Ready", "Degraded"];
  conditions.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  const pick = <K extends keyof TenantStatus>(
    k: K,
    v: TenantStatus[K] | undefined,
  ): TenantStatus[K] => (v !== undefined ? v : prev[k]);
  return {
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    conditions,
    namespace: pick("namespace", o.namespace),
    stripeCustomerId: pick("stripeCustomerId", o.stripeCustomerId),
    subscriptionStatus: pick("subscriptionStatus", o.subscriptionStatus),
    usage: pick("usage", o.usage),
    apiKeySecretRef: pick("apiKeySecretRef", o.apiKeySecretRef),
    suspended: o.suspension !== undefined,
    ...(o.suspension ? { suspendedReason: o.suspension.reason } : {}),
  };
}
