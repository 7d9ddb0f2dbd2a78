/**
 * The SLO report (`canary_slo_report.json`, the seed's Week 1 proof gate): each KPI's target,
 * value, quantiles, pass/fail, window and query, measured by Prometheus. Never a null: a KPI
 * without data is an error naming the absent series, so no partial report is ever written.
 */
import type { Clock } from "../ledger/clock.ts";
import type { MatrixSeries, PrometheusQuerier } from "./prometheus-api.ts";
import { KPIS, meetsTarget, type KpiDefinition, type KpiName } from "./slo-definitions.ts";
import { chartResolution, type SloWindow } from "./slo-window.ts";

/** Format tag of the report. */
export const SLO_REPORT_FORMAT = "vaultmesh.slo-report/v1";

/** Receipt type under which a report is recorded in the ledger. */
export const SLO_REPORT_RECEIPT_TYPE = "slo.report";

/** One quantile of a latency KPI. */
export interface QuantileResult {
  readonly quantile: number;
  readonly value: number;
  readonly query: string;
}

/** One KPI as measured. */
export interface KpiResult {
  readonly name: KpiName;
  readonly title: string;
  readonly unit: "ratio" | "seconds";
  readonly target: { readonly op: ">=" | "<="; readonly value: number };
  readonly seedReference: { readonly quantile: number; readonly value: number };
  readonly value: number;
  readonly pass: boolean;
  readonly window: string;
  readonly query: string;
  readonly quantiles: readonly QuantileResult[];
}

/** The report. */
export interface SloReport {
  readonly format: typeof SLO_REPORT_FORMAT;
  readonly generatedAt: string;
  readonly prometheus: string;
  readonly window: {
    readonly duration: string;
    readonly seconds: number;
    readonly start: string;
    readonly end: string;
  };
  readonly pass: boolean;
  readonly kpis: readonly KpiResult[];
}

/** A KPI could not be measured: its series are absent or recorded nothing in the window. */
export class NoDataError extends Error {
  override readonly name = "NoDataError";
}

async function absentSeries(
  prom: PrometheusQuerier,
  k: KpiDefinition,
  w: SloWindow,
  at: Date,
): Promise<string[]> {
  const absent: string[] = [];
  for (const s of k.series) {
    const found = await prom.query(`count(count_over_time(${s}[${w.text}]))`, at);
    if (found.length === 0) absent.push(s);
  }
  return absent;
}

/** Evaluates one query to its single finite value, or throws a {@link NoDataError}. */
async function scalar(
  prom: PrometheusQuerier,
  k: KpiDefinition,
  w: SloWindow,
  at: Date,
  expr: string,
): Promise<number> {
  const result = await prom.query(expr, at);
  const v = result.length === 1 ? result[0]?.value : undefined;
  if (v !== undefined && Number.isFinite(v)) return v;
  const absent = await absentSeries(prom, k, w, at);
  if (absent.length > 0) {
    throw new NoDataError(
      `KPI ${k.name}: no data in the last ${w.text}: series ${absent.join(", ")} ${absent.length > 1 ? "are" : "is"} absent`,
    );
  }
  throw new NoDataError(
    result.length > 1
      ? `KPI ${k.name}: query returned ${result.length} series, expected one: ${expr}`
      : `KPI ${k.name}: no data in the last ${w.text}: its series recorded no events (${expr})`,
  );
}

/** Measures every KPI over the window ending now, or throws naming the first KPI without data. */
export async function buildSloReport(
  prom: PrometheusQuerier,
  w: SloWindow,
  clock: Clock,
): Promise<SloReport> {
  const end = clock.now();
  const kpis: KpiResult[] = [];
  for (const k of KPIS) {
    const query = k.value(w.text);
    const value = await scalar(prom, k, w, end, query);
    const quantiles: QuantileResult[] = [];
    for (const q of k.quantiles) {
      const qq = q.query(w.text);
      quantiles.push({ quantile: q.quantile, value: await scalar(prom, k, w, end, qq), query: qq });
    }
    kpis.push({
      name: k.name,
      title: k.title,
      unit: k.unit,
      target: k.target,
      seedReference: k.seedReference,
      value,
      pass: meetsTarget(k, value),
      window: w.text,
      query,
      quantiles,
    });
  }
  return {
    format: SLO_REPORT_FORMAT,
    generatedAt: end.toISOString(),
    prometheus: prom.url,
    window: {
      duration: w.text,
      seconds: w.seconds,
      start: new Date(end.getTime() - w.seconds * 1000).toISOString(),
      end: end.toISOString(),
    },
    pass: kpis.every((k) => k.pass),
    kpis,
  };
}

/** One KPI over the window, for a chart: unix seconds and values (NaN where undefined). */
export interface KpiSeries {
  readonly name: KpiName;
  readonly title: string;
  readonly unit: "ratio" | "seconds";
  readonly target: number;
  readonly query: string;
  readonly times: readonly number[];
  readonly values: readonly number[];
}

/** The four KPIs over the report's window, each computed over a sliding range of a few steps. */
export async function kpiSeries(prom: PrometheusQuerier, report: SloReport): Promise<KpiSeries[]> {
  const w = { text: report.window.duration, seconds: report.window.seconds };
  const { stepSeconds, range } = chartResolution(w);
  const start = new Date(report.window.start);
  const end = new Date(report.window.end);
  const out: KpiSeries[] = [];
  for (const k of KPIS) {
    const query = k.value(range);
    const matrix: MatrixSeries[] = await prom.queryRange(query, start, end, stepSeconds);
    const points = matrix[0]?.values ?? [];
    out.push({
      name: k.name,
      title: k.title,
      unit: k.unit,
      target: k.target.value,
      query,
      times: points.map(([t]) => t),
      values: points.map(([, v]) => v),
    });
  }
  return out;
}
