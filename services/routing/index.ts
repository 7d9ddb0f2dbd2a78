// The router (services/routing): pure treaty eligibility, scoring and ranking for GPUWorkloads.
// Import from here; the files behind it are split by concern.
export { IneligibleReason, QUOTA_REASONS } from "./ineligibility.ts";
export { MAX_REASON_LENGTH } from "./reason-format.ts";
export { describeDecision, MAX_STATUS_CANDIDATES, route, statusCandidates } from "./router.ts";
export { RouterMemo, utcDay } from "./router-memo.ts";
export type {
  Candidate,
  Placement,
  PoolNode,
  RoutableCondition,
  RoutableInClusterPool,
  RoutableSpec,
  RoutableTreaty,
  RouteDecision,
  RouteInput,
  StatusCandidate,
  RoutingStrategy,
  TenantConstraints,
  TreatyUsage,
  WorkloadProfile,
} from "./routing-types.ts";
export { readiness } from "./treaty-facts.ts";
export {
  DEFAULT_GPU_RESOURCE,
  gpuCount,
  inPool,
  largestNodeGpus,
  poolNodeChanged,
  poolNodeOf,
  type SlimNode,
} from "./pool-capacity.ts";
export {
  LATENCY_FLOOR_MS,
  PRICE_FLOOR_USD,
  PROFILE_AFFINITY,
  SCORE_DECIMALS,
  STRATEGY_WEIGHTS,
  type Weights,
} from "./treaty-scoring.ts";
