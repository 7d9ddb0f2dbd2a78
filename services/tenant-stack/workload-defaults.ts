/**
 * GPUWorkload defaults per plan: what the mutating admission webhook fills in when a tenant's
 * workload leaves a field out, and the longest runtime the plan allows. The one place these
 * numbers live; the router reads the same table for workloads admitted while the webhook was
 * down. Quotas (GPUs, concurrent workloads) are in plans.ts beside this file.
 */
import type { GPUWorkloadSpec, TenantSpec } from "../../crds/index.ts";

/** Defaults and limits one plan applies to its tenants' GPUWorkloads. */
export interface WorkloadDefaults {
  /** `spec.routing.strategy` when omitted. */
  readonly strategy: GPUWorkloadSpec["routing"]["strategy"];
  /** `spec.profile` when omitted. */
  readonly profile: GPUWorkloadSpec["profile"];
  /** `spec.priority` when omitted (0..1000). */
  readonly priority: number;
  /** `spec.maxRuntimeSeconds` when omitted. */
  readonly maxRuntimeSeconds: number;
  /** The longest `spec.maxRuntimeSeconds` a workload of this plan may ask for. */
  readonly maxRuntimeSecondsLimit: number;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * The plan → workload defaults table. Free workloads are short and routed to the cheapest
 * treaty; paying plans get the balanced strategy, longer runs and higher priority.
 */
export const WORKLOAD_DEFAULTS: Readonly<Record<TenantSpec["plan"], WorkloadDefaults>> = {
  free: {
    strategy: "cheapest",
    profile: "batch",
    priority: 100,
    maxRuntimeSeconds: HOUR,
    maxRuntimeSecondsLimit: 4 * HOUR,
  },
  starter: {
    strategy: "cheapest",
    profile: "batch",
    priority: 300,
    maxRuntimeSeconds: 4 * HOUR,
    maxRuntimeSecondsLimit: DAY,
  },
  pro: {
    strategy: "balanced",
    profile: "batch",
    priority: 500,
    maxRuntimeSeconds: 12 * HOUR,
    maxRuntimeSecondsLimit: 7 * DAY,
  },
  enterprise: {
    strategy: "balanced",
    profile: "steady",
    priority: 700,
    maxRuntimeSeconds: DAY,
    maxRuntimeSecondsLimit: 30 * DAY,
  },
};
