/**
 * The SLO report as one self-contained HTML file: a table of the four KPIs and a chart of each
 * over the window, drawn by uPlot (inlined from the pinned npm package; no network at view time).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { KpiSeries, SloReport } from "./slo-report.ts";

const require = createRequire(import.meta.url);

/** uPlot's minified browser build and stylesheet, read from node_modules. */
export function uplotAssets(): { js: string; css: string } {
  const dist = dirname(require.resolve("uplot/dist/uPlot.iife.min.js"));
  return {
    js: readFileSync(join(dist, "uPlot.iife.min.js"), "utf8"),
    css: readFileSync(join(dist, "uPlot.min.css"), "utf8"),
  };
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Inside <script>, only "</" could end the element early.
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/<\//g, "<\\/");

function formatValue(unit: "ratio" | "seconds", v: number): string {
  return unit === "ratio" ? `${(v * 100).toFixed(2)} %` : `${(v * 1000).toFixed(2)} ms`;
}

function row(k: SloReport["kpis"][number]): string {
  const q = k.quantiles
    .map((x) => `p${Math.round(x.quantile * 100)} ${formatValue(k.unit, x.value)}`)
    .join(", ");
  return `<tr class="${k.pass ? "pass" : "fail"}"><td>${escapeHtml(k.title)}</td><td>${k.target.op} ${formatValue(k.unit, k.target.value)}</td><td>${formatValue(k.unit, k.value)}</td><td>${escapeHtml(q || "—")}</td><td>${k.pass ? "PASS" : "FAIL"}</td><td><code>${escapeHtml(k.query)}</code></td></tr>`;
}

const CHART_SCRIPT = `
const data = JSON.parse(document.getElementById("kpi-data").textContent);
for (const k of data) {
  const el = document.getElementById("chart-" + k.name);
  const scale = k.unit === "ratio" ? 100 : 1000;
  const unit = k.unit === "ratio" ? "%" : "ms";
  const ys = k.values.map((v) => (v === null ? null : v * scale));
  const target = k.times.map(() => k.target * scale);
  new uPlot({
    width: 860, height: 220, title: k.title + " (" + unit + ")",
    series: [{}, { label: k.title, stroke: "#1f6feb", width: 2, spanGaps: false },
      { label: "target", stroke: "#d1242f", dash: [6, 4], width: 1 }],
    legend: { live: false },
    axes: [{}, { size: 80, values: (u, vals) => vals.map((v) => +v.toFixed(3) + " " + unit) }],
  }, [k.times, ys, target], el);
}
document.body.dataset.rendered = "true";
`;

/** Renders the report and its KPI series as a standalone HTML document. */
export function renderSloReportHtml(report: SloReport, series: readonly KpiSeries[]): string {
  const { js, css } = uplotAssets();
  const verdict = report.pass ? "PASS" : "FAIL";
  const charts = series.map((s) => `<div class="chart" id="chart-${s.name}"></div>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>VaultMesh SLO report — ${escapeHtml(report.window.duration)} ending ${escapeHtml(report.window.end)}</title>
<style>${css}</style>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px; color: #1f2328; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #59636e; margin-bottom: 16px; }
table { border-collapse: collapse; margin-bottom: 20px; }
td, th { border: 1px solid #d1d9e0; padding: 4px 8px; text-align: left; vertical-align: top; }
td code { font-size: 11px; color: #59636e; }
tr.pass td:nth-child(5) { color: #1a7f37; font-weight: 600; }
tr.fail td:nth-child(5) { color: #d1242f; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(2, 880px); gap: 8px; }
</style>
</head>
<body>
<h1>VaultMesh SLO report: ${verdict}</h1>
<div class="meta">Window ${escapeHtml(report.window.duration)} (${escapeHtml(report.window.start)} → ${escapeHtml(report.window.end)}), Prometheus ${escapeHtml(report.prometheus)}</div>
<table>
<tr><th>KPI</th><th>target</th><th>value</th><th>quantiles</th><th>result</th><th>query</th></tr>
${report.kpis.map(row).join("\n")}
</table>
<div class="charts">
${charts}
</div>
<script id="kpi-data" type="application/json">${scriptJson(series)}</script>
<script>${js.replace(/<\/script/gi, "<\\/script")}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}
