// Reason codes of routing ineligibility. Every reason text in `status.candidates[].reasons`
// is made together with one of these codes, and code that decides anything from a decision
// (the workload's waiting reason) reads the codes, never the text (ADR 0091).

/** Why a treaty cannot take a workload: one code per kind of reason text the router writes. */
export const IneligibleReason = {
  /** `routing.treatyRef` pins the workload to another treaty. */
  PinnedToOther: "PinnedToOther",
  /** `routing.treatyRef` names a treaty that does not exist. */
  PinnedTreatyMissing: "PinnedTreatyMissing",
  /** An earlier attempt of the workload ran under this treaty (failover excludes it). */
  AlreadyAttempted: "AlreadyAttempted",
  /** The treaty is not in the tenant's `allowedTreaties`. */
  TreatyNotAllowed: "TreatyNotAllowed",
  /** The treaty's provider is not in the workload's `routing.allowedProviders`. */
  ProviderNotAllowed: "ProviderNotAllowed",
  /** The treaty does not price the workload's GPU type. */
  GpuTypeNotPriced: "GpuTypeNotPriced",
  /** The treaty's price exceeds the workload's `maxPricePerHour`. */
  PriceAboveMax: "PriceAboveMax",
  /** The treaty serves none of the workload's regions. */
  RegionNotServed: "RegionNotServed",
  /** The regions the treaty would serve are not in the tenant's `allowedRegions`. */
  RegionNotAllowed: "RegionNotAllowed",
  /** `spec.suspended` is true. */
  Suspended: "Suspended",
  /** Not in force, expired, or its Ready condition is not True. */
  NotReady: "NotReady",
  /** Ready but Degraded (SLO breached). */
  Degraded: "Degraded",
  /** The treaty's reputation is below its `reputationFloor`. */
  ReputationBelowFloor: "ReputationBelowFloor",
  /** The treaty runs `quotas.maxConcurrentJobs` jobs already. */
  MaxConcurrentJobs: "MaxConcurrentJobs",
  /** The treaty used `quotas.maxGpuHoursPerMonth` this period. */
  GpuHoursExhausted: "GpuHoursExhausted",
  /**
   * In-cluster: the workload asks more GPUs than the largest node of the pool with its GPU
   * type holds (allocatable), so its Pod could never be scheduled there.
   */
  ExceedsLargestNode: "ExceedsLargestNode",
} as const;

/** One routing ineligibility code (see {@link IneligibleReason}). */
export type IneligibleReason = (typeof IneligibleReason)[keyof typeof IneligibleReason];

/** The codes of quotas: a treaty failing only on these would take the workload later. */
export const QUOTA_REASONS: ReadonlySet<IneligibleReason> = new Set([
  IneligibleReason.MaxConcurrentJobs,
  IneligibleReason.GpuHoursExhausted,
]);

/** Reason texts with their codes, index by index (what an ineligible verdict is made of). */
export interface ReasonList {
  readonly reasons: string[];
  readonly codes: IneligibleReason[];
}

/** Appends one reason (its code and its text) to `list`, creating the list when undefined. */
export function addReason(
  list: ReasonList | undefined,
  code: IneligibleReason,
  text: string,
): ReasonList {
  const out = list ?? { reasons: [], codes: [] };
  out.reasons.push(text);
  out.codes.push(code);
  return out;
}
