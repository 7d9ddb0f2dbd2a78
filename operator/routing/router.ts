// The router: checks every treaty against the workload's hard constraints, scores the eligible
// ones, and returns the choice with every candidate ranked and explained. Pure: the clock is an
// input, nothing is read or written elsewhere, and the same input gives the same output.
import { clip, usdPerHour } from "./reason-format.ts";
import type { Candidate, RouteDecision, RouteInput } from "./routing-types.ts";
import {
  eligibilityContext,
  pickRegion,
  priceOf,
  quotaReasons,
  workloadReasons,
  type EligibilityContext,
} from "./treaty-eligibility.ts";
import { sortedFacts, type TreatyFacts } from "./treaty-facts.ts";
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

/** An eligible treaty with its measurements and score. */
interface Scored extends ScoreInputs {
  readonly facts: TreatyFacts;
  score: number;
}

/**
 * Routes a workload: returns the best eligible treaty (`chosen`, with `placement`) and every
 * treaty considered (`candidates`): eligible ones by score descending, then price ascending,
 * then name ascending; then ineligible ones by name (a pinned `treatyRef` first), each with
 * every reason it is ineligible. Deterministic: the treaties' order does not matter.
 *
 * Treaties are read as immutable values, as informer caches hand them out. Facts that depend
 * only on a treaty are memoized while its `metadata.resourceVersion` (and spec and status
 * objects) are unchanged, and the name order while the same array holds the same treaties:
 * pass the same array between decisions for the fast path.
 */
export function route(input: RouteInput): RouteDecision {
  const ctx = eligibilityContext(input);
  const strategy = input.spec.routing?.strategy ?? "balanced";
  const profile = input.spec.profile ?? "batch";
  const { eligible, ineligible, bests } = partition(sortedFacts(input.treaties, ctx.today), ctx);
  const weights = STRATEGY_WEIGHTS[strategy];
  for (const s of eligible) s.score = scoreOf(s, bests, weights, profile);
  // Stable sort over name-ordered input: equal score and price stay in name order.
  eligible.sort(byRank);

  const candidates: Candidate[] = [];
  const suffixInCluster = explanationSuffix(strategy, profile, true);
  const suffixExternal = explanationSuffix(strategy, profile, false);
  for (const s of eligible) {
    const f = s.facts;
    const text = usdPerHour(s.price);
    const suffix = s.inCluster ? suffixInCluster : suffixExternal;
    candidates.push({
      treaty: f.name,
      provider: f.provider,
      eligible: true,
      score: s.score,
      reasons: [explainScore(s, bests, text, f, suffix)],
    });
  }
  for (const c of ineligible) candidates.push(c);

  const best = eligible[0];
  if (best === undefined) return { candidates };
  const region = pickRegion(best.facts.treaty, ctx);
  const placement = {
    treaty: best.facts.name,
    provider: best.facts.provider,
    ...(region === undefined ? {} : { region }),
    pricePerHour: best.price,
    score: best.score,
  };
  return { chosen: candidates[0], placement, candidates };
}

interface Partition {
  readonly eligible: Scored[];
  /** Ineligible candidates by name, the pinned treaty (or its "does not exist") first. */
  readonly ineligible: Candidate[];
  /** Lowest price and latency among the eligible, floors applied. */
  readonly bests: Bests;
}

/** Splits name-ordered treaties into eligible ones (unscored) and ineligible candidates. */
function partition(sorted: readonly TreatyFacts[], ctx: EligibilityContext): Partition {
  const eligible: Scored[] = [];
  const ineligible: Candidate[] = [];
  let bestPrice = Infinity;
  let bestLatency = Infinity;
  let pinnedAt = -1;
  for (const facts of sorted) {
    const price = priceOf(facts, ctx);
    const verdict = verdictOf(facts, ctx, price);
    if (verdict === null) {
      if (price < bestPrice) bestPrice = price;
      if (facts.latencyMs < bestLatency) bestLatency = facts.latencyMs;
      eligible.push({
        facts,
        price,
        latencyMs: facts.latencyMs,
        reputation: facts.reputation,
        availability: facts.availability,
        inCluster: facts.inCluster,
        score: 0,
      });
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
    });
  }
  const bests = {
    price: Math.max(bestPrice, PRICE_FLOOR_USD),
    latencyMs: Math.max(bestLatency, LATENCY_FLOOR_MS),
  };
  return { eligible, ineligible, bests };
}

/**
 * The treaty's ineligible candidate, or null when it is eligible. Memoized per treaty version
 * and workload shape (EligibilityContext.shape) unless a quota is exceeded — quota usage moves
 * with every placement — so workloads of the same shape pay for their reasons once.
 */
function verdictOf(facts: TreatyFacts, ctx: EligibilityContext, price: number): Candidate | null {
  const quota = quotaReasons(facts, ctx.usage?.get(facts.name));
  const shape = quota === undefined ? ctx.shape : undefined;
  if (shape !== undefined) {
    const memo = facts.verdictFor(shape);
    if (memo !== undefined) return memo;
  }
  const reasons = workloadReasons(facts, ctx, price);
  let verdict: Candidate | null;
  if (reasons === undefined && quota === undefined) {
    verdict = facts.stateCandidate ?? null;
  } else {
    const all = reasons ?? [];
    for (const r of facts.stateReasons) all.push(r);
    if (quota !== undefined) for (const r of quota) all.push(r);
    verdict = { treaty: facts.name, provider: facts.provider, eligible: false, reasons: all };
  }
  if (shape !== undefined) facts.rememberVerdict(shape, verdict);
  return verdict;
}

/** Score descending, then price ascending, then name ascending (code-unit order). */
function byRank(a: Scored, b: Scored): number {
  return b.score - a.score || a.price - b.price || compareNames(a.facts.name, b.facts.name);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
