/**
 * The seed's four KPIs (§5 "KPIs & SLO Targets") as service-level objectives over Prometheus
 * data: the PromQL of each KPI's value over a window, its quantiles, its error ratio for
 * burn-rate alerts and the metric families it reads. One home for these queries: the SLO report
 * (`vaultmesh slo-report`), the alert rules and the dashboard all take them from here (ADR 0114).
 */

/** The KPI names, as the report and the `slo` label of the recording rules spell them. */
export const KPI_NAMES = [
  "treaty_fill_rate",
  "treaty_rtt",
  "provenance_coverage",
  "policy_decision_time",
] as const;

/** One of the four KPIs. */
export type KpiName = (typeof KPI_NAMES)[number];

/** Metric families the KPIs read (names from the operator's, ledger's and webhooks' registries). */
export const KPI_METRICS = {
  routed: "vaultmesh_treaty_attempts_routed_total",
  abandoned: "vaultmesh_treaty_attempts_abandoned_total",
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
  /** The seed's "P95" column for the KPI (a reference figure; the target decides pass/fail). */
  readonly seedReference: { readonly column: string; readonly value: number };
  /** The KPI's value over a window (PromQL range such as `72h`). */
  readonly value: (window: string) => string;
  /** For latency KPIs: p95 and p99 over the window; none for ratios. */
  readonly quantiles: readonly KpiQuantile[];
  /**
   * The share of bad events over a window, for burn-rate alerts: unfilled attempts, probes slower
   * than the target, completed workloads without a logged receipt, decisions slower than the target.
   */
  readonly errorRatio: (window: string) => string;
  /** The objective of the error ratio: good events / all events ≥ this. */
  readonly objective: number;
  /** Burn-rate factors of the four window pairs (1h/5m, 6h/30m, 1d/2h, 3d/6h). */
  readonly burnFactors: readonly [number, number, number, number];
  /** Series whose absence makes the KPI unmeasurable (named in the report's error). */
  readonly series: readonly string[];
}

/** The SRE workbook's burn-rate factors for a 30-day budget: 2 %, 5 %, 10 %, 10 % of it. */
export const WORKBOOK_BURN_FACTORS = [14.4, 6, 3, 1] as const;

const M = KPI_METRICS;

// A counter with labels has no series until it is first incremented: none abandoned is 0.
const abandoned = (w: string): string => `(sum(increase(${M.abandoned}[${w}])) or vector(0))`;
const routed = (w: string): string => `sum(increase(${M.routed}[${w}]))`;

const quantile =
  (metric: string, q: number) =>
  (w: string): string =>
    `histogram_quantile(${q}, sum by (le) (rate(${metric}_bucket[${w}])))`;

const slowerThan = (metric: string, le: string) => (w: string) =>
  `(1 - sum(rate(${metric}_bucket{le="${le}"}[${w}])) / sum(rate(${metric}_count[${w}])))`;

/** The four KPIs, in the seed's order. */
export const KPIS: readonly KpiDefinition[] = [
  {
    name: "treaty_fill_rate",
    title: "Treaty fill rate",
    unit: "ratio",
    target: { op: ">=", value: 0.8 },
    seedReference: { column: "P95", value: 0.85 },
    value: (w) => `(1 - ${abandoned(w)} / ${routed(w)})`,
    quantiles: [],
    errorRatio: (w) => `(${abandoned(w)} / ${routed(w)})`,
    objective: 0.8,
    // A 20 % budget cannot burn 14.4× (that needs 288 % unfilled): ADR 0114.
    burnFactors: [4, 3, 2, 1],
    series: [M.routed],
  },
  {
    name: "treaty_rtt",
    title: "Treaty RTT (p95)",
    unit: "seconds",
    target: { op: "<=", value: 0.35 },
    seedReference: { column: "P95", value: 0.32 },
    value: quantile(M.rtt, 0.95),
    quantiles: [
      { quantile: 0.95, query: quantile(M.rtt, 0.95) },
      { quantile: 0.99, query: quantile(M.rtt, 0.99) },
    ],
    errorRatio: slowerThan(M.rtt, "0.35"),
    objective: 0.95,
    burnFactors: WORKBOOK_BURN_FACTORS,
    series: [`${M.rtt}_bucket`],
  },
  {
    name: "provenance_coverage",
    title: "Provenance coverage",
    unit: "ratio",
    target: { op: ">=", value: 0.95 },
    seedReference: { column: "P95", value: 0.97 },
    // Gauges over the operator's cache: averaged over the window, numerator over denominator.
    value: (w) => `(sum(avg_over_time(${M.covered}[${w}])) / sum(avg_over_time(${M.completed}[${w}])))`,
    quantiles: [],
    errorRatio: (w) =>
      `(1 - sum(avg_over_time(${M.covered}[${w}])) / sum(avg_over_time(${M.completed}[${w}])))`,
    objective: 0.95,
    burnFactors: WORKBOOK_BURN_FACTORS,
    series: [M.completed, M.covered],
  },
  {
    name: "policy_decision_time",
    title: "Policy decision time (p99)",
    unit: "seconds",
    target: { op: "<=", value: 0.025 },
    seedReference: { column: "P99", value: 0.018 },
    value: quantile(M.decision, 0.99),
    quantiles: [
      { quantile: 0.95, query: quantile(M.decision, 0.95) },
      { quantile: 0.99, query: quantile(M.decision, 0.99) },
    ],
    errorRatio: slowerThan(M.decision, "0.025"),
    objective: 0.99,
    burnFactors: WORKBOOK_BURN_FACTORS,
    series: [`${M.decision}_bucket`],
  },
];

/** The KPI named `name`. */
export function kpi(name: KpiName): KpiDefinition {
  const k = KPIS.find((d) => d.name === name);
  if (!k) throw new Error(`unknown KPI ${name}`);
  return k;
}

/** True when `value` meets the KPI's target. */
export function meetsTarget(k: KpiDefinition, value: number): boolean {
  return k.target.op === ">=" ? value >= k.target.value : value <= k.target.value;
}
