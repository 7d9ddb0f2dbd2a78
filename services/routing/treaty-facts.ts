// What the router knows about a treaty independently of any workload: its own-state reasons
// (suspended, not Ready, reputation below the floor), its measurements, quotas and the texts
// its reasons and explanations are made of. Computed once per treaty object version and
// memoized in a RouterMemo (treaty-snapshot.ts), so a decision over 100 treaties pays for it only when a
// treaty changes.
import {
  GPU_TYPES,
  IN_CLUSTER_PROVIDER,
  TREATY_PROBE_MAX_CONCURRENT_JOBS,
  TREATY_READY_REASONS,
  TreatyDegradedReason,
} from "../../crds/constants.ts";
import { KeyedMemo } from "./memo-keys.ts";
import { addReason, IneligibleReason, type ReasonList } from "./ineligibility.ts";
import { clip, fixed2, fixedPair, list } from "./reason-format.ts";
import type { RouterMemo } from "./router-memo.ts";
import type { Candidate, RoutableCondition, RoutableTreaty } from "./routing-types.ts";
import { availabilityOf, latencyOf, reputationOf } from "./treaty-scoring.ts";

const NO_REASONS: readonly string[] = Object.freeze([]);
const NO_CODES: readonly IneligibleReason[] = Object.freeze([]);
/** Ready reasons whose message names what is missing to reach the provider. */
const ACCESS_REASONS: ReadonlySet<string> = new Set([
  TREATY_READY_REASONS.EndpointMissing,
  TREATY_READY_REASONS.CredentialsMissing,
]);

/** Base verdicts a treaty remembers an over-quota candidate for (cleared when full). */
const MAX_OVER_QUOTA = 64;

interface OverQuota {
  readonly active: number;
  readonly hours: number;
  readonly verdict: Candidate;
}

/** An eligible treaty's candidate in one scoring context, with what ranking compares. */
export interface RankedCandidate {
  readonly facts: TreatyFacts;
  /** Frozen: shared by every decision in the same scoring context. */
  readonly candidate: Candidate;
  readonly score: number;
  /** USD per GPU-hour for the workload's GPU type. */
  readonly price: number;
}

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
  /** The codes of stateReasons, index by index. */
  readonly stateCodes: readonly IneligibleReason[];
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
  /** Quota limits; Infinity when unlimited. Concurrent jobs are capped while probing. */
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
  /** The memo the facts belong to (its ids key the memos below, its bits the region mask). */
  readonly memo: RouterMemo;
  /** The decision (of `memo`) that made these facts (see treaty-snapshot.ts's `memoizing`). */
  readonly madeIn: number;
  #verdicts: KeyedMemo<Candidate | null> | undefined;
  #ranked: KeyedMemo<RankedCandidate> | undefined;
  #overQuota: Map<Candidate | null, OverQuota> | undefined;
  #regionsText: string | undefined;
  #latencyText: string | undefined;
  #qualityText: string | undefined;

  constructor(memo: RouterMemo, treaty: RoutableTreaty, today: string) {
    const { spec, status } = treaty;
    this.memo = memo;
    this.madeIn = memo.decisions;
    this.treaty = treaty;
    this.name = treaty.metadata.name ?? "";
    this.provider = spec.provider;
    this.inCluster = spec.provider === IN_CLUSTER_PROVIDER;
    const state = stateReasons(treaty, today);
    this.stateReasons = state === undefined ? NO_REASONS : Object.freeze(state.reasons);
    this.stateCodes = state === undefined ? NO_CODES : Object.freeze(state.codes);
    this.stateCandidate =
      state === undefined
        ? undefined
        : Object.freeze({
            treaty: this.name,
            provider: this.provider,
            eligible: false,
            reasons: state.reasons,
            codes: state.codes,
          });
    this.regionMask = memo.regions.mask(spec.regions);
    this.latencyMs = latencyOf(treaty, this.inCluster);
    this.reputation = reputationOf(treaty);
    this.availability = availabilityOf(treaty);
    this.prices = pricesByGpuIndex(spec.pricing);
    this.maxConcurrentJobs = Math.min(
      spec.quotas?.maxConcurrentJobs ?? Infinity,
      probing(treaty) ? TREATY_PROBE_MAX_CONCURRENT_JOBS : Infinity,
    );
    this.maxGpuHoursPerMonth = spec.quotas?.maxGpuHoursPerMonth ?? Infinity;
    this.activeJobs = status?.activeJobs ?? 0;
    this.gpuHoursThisPeriod = status?.gpuHoursThisPeriod ?? 0;
    this.today = today;
    this.resourceVersion = treaty.metadata.resourceVersion;
    this.spec = spec;
    this.status = status;
  }

  /**
   * The memoized verdict (ineligible candidate, or null) for a workload shape (an id of the
   * memo's shapeIds), leaving quotas aside.
   */
  verdictFor(shapeId: number): Candidate | null | undefined {
    return this.#verdicts?.get(shapeId);
  }

  /** Memoizes a verdict for a workload shape; the candidate is frozen, as it is shared. */
  rememberVerdict(shapeId: number, verdict: Candidate | null): void {
    if (verdict !== null && !Object.isFrozen(verdict)) {
      Object.freeze(verdict.reasons);
      Object.freeze(verdict.codes);
      Object.freeze(verdict);
    }
    (this.#verdicts ??= new KeyedMemo(this.memo.shapeIds)).set(shapeId, verdict);
  }

  /**
   * The memoized candidate of a treaty over a quota: the verdict `base` (from verdictFor)
   * with the quota reasons of usage `active` jobs and `hours` GPU-hours appended. Only the
   * last usage is remembered per base verdict: a full treaty stays full between decisions.
   */
  overQuotaFor(base: Candidate | null, active: number, hours: number): Candidate | undefined {
    const memo = this.#overQuota?.get(base);
    return memo !== undefined && memo.active === active && memo.hours === hours
      ? memo.verdict
      : undefined;
  }

  /** Memoizes a candidate over a quota (see overQuotaFor); it is frozen, as it is shared. */
  rememberOverQuota(
    base: Candidate | null,
    active: number,
    hours: number,
    verdict: Candidate,
  ): void {
    Object.freeze(verdict.reasons);
    Object.freeze(verdict.codes);
    Object.freeze(verdict);
    const memo = (this.#overQuota ??= new Map());
    if (memo.size >= MAX_OVER_QUOTA) memo.clear();
    memo.set(base, { active, hours, verdict });
  }

  /** The memoized scored candidate for a scoring context (an id of the memo's scoringIds). */
  rankedFor(scoringId: number): RankedCandidate | undefined {
    return this.#ranked?.get(scoringId);
  }

  /** Memoizes a scored candidate; the candidate is frozen, as it is shared. */
  rememberRanked(scoringId: number, ranked: RankedCandidate): void {
    Object.freeze(ranked.candidate.reasons);
    Object.freeze(ranked.candidate);
    (this.#ranked ??= new KeyedMemo(this.memo.scoringIds)).set(scoringId, ranked);
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
 * floor — in that order, with their codes; undefined when routable. Quotas are checked per
 * decision (they move with every placement): see quotaReasons in treaty-eligibility.ts.
 */
export function stateReasons(treaty: RoutableTreaty, today: string): ReasonList | undefined {
  let out: ReasonList | undefined;
  const { spec, status } = treaty;
  if (spec.suspended === true) out = addReason(out, IneligibleReason.Suspended, "treaty suspended");
  const notReady = readinessReason(treaty, today);
  if (notReady !== undefined) out = addReason(out, notReady.code, notReady.text);
  const floor = spec.reputationFloor ?? 0;
  // No reputation yet means no evidence against the treaty: it passes the floor (a new
  // treaty must be routable to earn evidence) and is scored at the floor (see ADR 0030).
  if (status?.reputation !== undefined && status.reputation < floor) {
    const [rep, min] = fixedPair(status.reputation, floor);
    out = addReason(
      out,
      IneligibleReason.ReputationBelowFloor,
      `reputation ${rep} below treaty floor ${min}`,
    );
  }
  return out;
}

/**
 * Whether the treaty is half-open after an availability breach (Degraded False, reason
 * Probing): routable for at most TREATY_PROBE_MAX_CONCURRENT_JOBS jobs (ADR 0134).
 */
export function probing(treaty: RoutableTreaty): boolean {
  for (const c of treaty.status?.conditions ?? []) {
    if (c.type === "Degraded")
      return c.status === "False" && c.reason === TreatyDegradedReason.Probing;
  }
  return false;
}

/**
 * Why the treaty is not routable at `today`, or undefined when it is. The dates are checked
 * against the decision's clock as well as the conditions, so a treaty that expired since the
 * Treaty controller last ran is not chosen. Degraded (SLO breached) counts as not routable.
 */
export function readiness(treaty: RoutableTreaty, today: string): string | undefined {
  return readinessReason(treaty, today)?.text;
}

/** {@link readiness} with its code: NotReady, or Degraded for a Ready but Degraded treaty. */
export function readinessReason(
  treaty: RoutableTreaty,
  today: string,
): { readonly code: IneligibleReason; readonly text: string } | undefined {
  const notReady = (text: string): { code: IneligibleReason; text: string } => ({
    code: IneligibleReason.NotReady,
    text,
  });
  const { effectiveDate, expiryDate } = treaty.spec;
  if (effectiveDate !== undefined && effectiveDate > today) {
    return notReady(`treaty not Ready: not in force until effectiveDate ${effectiveDate}`);
  }
  if (expiryDate !== undefined && expiryDate <= today) {
    return notReady(`treaty not Ready: Expired (expiryDate ${expiryDate})`);
  }
  let ready: RoutableCondition | undefined;
  let degradedReason: string | undefined;
  for (const c of treaty.status?.conditions ?? []) {
    if (c.type === "Expired" && c.status === "True") return notReady("treaty not Ready: Expired");
    if (c.type === "Ready") {
      ready = c;
    } else if (c.type === "Degraded" && c.status === "True") {
      degradedReason = c.reason ?? "SLO breached";
    }
  }
  if (ready === undefined) return notReady("treaty not Ready: no Ready condition yet");
  if (ready.status !== "True") {
    const reason = ready.reason ?? ready.status;
    // A provider that cannot be reached as configured: say what is missing.
    return notReady(
      ACCESS_REASONS.has(reason) && ready.message
        ? clip(`treaty not Ready: ${reason}: ${ready.message}`)
        : clip(`treaty not Ready: ${reason}`),
    );
  }
  if (degradedReason !== undefined) {
    return { code: IneligibleReason.Degraded, text: clip(`treaty Degraded: ${degradedReason}`) };
  }
  return undefined;
}
