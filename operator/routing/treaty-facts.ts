// What the router knows about a treaty independently of any workload: its own-state reasons
// (suspended, not Ready, reputation below the floor), its measurements, quotas and the texts
// its reasons and explanations are made of. Computed once per treaty object version and
// memoized, so a decision over 100 treaties pays for it only when a treaty changes.
import { GPU_TYPES, IN_CLUSTER_PROVIDER } from "../../crds/index.ts";
import { clip, fixed2, fixedPair, list } from "./reason-format.ts";
import { regionMask } from "./region-mask.ts";
import type { Candidate, RoutableTreaty } from "./routing-types.ts";
import { availabilityOf, latencyOf, reputationOf } from "./treaty-scoring.ts";

const NO_REASONS: readonly string[] = Object.freeze([]);
/** Workload shapes a treaty remembers verdicts for (cleared when full). */
const MAX_SHAPES = 64;

/**
 * What is known about one treaty at one day, independently of the workload. Cheap to build
 * (texts are rendered on first use) because callers that copy treaties per decision get a
 * new one every time.
 */
export class TreatyFacts {
  readonly treaty: RoutableTreaty;
  readonly name: string;
  readonly provider: string;
  /** Whether the treaty is the cluster's own GPU pool (the "GPU core"). */
  readonly inCluster: boolean;
  /** Reasons from the treaty's own state (suspended, not Ready, reputation), frozen. */
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
  /** USD per GPU-hour by index in GPU_TYPES; NaN where the treaty does not price the type. */
  readonly prices: readonly number[];
  /** Quota limits; Infinity when unlimited. */
  readonly maxConcurrentJobs: number;
  readonly maxGpuHoursPerMonth: number;
  /** Usage from the treaty's status (route()'s `usage` input overrides it). */
  readonly activeJobs: number;
  readonly gpuHoursThisPeriod: number;
  /** What the memo was computed from. */
  readonly today: string;
  readonly resourceVersion: string | undefined;
  readonly spec: RoutableTreaty["spec"];
  readonly status: RoutableTreaty["status"];
  #verdicts: Map<string, Candidate | null> | undefined;
  #regionsText: string | undefined;
  #latencyText: string | undefined;
  #qualityText: string | undefined;

  constructor(treaty: RoutableTreaty, today: string) {
    const { spec, status } = treaty;
    this.treaty = treaty;
    this.name = treaty.metadata.name ?? "";
    this.provider = spec.provider;
    this.inCluster = spec.provider === IN_CLUSTER_PROVIDER;
    const reasons = stateReasons(treaty, today);
    this.stateReasons = reasons.length === 0 ? NO_REASONS : Object.freeze(reasons);
    this.stateCandidate =
      reasons.length === 0
        ? undefined
        : (Object.freeze({
            treaty: this.name,
            provider: this.provider,
            eligible: false,
            reasons: this.stateReasons,
          }) as Candidate);
    this.regionMask = regionMask(spec.regions);
    this.latencyMs = latencyOf(treaty, this.inCluster);
    this.reputation = reputationOf(treaty);
    this.availability = availabilityOf(treaty);
    this.prices = pricesByGpuIndex(spec.pricing);
    this.maxConcurrentJobs = spec.quotas?.maxConcurrentJobs ?? Infinity;
    this.maxGpuHoursPerMonth = spec.quotas?.maxGpuHoursPerMonth ?? Infinity;
    this.activeJobs = status?.activeJobs ?? 0;
    this.gpuHoursThisPeriod = status?.gpuHoursThisPeriod ?? 0;
    this.today = today;
    this.resourceVersion = treaty.metadata.resourceVersion;
    this.spec = spec;
    this.status = status;
  }

  /** The memoized verdict (ineligible candidate, or null) for a workload shape. */
  verdictFor(shape: string): Candidate | null | undefined {
    return this.#verdicts?.get(shape);
  }

  /** Memoizes a verdict for a workload shape; the candidate is frozen, as it is shared. */
  rememberVerdict(shape: string, verdict: Candidate | null): void {
    const verdicts = (this.#verdicts ??= new Map());
    if (verdicts.size >= MAX_SHAPES) verdicts.clear();
    if (verdict !== null && !Object.isFrozen(verdict)) {
      Object.freeze(verdict.reasons);
      Object.freeze(verdict);
    }
    verdicts.set(shape, verdict);
  }

  /** `[a, b]` rendering of the treaty's regions. */
  get regionsText(): string {
    return (this.#regionsText ??= list(this.spec.regions));
  }

  /** `, latency 120ms→` (or `unknown`): the latency part of a score explanation. */
  get latencyText(): string {
    const ms = this.latencyMs;
    return (this.#latencyText ??= `, latency ${Number.isNaN(ms) ? "unknown" : `${Math.round(ms)}ms`}→`);
  }

  /** `, reputation 0.95, availability 0.99`: the rest of a score explanation. */
  get qualityText(): string {
    return (this.#qualityText ??= `, reputation ${fixed2(this.reputation)}, availability ${fixed2(this.availability)}`);
  }
}

/** The treaties of one route() input in name order, with their facts. */
interface Snapshot {
  readonly today: string;
  /** The input's elements in input order. */
  readonly source: readonly RoutableTreaty[];
  readonly sorted: readonly TreatyFacts[];
}

// Memos hold only treaties with a metadata.resourceVersion (read from the apiserver) and are
// checked on every hit: same resourceVersion, same spec and status objects, same day. A
// hand-built treaty without a resourceVersion is recomputed on every call, so one mutated in
// place is seen as it is now. Plain Maps, not WeakMaps: callers that copy treaties per
// decision would otherwise fill WeakMaps with short-lived keys, which V8's GC pays for dearly.
const factsByName = new Map<string, TreatyFacts>();
/** Bound on factsByName: cleared when it outgrows the treaties seen by this much. */
const FACTS_SLACK = 1024;
let last: Snapshot | undefined;

/**
 * The facts of every treaty at `today`, sorted by name (code-unit order). When the input holds
 * the same treaty objects in the same order as last time (an informer cache's list does, until
 * something changes), the previous result is reused: a decision then costs one pass of
 * pointer comparisons here. Otherwise facts are memoized per treaty version.
 */
export function sortedFacts(
  treaties: readonly RoutableTreaty[],
  today: string,
): readonly TreatyFacts[] {
  if (last !== undefined && last.today === today && unchanged(last, treaties)) return last.sorted;
  if (factsByName.size > treaties.length + FACTS_SLACK) factsByName.clear();
  const sorted = treaties.map((t) => treatyFacts(t, today));
  sorted.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const cacheable = sorted.every((f) => f.resourceVersion !== undefined);
  last = cacheable ? { today, source: treaties.slice(), sorted } : undefined;
  return sorted;
}

function unchanged(snapshot: Snapshot, treaties: readonly RoutableTreaty[]): boolean {
  const { source } = snapshot;
  if (source.length !== treaties.length) return false;
  for (let i = 0; i < source.length; i++) if (treaties[i] !== source[i]) return false;
  for (const f of snapshot.sorted) if (!current(f, f.treaty, f.today)) return false;
  return true;
}

function current(f: TreatyFacts, treaty: RoutableTreaty, today: string): boolean {
  return (
    f.resourceVersion !== undefined &&
    f.resourceVersion === treaty.metadata.resourceVersion &&
    f.today === today &&
    f.spec === treaty.spec &&
    f.status === treaty.status
  );
}

/** The facts of one treaty at `today`, memoized per object version. */
function treatyFacts(treaty: RoutableTreaty, today: string): TreatyFacts {
  const hit = factsByName.get(treaty.metadata.name ?? "");
  if (hit !== undefined && current(hit, treaty, today)) return hit;
  const facts = new TreatyFacts(treaty, today);
  if (facts.resourceVersion !== undefined) factsByName.set(facts.name, facts);
  return facts;
}

function pricesByGpuIndex(pricing: RoutableTreaty["spec"]["pricing"]): number[] {
  const prices: number[] = [];
  for (let i = 0; i < GPU_TYPES.length; i++) prices.push(NaN);
  for (const p of pricing) {
    const i = (GPU_TYPES as readonly string[]).indexOf(p.gpuType);
    if (i >= 0) prices[i] = p.usdPerHour;
  }
  return prices;
}

/**
 * Reasons from the treaty's own state at `today` — suspended, not Ready, reputation below the
 * floor — in that order; empty when routable. Quotas are checked per decision (they move with
 * every placement): see quotaReasons in treaty-eligibility.ts.
 */
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
