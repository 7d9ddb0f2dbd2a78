/**
 * The seed's four KPIs (000 §5 "KPIs & SLO Targets"), defined once: the pure functions that
 * compute them from the platform's objects (the Treaty status, the operator's metrics and any
 * war-game or report import these), their targets, and the PromQL that reads each one from
 * Prometheus over a window (alert rules and the SLO report take the query from here). ADR 0110.
 *
 * - treaty fill rate: attempts routed to a treaty that were placed (not abandoned before they
 *   started) / attempts routed to it; per treaty, undefined before the first attempt;
 * - treaty RTT: round trip of a probe to a treaty's provider endpoint (a histogram);
 * - provenance coverage: completed workloads (Complete or Failed) whose completion Receipt is
 *   logged (`Logged=True`) / completed workloads; 1 while none completed;
 * - policy decision time: an admission request parsed → its decision, per policy (vault-law
 *   evaluation included; a histogram).
 */
import type { GPUWorkload, Receipt } from "../../crds/index.ts";

/** Attempts routed to one treaty and how many of them were placed (not abandoned). */
export interface AttemptCounts {
  readonly routed: number;
  readonly placed: number;
}

/** Fill rate of a treaty: placed / routed, in 0..1; undefined when nothing was routed to it. */
export function treatyFillRate(c: AttemptCounts): number | undefined {
  if (!Number.isInteger(c.routed) || c.routed < 0) {
    throw new RangeError(`routed: expected an integer ≥ 0, got ${c.routed}`);
  }
  if (!Number.isInteger(c.placed) || c.placed < 0 || c.placed > c.routed) {
    throw new RangeError(`placed: expected an integer in 0..routed (${c.routed}), got ${c.placed}`);
  }
  return c.routed === 0 ? undefined : c.placed / c.routed;
}

/** The attempts of `workloads` by treaty: each attempt counts as routed, and as placed unless it was abandoned. */
export function attemptCountsByTreaty(
  workloads: Iterable<Pick<GPUWorkload, "status">>,
): Map<string, AttemptCounts> {
  const out = new Map<string, { routed: number; placed: number }>();
  for (const w of workloads) {
    for (const a of w.status?.attempts ?? []) {
      let c = out.get(a.treaty);
      if (!c) out.set(a.treaty, (c = { routed: 0, placed: 0 }));
      c.routed++;
      if (a.outcome !== "Abandoned") c.placed++;
    }
  }
  return out;
}

/** Completed workloads and how many of them have a logged completion Receipt. */
export interface ProvenanceCounts {
  readonly completed: number;
  readonly covered: number;
}

/** Provenance coverage: covered / completed, in 0..1; 1 while nothing has completed. */
export function provenanceCoverage(c: ProvenanceCounts): number {
  if (!Number.isInteger(c.completed) || c.completed < 0) {
    throw new RangeError(`completed: expected an integer ≥ 0, got ${c.completed}`);
  }
  if (!Number.isInteger(c.covered) || c.covered < 0 || c.covered > c.completed) {
    throw new RangeError(
      `covered: expected an integer in 0..completed (${c.completed}), got ${c.covered}`,
    );
  }
  return c.completed === 0 ? 1 : c.covered / c.completed;
}

/** True when the workload has finished: its Complete or Failed condition is True. */
export function workloadFinished(w: Pick<GPUWorkload, "status">): boolean {
  return (w.status?.conditions ?? []).some(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
}

/** True when the Receipt is in the ledger: its Logged condition is True. */
export function receiptLogged(r: Pick<Receipt, "status"> | undefined): boolean {
  return r?.status?.conditions?.some((c) => c.type === "Logged" && c.status === "True") ?? false;
}

/**
 * Counts finished workloads and those whose `status.receiptRef` names a logged Receipt;
 * `receiptOf(namespace, name)` looks the Receipt up (a cache, in the operator).
 */
export function provenanceCounts(
  workloads: Iterable<Pick<GPUWorkload, "status" | "metadata">>,
  receiptOf: (namespace: string | undefined, name: string) => Pick<Receipt, "status"> | undefined,
): ProvenanceCounts {
  let completed = 0;
  let covered = 0;
  for (const w of workloads) {
    if (!workloadFinished(w)) continue;
    completed++;
    const ref = w.status?.receiptRef?.name;
    if (ref && receiptLogged(receiptOf(w.metadata.namespace, ref))) covered++;
  }
  return { completed, covered };
}

/** The KPIs, by key. */
export const Kpi = {
  TreatyFillRate: "treatyFillRate",
  TreatyRtt: "treatyRtt",
  ProvenanceCoverage: "provenanceCoverage",
  PolicyDecisionTime: "policyDecisionTime",
} as const;
export type Kpi = (typeof Kpi)[keyof typeof Kpi];

/** A KPI's target as the seed states it. */
export interface KpiTarget {
  /** What the seed calls it. */
  readonly title: string;
  /** `min`: the value must be ≥ target; `max`: ≤ target. */
  readonly direction: "min" | "max";
  /** In the metric's unit (a fraction, or seconds). */
  readonly target: number;
  readonly unit: "ratio" | "seconds";
  /** The seed's P95 column (p99 for policy decision time), when it gives one. */
  readonly percentile?: { readonly q: 0.95 | 0.99; readonly value: number };
  /** The metric the KPI is read from (docs/metrics.md). */
  readonly metric: string;
}

/** The seed's targets (000 §5). */
export const KPI_TARGETS: Readonly<Record<Kpi, KpiTarget>> = {
  treatyFillRate: {
    title: "Treaty fill rate",
    direction: "min",
    target: 0.8,
    unit: "ratio",
    percentile: { q: 0.95, value: 0.85 },
    metric: "vaultmesh_treaty_fill_rate",
  },
  treatyRtt: {
    title: "Treaty RTT",
    direction: "max",
    target: 0.35,
    unit: "seconds",
    percentile: { q: 0.95, value: 0.32 },
    metric: "vaultmesh_treaty_rtt_seconds",
  },
  provenanceCoverage: {
    title: "Provenance coverage",
    direction: "min",
    target: 0.95,
    unit: "ratio",
    percentile: { q: 0.95, value: 0.97 },
    metric: "vaultmesh_provenance_coverage",
  },
  policyDecisionTime: {
    title: "Policy decision time",
    direction: "max",
    target: 0.025,
    unit: "seconds",
    percentile: { q: 0.99, value: 0.018 },
    metric: "vaultmesh_webhook_decision_duration_seconds",
  },
};

/** A Prometheus range-vector window: `30s`, `5m`, `72h`, `1d`, … (one unit, as `--window` takes). */
export const WINDOW_PATTERN = /^[1-9][0-9]*(ms|s|m|h|d|w|y)$/;

function checkWindow(window: string): string {
  if (!WINDOW_PATTERN.test(window)) {
    throw new RangeError(
      `window: expected a duration like 5m, 72h or 7d, got ${JSON.stringify(window)}`,
    );
  }
  return window;
}

/**
 * The PromQL giving KPI `kpi` over `window` as one number (all treaties / policies together):
 * fill rate and coverage as the mean of the gauge over the window (the gauges are computed from
 * the objects, so a restart neither loses nor doubles them); RTT and decision time as the
 * quantile `q` of the histogram's increase over the window (default: the target's percentile,
 * else 0.95).
 */
export function kpiQuery(kpi: Kpi, window: string, q?: number): string {
  const w = checkWindow(window);
  const t = KPI_TARGETS[kpi];
  const quantile = q ?? t.percentile?.q ?? 0.95;
  switch (kpi) {
    case Kpi.TreatyFillRate:
      return `avg(avg_over_time(${t.metric}[${w}]))`;
    case Kpi.ProvenanceCoverage:
      return `min(avg_over_time(${t.metric}[${w}]))`;
    case Kpi.TreatyRtt:
    case Kpi.PolicyDecisionTime:
      return `histogram_quantile(${quantile}, sum by (le) (increase(${t.metric}_bucket[${w}])))`;
  }
}

/** The same, per treaty (fill rate, RTT) or per policy (decision time); coverage has no label. */
export function kpiQueryBy(kpi: Kpi, window: string, q?: number): string {
  const w = checkWindow(window);
  const t = KPI_TARGETS[kpi];
  const quantile = q ?? t.percentile?.q ?? 0.95;
  switch (kpi) {
    case Kpi.TreatyFillRate:
      return `avg by (treaty) (avg_over_time(${t.metric}[${w}]))`;
    case Kpi.ProvenanceCoverage:
      return `min(avg_over_time(${t.metric}[${w}]))`;
    case Kpi.TreatyRtt:
      return `histogram_quantile(${quantile}, sum by (treaty, le) (increase(${t.metric}_bucket[${w}])))`;
    case Kpi.PolicyDecisionTime:
      return `histogram_quantile(${quantile}, sum by (policy, le) (increase(${t.metric}_bucket[${w}])))`;
  }
}

/** Whether `value` meets KPI `kpi`'s target. */
export function meetsTarget(kpi: Kpi, value: number): boolean {
  const t = KPI_TARGETS[kpi];
  return t.direction === "min" ? value >= t.target : value <= t.target;
}
