// What the router knows about a treaty independently of any workload: its own-state reasons
// (suspended, not Ready, reputation below the floor, quotas), its measurements and the texts
// its reasons and explanations are made of. Computed once per treaty object version and
// memoized, so a decision over 100 treaties pays for it only when a treaty changes.
import { GPU_TYPES, IN_CLUSTER_PROVIDER } from "../../crds/index.ts";
import { clip, fixed2, fixedPair, list, quantity, usdPerHour } from "./reason-format.ts";
import { regionMask } from "./region-mask.ts";
import type { Candidate, RoutableTreaty } from "./routing-types.ts";
import { availabilityOf, latencyOf, reputationOf } from "./treaty-scoring.ts";

/** What is known about one treaty at one day, independently of the workload. */
export interface TreatyFacts {
  readonly treaty: RoutableTreaty;
  readonly name: string;
  readonly provider: string;
  /** Whether the treaty is the cluster's own GPU pool (the "GPU core"). */
  readonly inCluster: boolean;
  /** Reasons from the treaty's own state, in a fixed order; empty when it is routable. */
  readonly stateReasons: readonly string[];
  /**
   * The treaty's candidate when only its own state makes it ineligible: the same for every
   * workload, so made once and frozen (shared between decisions).
   */
  readonly stateCandidate: Candidate | undefined;
  /** The treaty's regions as a region-mask.ts mask. */
  readonly regionMask: number;
  /** Assumed p95 RTT in ms (NaN when unknown); see latencyOf. */
  readonly latencyMs: number;
  readonly reputation: number;
  readonly availability: number;
  /** `[a, b]` rendering of the treaty's regions. */
  readonly regionsText: string;
  /** USD per GPU-hour by index in GPU_TYPES; NaN where the treaty does not price the type. */
  readonly prices: Float64Array;
  /** `$1.20/h` rendering of each price, by index in GPU_TYPES. */
  readonly priceTexts: readonly (string | undefined)[];
  /** `, latency 120ms→` (or `unknown`): the latency part of a score explanation. */
  readonly latencyText: string;
  /** `, reputation 0.95, availability 0.99`: the rest of a score explanation. */
  readonly qualityText: string;
}

interface CachedFacts extends TreatyFacts {
  readonly today: string;
  readonly resourceVersion: string | undefined;
  readonly spec: RoutableTreaty["spec"];
  readonly status: RoutableTreaty["status"];
}

/** The treaties of one route() input in name order, with their facts. */
interface Snapshot {
  readonly today: string;
  /** The input's elements in input order, to check the array was not changed in place. */
  readonly source: readonly RoutableTreaty[];
  readonly sorted: readonly CachedFacts[];
}

// Both caches hold only objects with a metadata.resourceVersion (read from the apiserver) and
// check it, the spec and status objects and the day on every hit. Hand-built treaties without a
// resourceVersion are recomputed on every call, so one mutated in place is seen as it is now.
const factsCache = new WeakMap<RoutableTreaty, CachedFacts>();
const snapshotCache = new WeakMap<readonly RoutableTreaty[], Snapshot>();

/**
 * The facts of every treaty at `today`, sorted by name (code-unit order). Memoized per array
 * object (pass the same array while the treaties are unchanged: one cache lookup per decision)
 * and per treaty object (a new array of mostly unchanged treaties recomputes only the changed).
 */
export function sortedFacts(
  treaties: readonly RoutableTreaty[],
  today: string,
): readonly TreatyFacts[] {
  const hit = snapshotCache.get(treaties);
  if (hit !== undefined && hit.today === today && unchanged(hit, treaties)) return hit.sorted;
  const sorted = treaties.map((t) => treatyFacts(t, today));
  sorted.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (sorted.every((f) => f.resourceVersion !== undefined)) {
    snapshotCache.set(treaties, { today, source: treaties.slice(), sorted });
  }
  return sorted;
}

function unchanged(snapshot: Snapshot, treaties: readonly RoutableTreaty[]): boolean {
  const { source } = snapshot;
  if (source.length !== treaties.length) return false;
  for (let i = 0; i < source.length; i++) {
    const t = treaties[i]!;
    if (t !== source[i]) return false;
  }
  for (const f of snapshot.sorted) if (!current(f, f.treaty, f.today)) return false;
  return true;
}

function current(f: CachedFacts, treaty: RoutableTreaty, today: string): boolean {
  return (
    f.resourceVersion !== undefined &&
    f.resourceVersion === treaty.metadata.resourceVersion &&
    f.today === today &&
    f.spec === treaty.spec &&
    f.status === treaty.status
  );
}

/** The facts of one treaty at `today`, memoized per object version. */
function treatyFacts(treaty: RoutableTreaty, today: string): CachedFacts {
  const hit = factsCache.get(treaty);
  if (hit !== undefined && current(hit, treaty, today)) return hit;
  const { spec } = treaty;
  const inCluster = spec.provider === IN_CLUSTER_PROVIDER;
  const latencyMs = latencyOf(treaty, inCluster);
  const reputation = reputationOf(treaty);
  const availability = availabilityOf(treaty);
  const name = treaty.metadata.name ?? "";
  const reasons = Object.freeze(stateReasons(treaty, today));
  const stateCandidate =
    reasons.length === 0
      ? undefined
      : Object.freeze({
          treaty: name,
          provider: spec.provider,
          eligible: false,
          reasons,
        } as Candidate);
  const facts: CachedFacts = {
    treaty,
    name,
    provider: spec.provider,
    inCluster,
    stateReasons: reasons,
    stateCandidate,
    regionMask: regionMask(spec.regions),
    latencyMs,
    reputation,
    availability,
    regionsText: list(spec.regions),
    prices: pricesByGpuIndex(spec.pricing),
    priceTexts: GPU_TYPES.map((g) => {
      const p = spec.pricing.find((x) => x.gpuType === g);
      return p === undefined ? undefined : usdPerHour(p.usdPerHour);
    }),
    latencyText: `, latency ${Number.isNaN(latencyMs) ? "unknown" : `${Math.round(latencyMs)}ms`}→`,
    qualityText: `, reputation ${fixed2(reputation)}, availability ${fixed2(availability)}`,
    today,
    resourceVersion: treaty.metadata.resourceVersion,
    spec,
    status: treaty.status,
  };
  if (facts.resourceVersion !== undefined) factsCache.set(treaty, facts);
  return facts;
}

function pricesByGpuIndex(pricing: RoutableTreaty["spec"]["pricing"]): Float64Array {
  const prices = new Float64Array(GPU_TYPES.length).fill(NaN);
  for (const p of pricing) {
    const i = (GPU_TYPES as readonly string[]).indexOf(p.gpuType);
    if (i >= 0) prices[i] = p.usdPerHour;
  }
  return prices;
}

/** Reasons from the treaty's own state at `today`, in a fixed order; empty when routable. */
export function stateReasons(treaty: RoutableTreaty, today: string): string[] {
  const reasons: string[] = [];
  const { spec, status } = treaty;
  if (spec.suspended === true) reasons.push("treaty suspended");
  const notReady = readiness(treaty, today);
  if (notReady !== undefined) reasons.push(notReady);
  const floor = spec.reputationFloor ?? 0;
  // No reputation yet means no evidence against the treaty: it passes the floor (a new
  // treaty must be routable to earn evidence) and is scored at the floor (see ADR 0030).
  if (status?.reputation !== undefined && status.reputation < floor) {
    const [rep, min] = fixedPair(status.reputation, floor);
    reasons.push(`reputation ${rep} below treaty floor ${min}`);
  }
  const quotas = spec.quotas;
  if (quotas?.maxConcurrentJobs !== undefined) {
    const active = status?.activeJobs ?? 0;
    if (active >= quotas.maxConcurrentJobs) {
      reasons.push(`treaty at maxConcurrentJobs ${active}/${quotas.maxConcurrentJobs}`);
    }
  }
  if (quotas?.maxGpuHoursPerMonth !== undefined) {
    const used = status?.gpuHoursThisPeriod ?? 0;
    if (used >= quotas.maxGpuHoursPerMonth) {
      const max = quantity(quotas.maxGpuHoursPerMonth);
      reasons.push(`treaty GPU-hours ${quantity(used)}/${max} this period`);
    }
  }
  return reasons;
}

/**
 * Why the treaty is not routable at `today`, or undefined when it is. The dates are checked
 * against the decision's clock as well as the conditions, so a treaty that expired since the
 * Treaty controller last ran is not chosen. Degraded (SLO breached) counts as not routable.
 */
export function readiness(treaty: RoutableTreaty, today: string): string | undefined {
  const { effectiveDate, expiryDate } = treaty.spec;
  if (effectiveDate !== undefined && effectiveDate > today) {
    return `treaty not Ready: not in force until effectiveDate ${effectiveDate}`;
  }
  if (expiryDate !== undefined && expiryDate <= today) {
    return `treaty not Ready: Expired (expiryDate ${expiryDate})`;
  }
  let ready: string | undefined;
  let readyReason: string | undefined;
  let degradedReason: string | undefined;
  for (const c of treaty.status?.conditions ?? []) {
    if (c.type === "Expired" && c.status === "True") return "treaty not Ready: Expired";
    if (c.type === "Ready") {
      ready = c.status;
      readyReason = c.reason;
    } else if (c.type === "Degraded" && c.status === "True") {
      degradedReason = c.reason ?? "SLO breached";
    }
  }
  if (ready === undefined) return "treaty not Ready: no Ready condition yet";
  if (ready !== "True") return clip(`treaty not Ready: ${readyReason ?? ready}`);
  if (degradedReason !== undefined) return clip(`treaty Degraded: ${degradedReason}`);
  return undefined;
}
