// The router: checks every treaty against the workload's hard constraints, scores the eligible
// ones, and returns the choice with every candidate ranked and explained. Pure: the clock is an
// input, nothing is read or written elsewhere, and the same input gives the same output.
import { DEFAULT_ROUTING_STRATEGY } from "../../crds/constants.ts";
import { IneligibleReason } from "./ineligibility.ts";
import { clip, usdPerHour } from "./reason-format.ts";
import type {
  Candidate,
  StatusCandidate,
  RouteDecision,
  RouteInput,
  RoutingStrategy,
  WorkloadProfile,
} from "./routing-types.ts";
import {
  capacityReasons,
  eligibilityContext,
  pickRegion,
  priceOf,
  quotaReasons,
  workloadReasons,
  type EligibilityContext,
} from "./treaty-eligibility.ts";
import { RouterMemo } from "./router-memo.ts";
import type { RankedCandidate, TreatyFacts } from "./treaty-facts.ts";
import {
  memoizing,
  treatySnapshot,
  type Ranking,
  type ScoringMemo,
  type TreatySnapshot,
} from "./treaty-snapshot.ts";
import {
  explainScore,
  explanationSuffix,
  LATENCY_FLOOR_MS,
  PRICE_FLOOR_USD,
  scoreOf,
  STRATEGY_WEIGHTS,
  type Bests,
  type ScoreInputs,
} from "./treaty-scoring.ts";

/** Most entries `status.candidates` holds; route() returns all, the status keeps the first. */
export const MAX_STATUS_CANDIDATES = 64;

/**
 * Routes a workload: returns the best eligible treaty (`chosen`, with `placement`) and every
 * treaty considered (`candidates`): eligible ones by score descending, then price ascending,
 * then name ascending; then ineligible ones by name (a pinned `treatyRef` first), each with
 * every reason it is ineligible. Deterministic: the treaties' order does not matter.
 *
 * Treaties are read as immutable values, as informer caches hand them out. With a `memo`
 * (its owner passes the same RouterMemo to every call), facts that depend only on a treaty
 * are memoized while its `metadata.resourceVersion` (and spec and status
 * objects) are unchanged, and the name order while the same array holds the same treaties:
 * pass the same array between decisions for the fast path. From the second decision over the
 * same treaty versions, verdicts, scored candidates and the ranking are memoized per workload
 * shape and scoring context: candidates are then shared between decisions, and frozen. The
 * `candidates` array itself is new on every call. Without a memo nothing outlives the call.
 * The decision is the same with or without a memo.
 */
export function route(input: RouteInput, memo: RouterMemo = new RouterMemo()): RouteDecision {
  const ctx = eligibilityContext(input, memo);
  const strategy = input.spec.routing?.strategy ?? DEFAULT_ROUTING_STRATEGY;
  const profile = input.spec.profile ?? "batch";
  const snapshot = treatySnapshot(memo, input.treaties, ctx.today);
  const { eligible, ineligible, bests } = partition(snapshot, ctx);
  if (eligible.length === 0) return { candidates: ineligible };
  const scoring = new Scoring(memo, ctx.gpuIndex, strategy, profile, bests);
  const remembered = memoizing(snapshot) ? snapshot.scoringFor(scoring.id) : undefined;
  const last = remembered?.last;
  const { best, order } =
    last !== undefined && samePositions(last.eligible, eligible)
      ? last
      : rank(snapshot, eligible, scoring, ctx, remembered);
  const candidates = order.concat(ineligible);
  const region = pickRegion(best.facts.treaty, ctx);
  const placement = {
    treaty: best.facts.name,
    provider: best.facts.provider,
    ...(region === undefined ? {} : { region }),
    pricePerHour: best.price,
    score: best.score,
  };
  return { chosen: best.candidate, placement, candidates };
}

/**
 * One decision's scoring context: the eligible treaties' scores and explanations depend on
 * nothing else, so each treaty memoizes its scored candidate per context (the memo's
 * scoringIds).
 */
class Scoring {
  readonly id: number;
  readonly #strategy: RoutingStrategy;
  readonly #profile: WorkloadProfile;
  readonly #bests: Bests;
  #suffixInCluster: string | undefined;
  #suffixExternal: string | undefined;

  constructor(
    memo: RouterMemo,
    gpuIndex: number,
    strategy: RoutingStrategy,
    profile: WorkloadProfile,
    bests: Bests,
  ) {
    this.#strategy = strategy;
    this.#profile = profile;
    this.#bests = bests;
    const key = `${gpuIndex}|${strategy}|${profile}|${bests.price}|${bests.latencyMs}`;
    this.id = memo.scoringIds.id(key);
  }

  /** The eligible treaty's scored candidate, from its memo or made (and remembered) now. */
  rank(facts: TreatyFacts, price: number): RankedCandidate {
    const memoized = memoizing(facts);
    const memo = memoized ? facts.rankedFor(this.id) : undefined;
    if (memo !== undefined) return memo;
    const bests = this.#bests;
    const m = { price, ...measurements(facts) };
    const score = scoreOf(m, bests, STRATEGY_WEIGHTS[this.#strategy], this.#profile);
    const suffix = this.#suffix(facts.inCluster);
    const candidate: Candidate = {
      treaty: facts.name,
      provider: facts.provider,
      eligible: true,
      score,
      reasons: [explainScore(m, bests, usdPerHour(price), facts, suffix)],
    };
    const ranked = { facts, candidate, score, price };
    if (memoized) facts.rememberRanked(this.id, ranked);
    return ranked;
  }

  #suffix(inCluster: boolean): string {
    if (inCluster) {
      return (this.#suffixInCluster ??= explanationSuffix(this.#strategy, this.#profile, true));
    }
    return (this.#suffixExternal ??= explanationSuffix(this.#strategy, this.#profile, false));
  }
}

function measurements(facts: TreatyFacts): Omit<ScoreInputs, "price"> {
  return {
    latencyMs: facts.latencyMs,
    reputation: facts.reputation,
    availability: facts.availability,
    inCluster: facts.inCluster,
  };
}

/**
 * Ranks the eligible treaties (positions in the snapshot, name order, at least one), and
 * remembers the ranking in `memo`: ranking is a pure function of the positions within one
 * snapshot and scoring context, and decisions between two treaty or usage changes rank the
 * same positions, so they reuse it.
 */
function rank(
  snapshot: TreatySnapshot,
  eligible: readonly number[],
  scoring: Scoring,
  ctx: EligibilityContext,
  memo: ScoringMemo | undefined,
): Ranking {
  const { sorted } = snapshot;
  const ranked: RankedCandidate[] = [];
  for (const i of eligible) {
    const facts = sorted[i]!;
    let r = memo?.ranked[i];
    if (r === undefined) r = scoring.rank(facts, priceOf(facts, ctx));
    if (memo !== undefined) memo.ranked[i] = r;
    ranked.push(r);
  }
  // Stable sort over name-ordered input: equal score and price stay in name order.
  ranked.sort(byRank);
  const ranking = { eligible, best: ranked[0]!, order: ranked.map((r) => r.candidate) };
  if (memo !== undefined) memo.last = ranking;
  return ranking;
}

function samePositions(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Partition {
  /** Positions of the eligible treaties in the snapshot (name order). */
  readonly eligible: number[];
  /** Ineligible candidates by name, the pinned treaty (or its "does not exist") first. */
  readonly ineligible: Candidate[];
  /** Lowest price and latency among the eligible, floors applied. */
  readonly bests: Bests;
}

/** Splits the snapshot's treaties into eligible ones (unscored) and ineligible candidates. */
function partition(snapshot: TreatySnapshot, ctx: EligibilityContext): Partition {
  const eligible: number[] = [];
  const ineligible: Candidate[] = [];
  const sorted = snapshot.sorted;
  const shape = ctx.shape;
  const memo = shape !== undefined && memoizing(snapshot) ? snapshot.verdictsFor(shape) : [];
  let bestPrice = Infinity;
  let bestLatency = Infinity;
  let pinnedAt = -1;
  for (let i = 0; i < sorted.length; i++) {
    const facts = sorted[i]!;
    const price = priceOf(facts, ctx);
    let base = memo[i];
    if (base === undefined) memo[i] = base = baseVerdict(facts, ctx, price);
    const verdict = withCapacity(withQuotas(base, facts, ctx), facts, ctx);
    if (verdict === null) {
      if (price < bestPrice) bestPrice = price;
      if (facts.latencyMs < bestLatency) bestLatency = facts.latencyMs;
      eligible.push(i);
      continue;
    }
    if (facts.name === ctx.pinned) pinnedAt = ineligible.length;
    ineligible.push(verdict);
  }
  if (pinnedAt > 0) {
    ineligible.unshift(ineligible.splice(pinnedAt, 1)[0]!);
  } else if (ctx.pinned !== undefined && pinnedAt < 0 && eligible.length === 0) {
    ineligible.unshift({
      treaty: ctx.pinned,
      eligible: false,
      reasons: [clip(`routing.treatyRef names treaty ${ctx.pinned}, which does not exist`)],
      codes: [IneligibleReason.PinnedTreatyMissing],
    });
  }
  const bests = {
    price: Math.max(bestPrice, PRICE_FLOOR_USD),
    latencyMs: Math.max(bestLatency, LATENCY_FLOOR_MS),
  };
  return { eligible, ineligible, bests };
}

/**
 * The treaty's ineligible candidate, or null when it is eligible: its verdict without quotas
 * (`base`, from baseVerdict) with quota reasons appended when over one. Quota usage moves
 * with every placement, so it is checked every time; a candidate over a quota is memoized for
 * the last usage seen (a full treaty stays full between decisions).
 */
function withQuotas(
  base: Candidate | null,
  facts: TreatyFacts,
  ctx: EligibilityContext,
): Candidate | null {
  const usage = ctx.usage?.get(facts.name);
  const active = usage?.activeJobs ?? facts.activeJobs;
  const hours = usage?.gpuHoursThisPeriod ?? facts.gpuHoursThisPeriod;
  if (!(active >= facts.maxConcurrentJobs) && !(hours >= facts.maxGpuHoursPerMonth)) return base;
  const memoized = ctx.shape !== undefined && memoizing(facts);
  const memo = memoized ? facts.overQuotaFor(base, active, hours) : undefined;
  if (memo !== undefined) return memo;
  const reasons = base === null ? [] : base.reasons!.slice();
  const codes = base === null ? [] : base.codes!.slice();
  const quota = quotaReasons(facts, usage);
  if (quota !== undefined) {
    for (const r of quota.reasons) reasons.push(r);
    for (const c of quota.codes) codes.push(c);
  }
  const verdict = {
    treaty: facts.name,
    provider: facts.provider,
    eligible: false,
    reasons,
    codes,
  };
  if (memoized) facts.rememberOverQuota(base, active, hours, verdict);
  return verdict;
}

/**
 * The verdict with the in-cluster pool's capacity reason appended when no node of the pool
 * holds the workload's GPUs (capacityReasons); as it is, otherwise. Nodes change between
 * decisions, so this is never memoized; it allocates only for a workload that does not fit.
 */
function withCapacity(
  verdict: Candidate | null,
  facts: TreatyFacts,
  ctx: EligibilityContext,
): Candidate | null {
  if (!facts.inCluster) return verdict;
  const capacity = capacityReasons(facts, ctx);
  if (capacity === undefined) return verdict;
  return {
    treaty: facts.name,
    provider: facts.provider,
    eligible: false,
    reasons: [...(verdict?.reasons ?? []), ...capacity.reasons],
    codes: [...(verdict?.codes ?? []), ...capacity.codes],
  };
}

/**
 * The treaty's verdict leaving quotas aside (workload reasons, then its own state's), or null
 * when nothing but quotas could make it ineligible. Memoized per treaty version and workload
 * shape (EligibilityContext.shape), so workloads of the same shape pay for their reasons once.
 */
function baseVerdict(facts: TreatyFacts, ctx: EligibilityContext, price: number): Candidate | null {
  const shape = memoizing(facts) ? ctx.shape : undefined;
  if (shape !== undefined) {
    const memo = facts.verdictFor(shape);
    if (memo !== undefined) return memo;
  }
  const found = workloadReasons(facts, ctx, price);
  let verdict: Candidate | null;
  if (found === undefined) {
    verdict = facts.stateCandidate ?? null;
  } else {
    const { reasons, codes } = found;
    for (const r of facts.stateReasons) reasons.push(r);
    for (const c of facts.stateCodes) codes.push(c);
    verdict = { treaty: facts.name, provider: facts.provider, eligible: false, reasons, codes };
  }
  if (shape !== undefined) facts.rememberVerdict(shape, verdict);
  return verdict;
}

/** Score descending, then price ascending, then name ascending (code-unit order). */
function byRank(a: RankedCandidate, b: RankedCandidate): number {
  return (
    b.score - a.score || a.price - b.price || compareNames(a.candidate.treaty, b.candidate.treaty)
  );
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The decision's candidates as `status.candidates` holds them: the first
 * MAX_STATUS_CANDIDATES, without their reason codes (the API has no field for them).
 */
export function statusCandidates(decision: RouteDecision): StatusCandidate[] {
  return decision.candidates.slice(0, MAX_STATUS_CANDIDATES).map(toStatusCandidate);
}

function toStatusCandidate({ codes: _codes, ...c }: Candidate): StatusCandidate {
  return c;
}

/**
 * One line for a condition message: the choice and how many treaties were eligible, or, when
 * none is, each candidate's reasons (`no eligible treaty among 3: a: treaty suspended; b: …`),
 * cut at `maxLength` characters.
 */
export function describeDecision(decision: RouteDecision, maxLength = 1024): string {
  const { placement, candidates } = decision;
  let s: string;
  if (placement !== undefined) {
    const eligible = candidates.filter((c) => c.eligible).length;
    const where = placement.region === undefined ? "" : ` in ${placement.region}`;
    s =
      `routed to treaty ${placement.treaty} (${placement.provider}${where}) at ` +
      `${usdPerHour(placement.pricePerHour)}, score ${placement.score ?? 0}; ` +
      `${eligible} of ${candidates.length} treaties eligible`;
  } else if (candidates.length === 0) {
    s = "no eligible treaty: no Treaty exists";
  } else {
    const parts = candidates.map((c) => `${c.treaty}: ${(c.reasons ?? []).join(", ")}`);
    s = `no eligible treaty among ${candidates.length}: ${parts.join("; ")}`;
  }
  return s.length <= maxLength ? s : s.slice(0, maxLength - 1) + "…";
}
