import { describe, expect, it } from "@jest/globals";
import { fixedClock } from "../ledger/clock.ts";
import { buildSloReport, kpiSeries, NoDataError, SLO_REPORT_FORMAT } from "./slo-report.ts";
import { fakeQuerier, HEALTHY } from "../../test/harness/fake-prometheus.ts";
import { parseWindow } from "./slo-window.ts";

const clock = fixedClock("2026-12-03T12:00:00Z");

/** Every null anywhere in a JSON value (what `jq '[.. | select(. == null)]'` finds). */
function nulls(v: unknown): number {
  const json: unknown = JSON.parse(JSON.stringify(v));
  const walk = (x: unknown): number =>
    x === null
      ? 1
      : Array.isArray(x)
        ? x.reduce((n: number, y) => n + walk(y), 0)
        : typeof x === "object"
          ? Object.values(x).reduce((n: number, y) => n + walk(y), 0)
          : 0;
  return walk(json);
}

describe("buildSloReport", () => {
  it("measures the four KPIs with targets, quantiles, window and query, and no null", async () => {
    const r = await buildSloReport(fakeQuerier(HEALTHY), parseWindow("72h"), clock);
    expect(r.format).toBe(SLO_REPORT_FORMAT);
    expect(r.kpis.map((k) => k.name)).toEqual([
      "treatyFillRate",
      "treatyRtt",
      "provenanceCoverage",
      "policyDecisionTime",
    ]);
    expect(r.window).toEqual({
      duration: "72h",
      seconds: 259200,
      start: "2026-11-30T12:00:00.000Z",
      end: "2026-12-03T12:00:00.000Z",
    });
    for (const k of r.kpis) {
      expect(k.query).toContain("[72h]");
      expect(Number.isFinite(k.value)).toBe(true);
    }
    const rtt = r.kpis.find((k) => k.name === "treatyRtt");
    expect(rtt?.quantiles.map((q) => q.quantile)).toEqual([0.95, 0.99]);
    expect(rtt?.target).toEqual({ op: "<=", value: 0.35 });
    expect(r.kpis.find((k) => k.name === "treatyFillRate")?.quantiles).toEqual([]);
    expect(r.pass).toBe(true);
    expect(nulls(r)).toBe(0);
  });

  it.each([
    ["treatyFillRate", { vaultmesh_treaty_fill_rate: 0.5 }],
    ["treatyRtt", { vaultmesh_treaty_rtt_seconds_bucket: 0.4 }],
    ["provenanceCoverage", { vaultmesh_provenance_coverage: 0.9 }],
    ["policyDecisionTime", { vaultmesh_webhook_decision_duration_seconds_bucket: 0.02 }],
  ])("fails %s when it misses its target, and the report with it", async (name, bad) => {
    const r = await buildSloReport(fakeQuerier({ ...HEALTHY, ...bad }), parseWindow("1h"), clock);
    expect(r.kpis.filter((k) => !k.pass).map((k) => k.name)).toEqual([name]);
    expect(r.pass).toBe(false);
  });

  it.each([
    ["vaultmesh_treaty_fill_rate", "treatyFillRate"],
    ["vaultmesh_treaty_rtt_seconds_bucket", "treatyRtt"],
    ["vaultmesh_provenance_coverage", "provenanceCoverage"],
    ["vaultmesh_webhook_decision_duration_seconds_bucket", "policyDecisionTime"],
  ])("an absent %s is an error naming the series and the KPI", async (series, kpiName) => {
    const values = { ...HEALTHY, [series]: undefined };
    const p = buildSloReport(fakeQuerier(values), parseWindow("72h"), clock);
    await expect(p).rejects.toThrow(NoDataError);
    await expect(p).rejects.toThrow(
      `KPI ${kpiName}: no data in the last 72h: series ${series} is absent`,
    );
  });

  it("a value that is not a number (no events in the window) is an error, never a null", async () => {
    const values = { ...HEALTHY, vaultmesh_treaty_rtt_seconds_bucket: Number.NaN };
    await expect(buildSloReport(fakeQuerier(values), parseWindow("72h"), clock)).rejects.toThrow(
      /KPI treatyRtt: no data in the last 72h: its series recorded no events/,
    );
  });
});

describe("kpiSeries", () => {
  it("gives each KPI over the window at the chart resolution", async () => {
    const prom = fakeQuerier(HEALTHY);
    const r = await buildSloReport(prom, parseWindow("1h"), clock);
    const s = await kpiSeries(prom, r);
    expect(s.map((x) => x.name)).toEqual(r.kpis.map((k) => k.name));
    for (const x of s) {
      expect(x.times.length).toBe(241);
      expect(x.values.length).toBe(241);
      expect(x.query).toContain("[60s]");
    }
  });
});
