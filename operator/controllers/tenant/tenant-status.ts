/**
 * Pure status computation of a Tenant: one condition per component (Namespace, Quota, Network,
 * Database, Cache, Billing, Discord), Ready on top, the suspension and the derived usage. No
 * I/O and no clock: the reconciler passes what it observed and `now`.
 */
import { TenantConditionType } from "../../../crds/constants.ts";
import type { Condition, GPUWorkload, Tenant, TenantStatus } from "../../../crds/index.ts";
import { setConditions, type ConditionInput } from "../../runtime/index.ts";

/** A stack component with its own condition. */
export type ComponentName = Exclude<keyof typeof TenantConditionType, "Ready">;

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

/** Ready from the component conditions, the suspension and the teardown. */
export function readyCondition(
  conditions: readonly Condition[],
  o: Pick<TenantObservation, "suspension" | "teardownStep">,
): ConditionInput {
  if (o.teardownStep !== undefined) {
    return {
      type: "Ready",
      status: "False",
      reason: "Deleting",
      message: `teardown: ${o.teardownStep}`,
    };
  }
  const notReady = COMPONENTS.map((c) => conditions.find((x) => x.type === c)).filter(
    (c): c is Condition => c === undefined || c.status !== "True",
  );
  if (o.suspension) {
    return {
      type: "Ready",
      status: "False",
      reason: o.suspension.reason === "Spec" ? "Suspended" : o.suspension.reason,
      message: o.suspension.message,
    };
  }
  if (notReady.length > 0) {
    const missing = COMPONENTS.filter((c) => !conditions.some((x) => x.type === c));
    const failing = notReady
      .filter((c) => c !== undefined)
      .map((c) => `${c.type}: ${c.reason}${c.message ? ` (${c.message})` : ""}`);
    return {
      type: "Ready",
      status: "False",
      reason: "ComponentsNotReady",
      message: [...failing, ...missing.map((m) => `${m}: not reconciled yet`)].join("; "),
    };
  }
  return { type: "Ready", status: "True", reason: "Ready", message: "every component is ready" };
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
  conditions = setConditions(conditions, [readyCondition(conditions, o)], gen, now);
  const order = [...COMPONENTS, "Ready"];
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

/** Whether a workload holds GPUs: not Complete, not Failed and not being deleted. */
export function workloadIsActive(w: Pick<GPUWorkload, "metadata" | "status">): boolean {
  if (w.metadata.deletionTimestamp) return false;
  return !(w.status?.conditions ?? []).some(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
}

/** GPUs held by the tenant's active workloads. */
export function gpusInUse(
  workloads: readonly Pick<GPUWorkload, "metadata" | "spec" | "status">[],
): number {
  return workloads.filter(workloadIsActive).reduce((n, w) => n + (w.spec.gpu?.count ?? 0), 0);
}

/**
 * The components whose condition changed in status or reason between two statuses, for
 * Events: one Event per transition, never one per reconcile.
 */
export function transitions(
  before: readonly Condition[] | undefined,
  after: readonly Condition[] | undefined,
): Condition[] {
  return (after ?? []).filter((c) => {
    const p = before?.find((x) => x.type === c.type);
    return !p || p.status !== c.status || p.reason !== c.reason;
  });
}
