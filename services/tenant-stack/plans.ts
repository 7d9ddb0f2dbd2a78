/**
 * The plan table: what each Arrakis plan grants, in one place. The Tenant controller turns it
 * into a ResourceQuota and LimitRange, the Redis rate limit and the Stripe price; the admission
 * webhooks read the same numbers for their quota checks. A Tenant's `spec.quotas` and
 * `spec.rateLimit` override single values; everything else comes from the plan.
 */
import type { TenantSpec } from "../../crds/index.ts";

/** A plan name (`spec.plan`). */
export type PlanName = TenantSpec["plan"];

/** What one plan grants. Quantities are canonical Kubernetes quantities (as the apiserver stores them). */
export interface PlanLimits {
  /** Total CPU requests in the tenant namespace (ResourceQuota `requests.cpu`). */
  readonly cpu: string;
  /** Total memory requests in the tenant namespace (ResourceQuota `requests.memory`). */
  readonly memory: string;
  /** Most pods in the tenant namespace. */
  readonly pods: number;
  /** Most GPUs requested at once (ResourceQuota `requests.nvidia.com/gpu`). */
  readonly maxGpus: number;
  /** Most GPUWorkloads running at once (enforced at admission). */
  readonly maxConcurrentWorkloads: number;
  /** Most GPU-hours per calendar month (UTC). */
  readonly maxGpuHoursPerMonth: number;
  /** Most spend per calendar month, in USD. */
  readonly maxCostPerMonth: number;
  /** API requests per minute allowed to the tenant's keys (the bridge enforces it). */
  readonly requestsPerMinute: number;
  /** Default CPU request of a container that states none (LimitRange). */
  readonly defaultCpuRequest: string;
  /** Default memory request and limit of a container that states none (LimitRange). */
  readonly defaultMemory: string;
}

/** The plan table. Free and starter keep the Arrakis default of 100 requests per minute. */
export const PLANS: Readonly<Record<PlanName, PlanLimits>> = {
  free: {
    cpu: "2",
    memory: "4Gi",
    pods: 10,
    maxGpus: 1,
    maxConcurrentWorkloads: 1,
    maxGpuHoursPerMonth: 10,
    maxCostPerMonth: 0,
    requestsPerMinute: 100,
    defaultCpuRequest: "100m",
    defaultMemory: "256Mi",
  },
  starter: {
    cpu: "8",
    memory: "32Gi",
    pods: 50,
    maxGpus: 4,
    maxConcurrentWorkloads: 4,
    maxGpuHoursPerMonth: 200,
    maxCostPerMonth: 1_000,
    requestsPerMinute: 100,
    defaultCpuRequest: "250m",
    defaultMemory: "512Mi",
  },
  pro: {
    cpu: "32",
    memory: "128Gi",
    pods: 200,
    maxGpus: 16,
    maxConcurrentWorkloads: 16,
    maxGpuHoursPerMonth: 2_000,
    maxCostPerMonth: 10_000,
    requestsPerMinute: 1_000,
    defaultCpuRequest: "500m",
    defaultMemory: "1Gi",
  },
  enterprise: {
    cpu: "128",
    memory: "512Gi",
    pods: 1_000,
    maxGpus: 64,
    maxConcurrentWorkloads: 64,
    maxGpuHoursPerMonth: 20_000,
    maxCostPerMonth: 100_000,
    requestsPerMinute: 5_000,
    defaultCpuRequest: "500m",
    defaultMemory: "1Gi",
  },
};

/** The subset of a Tenant spec that sets its limits. */
export type LimitInputs = Pick<TenantSpec, "plan" | "quotas" | "rateLimit">;

/** Returns the tenant's effective limits: the plan's values with the tenant's overrides applied. */
export function effectiveLimits(spec: LimitInputs): PlanLimits {
  const plan = PLANS[spec.plan];
  const q = spec.quotas ?? {};
  return {
    ...plan,
    maxGpus: q.maxGpus ?? plan.maxGpus,
    maxConcurrentWorkloads: q.maxConcurrentWorkloads ?? plan.maxConcurrentWorkloads,
    maxGpuHoursPerMonth: q.maxGpuHoursPerMonth ?? plan.maxGpuHoursPerMonth,
    maxCostPerMonth: q.maxCostPerMonth ?? plan.maxCostPerMonth,
    requestsPerMinute: spec.rateLimit?.requestsPerMinute ?? plan.requestsPerMinute,
  };
}
