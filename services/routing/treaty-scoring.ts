// The seed's score (price 0.3, latency 0.3, reputation 0.2, availability 0.2) made independent
// of units: price and latency are scored as a ratio to the best eligible candidate, reputation
// and availability are fractions already. Why ratio-to-best: docs/adr/0030.
import { fixed2 } from "./reason-format.ts";
import type { RoutableTreaty, RoutingStrategy, WorkloadProfile } from "./routing-types.ts";

/** Weights of the four score components; they sum to 1, so a score lies in 0..1. */
export interface Weights {
  readonly price: number;
  readonly latency: number;
  readonly reputation: number;
  readonly availability: number;
}

/**
 * Weights per strategy. `balanced` is the seed's; `cheapest` and `fastest` give 0.7 to their
 * component and 0.1 to each other one, so a much better other component (e.g. 10× lower
 * latency) can still outweigh a small price difference — a preference, not a lexicographic
 * order.
 */
export const STRATEGY_WEIGHTS: Readonly<Record<RoutingStrategy, Weights>> = {
  balanced: { price: 0.3, latency: 0.3, reputation: 0.2, availability: 0.2 },
  cheapest: { price: 0.7, latency: 0.1, reputation: 0.1, availability: 0.1 },
  fastest: { price: 0.1, latency: 0.7, reputation: 0.1, availability: 0.1 },
};

/**
 * Share of the score given to the hybrid principle for `steady` and `bursty` workloads: the
 * score is `(1 − 0.1) × weighted + 0.1 × fit`, fit 1 when the treaty is of the preferred kind
 * (in-cluster GPU core for steady, an external API-edge provider for bursty), else 0. Keeps
 * scores in 0..1; the preferred kind wins unless the other is better by more than 0.111 of
 * weighted score. `batch` has no preference.
 */
export const PROFILE_AFFINITY = 0.1;

/** Latencies below this are treated as equal (same data centre), so 0 ms cannot win all. */
export const LATENCY_FLOOR_MS = 10;
/** Prices below this are treated as equal, so a free treaty does not zero every other one. */
export const PRICE_FLOOR_USD = 0.01;

/** Score decimals kept: scores are compared (tie-break) and written to status rounded. */
export const SCORE_DECIMALS = 4;
const SCORE_SCALE = 10 ** SCORE_DECIMALS;

/** The raw, unit-bearing measurements of one eligible treaty. */
export interface ScoreInputs {
  /** USD per GPU-hour. */
  readonly price: number;
  /** p95 RTT in ms; NaN when unknown. */
  readonly latencyMs: number;
  /** 0..1. */
  readonly reputation: number;
  /** 0..1. */
  readonly availability: number;
  /** Whether the treaty is the cluster's own GPU pool. */
  readonly inCluster: boolean;
}

/** The best (lowest) price and latency among the eligible candidates, floors applied. */
export interface Bests {
  readonly price: number;
  readonly latencyMs: number;
}

/**
 * The latency the router assumes: measured p95 RTT; else the SLO's maxLatencyMs (declared
 * worst case); for the in-cluster pool without a measurement, the floor (it is local);
 * otherwise NaN (unknown, scored 0).
 */
export function latencyOf(treaty: RoutableTreaty, inCluster: boolean): number {
  const measured = treaty.status?.latencyMs;
  if (measured !== undefined) return measured;
  const declared = treaty.spec.slo?.maxLatencyMs;
  if (declared !== undefined) return declared;
  return inCluster ? LATENCY_FLOOR_MS : NaN;
}

/** Reputation from evidence; the treaty's floor while there is none yet. */
export function reputationOf(treaty: RoutableTreaty): number {
  return treaty.status?.reputation ?? treaty.spec.reputationFloor ?? 0;
}

/** Measured availability; the SLO's committed availability until measured; else 0. */
export function availabilityOf(treaty: RoutableTreaty): number {
  return treaty.status?.availability ?? treaty.spec.slo?.availability ?? 0;
}

/**
 * Lower-is-better value as a unit-free ratio to the best: `best / value`, both raised to
 * `floor`; 1 for the best, 0.5 for twice the best, 0 when the value is unknown (NaN).
 */
export function ratioToBest(best: number, value: number, floor: number): number {
  if (Number.isNaN(value)) return 0;
  return Math.max(best, floor) / Math.max(value, floor);
}

/** The hybrid principle's fit: 1 preferred kind, 0 other kind, -1 no preference (batch). */
export function profileFit(profile: WorkloadProfile, inCluster: boolean): number {
  if (profile === "steady") return inCluster ? 1 : 0;
  if (profile === "bursty") return inCluster ? 0 : 1;
  return -1;
}

/** Rounds a score to SCORE_DECIMALS. */
export function roundScore(x: number): number {
  return Math.round(x * SCORE_SCALE) / SCORE_SCALE;
}

/** Scores one eligible treaty in 0..1 (rounded to SCORE_DECIMALS). */
export function scoreOf(
  m: ScoreInputs,
  bests: Bests,
  weights: Weights,
  profile: WorkloadProfile,
): number {
  const weighted =
    weights.price * ratioToBest(bests.price, m.price, PRICE_FLOOR_USD) +
    weights.latency * ratioToBest(bests.latencyMs, m.latencyMs, LATENCY_FLOOR_MS) +
    weights.reputation * m.reputation +
    weights.availability * m.availability;
  const fit = profileFit(profile, m.inCluster);
  const score = fit < 0 ? weighted : (1 - PROFILE_AFFINITY) * weighted + PROFILE_AFFINITY * fit;
  return roundScore(Math.min(1, Math.max(0, score)));
}

/** Pre-rendered parts of a score explanation (TreatyFacts has them). */
export interface ScoreTexts {
  /** `, latency 120ms→`. */
  readonly latencyText: string;
  /** `, reputation 0.95, availability 0.99`. */
  readonly qualityText: string;
}

/**
 * Explains a score in one line: each component's raw and normalized value, the strategy and
 * the hybrid-principle share, e.g. `price $0.85/h→1.00, latency 120ms→0.08, reputation 0.95,
 * availability 0.99 (balanced); steady prefers the GPU core: this is one (+0.10)`. `priceText`
 * is `$0.85/h`; `suffix` comes from explanationSuffix(). route() memoizes the result per
 * treaty version and scoring context, so this runs when a treaty or the bests change.
 */
export function explainScore(
  m: ScoreInputs,
  bests: Bests,
  priceText: string,
  texts: ScoreTexts,
  suffix: string,
): string {
  const p = ratioToBest(bests.price, m.price, PRICE_FLOOR_USD);
  const l = ratioToBest(bests.latencyMs, m.latencyMs, LATENCY_FLOOR_MS);
  return (
    "price " +
    priceText +
    "→" +
    fixed2(p) +
    texts.latencyText +
    fixed2(l) +
    texts.qualityText +
    suffix
  );
}

/** The end of a score explanation: the strategy and, for steady/bursty, the profile's fit. */
export function explanationSuffix(
  strategy: RoutingStrategy,
  profile: WorkloadProfile,
  inCluster: boolean,
): string {
  const fit = profileFit(profile, inCluster);
  if (fit < 0) return ` (${strategy})`;
  const kind = profile === "steady" ? "the GPU core" : "API-edge providers";
  const share = fixed2(PROFILE_AFFINITY);
  return ` (${strategy}); ${profile} prefers ${kind}: ${fit > 0 ? `this is one (+${share})` : "not one"}`;
}
