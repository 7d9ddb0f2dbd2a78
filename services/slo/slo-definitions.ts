/**
 * The seed's four KPIs (§5 "KPIs & SLO Targets") as service-level objectives: targets and the
 * PromQL of each KPI over a window come from their one home, services/kpi (ADR 0110); this
 * module adds what the report, the alert rules and the dashboard need on top — the quantiles the
 * report gives, the share of bad events for burn-rate alerts, and the series whose absence makes
 * a KPI unmeasurable (ADR 0114).
 */
import { Kpi, KPI_TARGETS, kpiQuery, meetsTarget as kpiMeetsTarget } from "../kpi/index.ts";

/** A KPI key (services/kpi): treatyFillRate, treatyRtt, provenanceCoverage, policyDecisionTime. */
export type KpiName = Kpi;

/** Metric families the burn-rate error ratios read. */
export const SLI_METRICS = {
  routed: "vaultmesh_treaty_attempts_routed",
  placed: "vaultmesh_treaty_attempts_placed",
  rtt: "vaultmesh_treaty_rtt_seconds",
  completed: "vaultmesh_provenance_completed_workloads",
  covered: "vaultmesh_provenance_covered_workloads",
  decision: "vaultmesh_webhook_decision_duration_seconds",
} as const;

/** A quantile of a latency KPI, with the query that measures it over a window. */
export interface KpiQuantile {
  readonly quantile: number;
  readonly query: (window: string) => string;
}

/** One KPI as an objective. */
export interface KpiDefinition {
  readonly name: KpiName;
  readonly title: string;
  /** "ratio" (0..1) or "seconds". */
  readonly unit: "ratio" | "seconds";
  /** The seed's target: the value must be ≥ (ratios) or ≤ (latencies) this. */
  readonly target: { readonly op: ">=" | "<="; readonly value: number };
  /** The seed's "P95" column (P99 for decision time); the target decides pass or fail. */
  readonly seedReference: { readonly quantile: number; readonly value: number };
  /** The KPI's value over a window (a Prometheus duration with one unit, e.g. `72h`). */
  readonly value: (window: string) => string;
  /** For latency KPIs: p95 and p99 over the window; none for ratios. */
  readonly quantiles: readonly KpiQuantile[];
  /**
   * The share of bad events over a window, for burn-rate alerts: attempts abandoned, probes
   * slower than the target, completed workloads without a logged receipt, decisions slower than
   * the target.
   */
  readonly errorRatio: (window: string) => string;
  /** The objective of the error ratio: good events / all events ≥ this. */
  readonly objective: number;
  /** Burn-rate factors of the four window pairs (1h/5m, 6h/30m, 1d/2h, 3d/6h). */
  readonly burnFactors: readonly [number, number, number, number];
  /** Series whose absence makes the KPI unmeasurable (the report's error names them). */
  readonly series: readonly string[];
}

/** The SRE workbook's burn-rate factors for a 30-day budget: 2 %, 5 %, 10 %, 10 % of it. */
export const WORKBOOK_BURN_FACTORS = [14.4, 6, 3, 1] as const;

const M = SLI_METRICS;

// The ratio KPIs are gauges over the operator's cache (restart-safe, ADR 0110): the bad share is
// one minus numerator over denominator, each averaged over the window.
const uncovered = (good: string, all: string) => (w: string) =>
  `(1 - sum(avg_over_time(${good}[${w}])) / sum(avg_over_time(${all}[${w}])))`;

const slowerThan = (metric: string, le: string) => (w: string) =>
  `(1 - sum(rate(${metric}_bucket{le="${le}"}[${w}])) / sum(rate(${metric}_count[${w}])))`;

function definition(
  name: KpiName,
  extra: Pick<KpiDefinition, "errorRatio" | "objective" | "burnFactors"> & {
    readonly quantiles: readonly number[];
  },
): KpiDefinition {
  const t = KPI_TARGETS[name];
  const histogram = t.unit === "seconds";
  const seed = t.percentile ?? { q: 0.95, value: t.target };
  return {
    name,
    title: t.title,
    unit: t.unit,
    target: { op: t.direction === "min" ? ">=" : "<=", value: t.target },
    seedReference: { quantile: seed.q, value: seed.value },
    value: (w) => kpiQuery(name, w),
    quantiles: extra.quantiles.map((q) => ({ quantile: q, query: (w) => kpiQuery(name, w, q) })),
    errorRatio: extra.errorRatio,
    objective: extra.objective,
    burnFactors: extra.burnFactors,
    series: [histogram ? `${t.metric}_bucket` : t.metric],
  };
}

/** The four KPIs, in the seed's order. */
export const KPIS: readonly KpiDefinition[] = [
  definition(Kpi.TreatyFillRate, {
    quantiles: [],
    errorRatio: uncovered(M.placed, M.routed),
    objective: 0.8,
    // A 20 % budget cannot burn 14.4× (that needs 288 % abandoned): ADR 0115.
    burnFactors: [4, 3, 2, 1],
  }),
  definition(Kpi.TreatyRtt, {
    quantiles: [0.95, 0.99],
    errorRatio: slowerThan(M.rtt, "0.35"),
    objective: 0.95,
    burnFactors: WORKBOOK_BURN_FACTORS,
  }),
  definition(Kpi.ProvenanceCoverage, {
    quantiles: [],
    errorRatio: uncovered(M.covered, M.completed),
    objective: 0.95,
    burnFactors: WORKBOOK_BURN_FACTORS,
  }),
  definition(Kpi.PolicyDecisionTime, {
    quantiles: [0.95, 0.99],
    errorRatio: slowerThan(M.decision, "0.025"),
    objective: 0.99,
    burnFactors: WORKBOOK_BURN_FACTORS,
  }),
];

/** True when `value` meets the KPI's target. */
export function meetsTarget(k: KpiDefinition, value: number): boolean {
  return kpiMeetsTarget(k.name, value);
}
