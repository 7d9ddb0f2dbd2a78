// Inputs and outputs of the router. The input types are structural subsets of the API types
// (a GPUWorkloadSpec, a Tenant's spec and Treaty objects are assignable to them as they are),
// so callers pass informer objects without copying; the output candidates have the shape of
// `status.candidates` plus the reason codes (`statusCandidates` drops them for the status).
import type { z } from "zod";
import type { IneligibleReason } from "./ineligibility.ts";
import type {
  CandidateSchema,
  PlacementSchema,
  ROUTING_STRATEGIES,
  WORKLOAD_PROFILES,
} from "../../crds/index.ts";

/** A routing strategy: balanced, cheapest or fastest. */
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];
/** A workload profile: batch, steady or bursty. */
export type WorkloadProfile = (typeof WORKLOAD_PROFILES)[number];

/** An entry of `status.candidates`. */
export type StatusCandidate = z.infer<typeof CandidateSchema>;
/**
 * One treaty the router considered: an entry of `status.candidates` with, when ineligible,
 * the code of each of its reasons (`codes[i]` is the code of `reasons[i]`).
 */
export type Candidate = StatusCandidate & { readonly codes?: readonly IneligibleReason[] };
/** Where a workload was routed, shaped exactly like `status.placement`. */
export type Placement = z.infer<typeof PlacementSchema>;

/** The parts of a GPUWorkload's spec the router reads (a `GPUWorkloadSpec` fits). */
export interface RoutableSpec {
  /** GPUs needed: the type is priced; the count is checked against the in-cluster nodes. */
  readonly gpu: { readonly type: string; readonly count: number };
  /** Regions the workload may run in, in order of preference; any when omitted. */
  readonly regions?: readonly string[] | undefined;
  /** Highest acceptable USD per GPU-hour. */
  readonly maxPricePerHour?: number | undefined;
  /** Strategy, provider allow-list and treaty pin. */
  readonly routing?:
    | {
        /** @default "balanced" (DEFAULT_ROUTING_STRATEGY) */
        readonly strategy?: RoutingStrategy | undefined;
        readonly allowedProviders?: readonly string[] | undefined;
        readonly treatyRef?: { readonly name: string } | undefined;
      }
    | undefined;
  /** Load profile, for the hybrid principle. @default "batch" */
  readonly profile?: WorkloadProfile | undefined;
}

/** The tenant's routing constraints (a `TenantSpec` fits); omitted lists allow everything. */
export interface TenantConstraints {
  /** Treaty names the tenant may use. */
  readonly allowedTreaties?: readonly string[] | undefined;
  /** Regions the tenant may use. */
  readonly allowedRegions?: readonly string[] | undefined;
}

/** A condition as the router reads it (a `Condition` fits). */
export interface RoutableCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
}

/** The parts of a Treaty the router reads (a `Treaty` fits). */
export interface RoutableTreaty {
  readonly metadata: {
    readonly name?: string | undefined;
    /** Set on objects read from the apiserver; route() memoizes per-treaty facts by it. */
    readonly resourceVersion?: string | undefined;
  };
  readonly spec: {
    readonly provider: string;
    readonly regions: readonly string[];
    readonly pricing: readonly { readonly gpuType: string; readonly usdPerHour: number }[];
    readonly slo?:
      { readonly availability: number; readonly maxLatencyMs?: number | undefined } | undefined;
    readonly quotas?:
      | {
          readonly maxConcurrentJobs?: number | undefined;
          readonly maxGpuHoursPerMonth?: number | undefined;
        }
      | undefined;
    /** @default 0 */
    readonly reputationFloor?: number | undefined;
    /** First day (UTC, `YYYY-MM-DD`) in force. */
    readonly effectiveDate?: string | undefined;
    /** Day (UTC, `YYYY-MM-DD`) from which the treaty no longer applies. */
    readonly expiryDate?: string | undefined;
    /** @default false */
    readonly suspended?: boolean | undefined;
    /** The cluster's own GPU pool (in-cluster treaties). */
    readonly inCluster?: RoutableInClusterPool | undefined;
  };
  readonly status?:
    | {
        readonly conditions?: readonly RoutableCondition[] | undefined;
        readonly reputation?: number | undefined;
        readonly availability?: number | undefined;
        readonly latencyMs?: number | undefined;
        readonly activeJobs?: number | undefined;
        readonly gpuHoursThisPeriod?: number | undefined;
      }
    | undefined;
}

/** An in-cluster treaty's pool as the router reads it (a Treaty's `spec.inCluster` fits). */
export interface RoutableInClusterPool {
  /** Labels every node of the pool carries. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Node label whose value is the node's GPU type. */
  readonly gpuTypeLabel: string;
  /** Extended resource counting GPUs. @default "nvidia.com/gpu" */
  readonly gpuResourceName?: string | undefined;
}

/** A Node as the router reads it (a `V1Node` fits; see poolNodeOf for a cache's copy). */
export interface PoolNode {
  readonly metadata?:
    | {
        readonly name?: string | undefined;
        readonly labels?: Readonly<Record<string, string>> | undefined;
      }
    | undefined;
  readonly status?:
    { readonly allocatable?: Readonly<Record<string, string>> | undefined } | undefined;
}

/** Live usage of a treaty, from the operator's own bookkeeping; overrides its status. */
export interface TreatyUsage {
  /** Workloads running (or placed) under the treaty now. */
  readonly activeJobs?: number | undefined;
  /** GPU-hours used in the current quota period. */
  readonly gpuHoursThisPeriod?: number | undefined;
}

/** Everything one routing decision depends on; route() reads nothing else. */
export interface RouteInput {
  /** The workload's spec. */
  readonly spec: RoutableSpec;
  /** The workload's tenant's constraints; none when omitted. */
  readonly tenant?: TenantConstraints | undefined;
  /** Every Treaty in the cluster, in any order. Treated as read-only. */
  readonly treaties: readonly RoutableTreaty[];
  /** The clock value the decision is made at (treaty effective and expiry dates). */
  readonly now: Date;
  /** Treaty names already attempted by this workload: ineligible, for failover. */
  readonly excluding?: readonly string[] | undefined;
  /**
   * Live usage by treaty name, checked against the treaties' quotas instead of their
   * `status.activeJobs` / `status.gpuHoursThisPeriod`. Pass usage here rather than copying
   * treaties with a patched status: route() memoizes per treaty object, and a copy per
   * decision recomputes everything (see bench:routing).
   */
  readonly usage?: ReadonlyMap<string, TreatyUsage> | undefined;
  /**
   * The cluster's Nodes (an informer cache's list): an in-cluster treaty is ineligible for a
   * workload asking more GPUs than the largest node of its pool and GPU type holds
   * (ExceedsLargestNode). Omitted: the pool's node sizes are not judged.
   */
  readonly nodes?: readonly PoolNode[] | undefined;
}

/** A routing decision: the choice, if any, and every treaty considered, best first. */
export interface RouteDecision {
  /** The best eligible candidate (the first of `candidates`); absent when none is eligible. */
  readonly chosen?: Candidate;
  /** Where to run: the chosen treaty with its region and price; absent when none is eligible. */
  readonly placement?: Placement;
  /**
   * Every treaty (plus a pinned `treatyRef` that does not exist): eligible ones by score
   * descending, price ascending, name ascending; then ineligible ones by name, with reasons.
   */
  readonly candidates: Candidate[];
}
