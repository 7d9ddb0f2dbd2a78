// The self-contained HTML report of a run: the headline numbers, per-treaty and per-provider
// tables, and SVG plots over time — fill rate, cost rate, GPUs per provider (stacked), waiting
// workloads and reputation — with the scenario's events shaded. The SVG is generated here;
// the page loads nothing from anywhere.
import type { EventMark, RunResult, Sample } from "./results.ts";
import type { Scenario } from "./scenario.ts";

const W = 900;
const H = 220;
const PAD = { l: 56, r: 16, t: 16, b: 28 };
const COLORS = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#9333ea",
  "#ea580c",
  "#0891b2",
  "#ca8a04",
  "#db2777",
];

/** One line of a chart: a name, a colour and a value per sample (null: no value). */
interface Line {
  readonly name: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
}

const esc = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const pct = (x: number | null): string => (x === null ? "–" : `${(x * 100).toFixed(1)} %`);

/** The report of `r` (a run of `s`) as one HTML document. */
export function renderReport(s: Scenario, r: RunResult): string {
  const minutes = r.series.map((x) => x.minute);
  const providers = s.providers.map((p) => p.name);
  const treaties = s.treaties.map((t) => t.name);
  const color = (i: number): string => COLORS[i % COLORS.length]!;
  const charts = [
    chart(
      "Fill rate (attempts routed per minute that were not abandoned)",
      minutes,
      r.events,
      [
        { name: "fill rate", color: color(0), values: r.series.map((x) => x.fillRate) },
        {
          name: `target ${r.fillRateTarget}`,
          color: "#9ca3af",
          values: r.series.map(() => r.fillRateTarget),
        },
      ],
      { min: 0, max: 1 },
    ),
    chart("Cost rate (USD per hour of the GPUs running)", minutes, r.events, [
      { name: "USD/h", color: color(1), values: r.series.map((x) => x.costPerHour) },
    ]),
    chart(
      "GPUs running per provider (stacked: share of the load)",
      minutes,
      r.events,
      stacked(r.series, providers, color),
      { stacked: true },
    ),
    chart("Workloads waiting for an eligible treaty", minutes, r.events, [
      { name: "waiting", color: color(4), values: r.series.map((x) => x.waiting) },
    ]),
    chart(
      "Treaty reputation (Treaty status, from evidence)",
      minutes,
      r.events,
      treaties.map((t, i) => ({
        name: t,
        color: color(i),
        values: r.series.map((x) => x.reputation[t] ?? null),
      })),
      { min: 0, max: 1 },
    ),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>War-game: ${esc(r.scenario)} (${r.strategy})</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:${W + 40}px;color:#111}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:22px 0 6px}
table{border-collapse:collapse;margin:6px 0} td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left} .kpi{display:flex;gap:12px;flex-wrap:wrap}
.kpi div{border:1px solid #ddd;border-radius:6px;padding:6px 12px} .kpi b{display:block;font-size:20px}
.ok{color:#15803d} .bad{color:#b91c1c} svg{display:block} .legend span{margin-right:12px}
</style></head><body>
<h1>War-game: ${esc(r.scenario)} — strategy ${r.strategy}</h1>
<p>${esc(s.description)} Seed ${r.seed}; ${r.workloads} workloads over ${r.simulatedMinutes} simulated minutes.</p>
${headline(r)}
<h2>Events</h2>${eventsTable(r.events)}
${charts.join("\n")}
<h2>Treaties</h2>${treatyTable(r)}
<h2>Providers</h2>${providerTable(r)}
<h2>Failovers by reason</h2>${reasonsTable(r)}
</body></html>
`;
}

function headline(r: RunResult): string {
  const ok = (r.fillRate ?? 0) >= r.fillRateTarget && r.lost === 0 && r.stuck === 0;
  const t = r.timeToStartSeconds;
  const cells: [string, string][] = [
    ["fill rate", `<span class="${ok ? "ok" : "bad"}">${pct(r.fillRate)}</span>`],
    ["started", pct(r.startedShare)],
    ["cost", `$${r.totalCost.toFixed(2)}`],
    ["USD / GPU-h", r.costPerGpuHour.toFixed(3)],
    ["GPU-hours", r.totalGpuHours.toFixed(1)],
    ["failovers", String(r.failovers)],
    ["start p50/p95/p99", `${t.p50}/${t.p95}/${t.p99} s`],
    ["lost / stuck", `${r.lost} / ${r.stuck}`],
  ];
  return `<div class="kpi">${cells.map(([k, v]) => `<div>${k}<b>${v}</b></div>`).join("")}</div>`;
}

function eventsTable(events: readonly EventMark[]): string {
  if (events.length === 0) return "<p>None.</p>";
  const rows = events.map(
    (e) =>
      `<tr><td>${e.kind}</td><td>${esc(e.target)}</td><td>${e.fromMinute}</td><td>${e.toMinute ?? "–"}</td></tr>`,
  );
  return `<table><tr><th>kind</th><th>target</th><th>from minute</th><th>to minute</th></tr>${rows.join("")}</table>`;
}

function treatyTable(r: RunResult): string {
  const rows = Object.entries(r.perTreaty).map(
    ([n, t]) =>
      `<tr><td>${esc(n)}</td><td>${t.routed}</td><td>${t.placed}</td><td>${pct(t.fillRate)}</td><td>${t.reputation ?? "–"}</td><td>${esc(t.ready)}</td></tr>`,
  );
  return `<table><tr><th>treaty</th><th>routed</th><th>placed</th><th>fill rate</th><th>reputation (end)</th><th>Ready (end)</th></tr>${rows.join("")}</table>`;
}

function providerTable(r: RunResult): string {
  const rows = Object.entries(r.perProvider).map(
    ([n, p]) =>
      `<tr><td>${esc(n)}</td><td>${p.workloads}</td><td>${p.gpuHours.toFixed(1)}</td><td>$${p.cost.toFixed(2)}</td></tr>`,
  );
  return `<table><tr><th>provider</th><th>workloads</th><th>GPU-hours</th><th>cost</th></tr>${rows.join("")}</table>`;
}

function reasonsTable(r: RunResult): string {
  const rows = Object.entries(r.failoverReasons).map(
    ([k, n]) => `<tr><td>${esc(k)}</td><td>${n}</td></tr>`,
  );
  return rows.length === 0
    ? "<p>None.</p>"
    : `<table><tr><th>reason</th><th>failovers</th></tr>${rows.join("")}</table>`;
}

function stacked(
  series: readonly Sample[],
  providers: readonly string[],
  color: (i: number) => string,
): Line[] {
  const acc = series.map(() => 0);
  return providers.map((p, i) => ({
    name: p,
    color: color(i),
    values: series.map((x, j) => (acc[j]! += x.gpusByProvider[p] ?? 0)),
  }));
}

function chart(
  title: string,
  xs: readonly number[],
  events: readonly EventMark[],
  lines: readonly Line[],
  o: { readonly min?: number; readonly max?: number; readonly stacked?: boolean } = {},
): string {
  const xMax = Math.max(1, ...xs);
  const all = lines.flatMap((l) => l.values.filter((v): v is number => v !== null));
  const yMin = o.min ?? 0;
  const yMax = o.max ?? Math.max(1, ...all) * 1.05;
  const x = (v: number): number => PAD.l + (v / xMax) * (W - PAD.l - PAD.r);
  const y = (v: number): number =>
    H - PAD.b - ((v - yMin) / (yMax - yMin || 1)) * (H - PAD.t - PAD.b);
  const bands = events
    .map((e) => {
      const x0 = x(e.fromMinute);
      const x1 = e.toMinute === null ? x0 + 2 : x(e.toMinute);
      return `<rect x="${x0.toFixed(1)}" y="${PAD.t}" width="${Math.max(2, x1 - x0).toFixed(1)}" height="${H - PAD.t - PAD.b}" fill="#f59e0b" opacity="0.18"><title>${esc(`${e.kind} ${e.target}`)}</title></rect><text x="${(x0 + 3).toFixed(1)}" y="${PAD.t + 12}" font-size="11" fill="#92400e">${esc(`${e.kind} ${e.target}`)}</text>`;
    })
    .join("");
  const paths = [...lines]
    .reverse()
    .map((l) => {
      let d = "";
      let pen = false;
      l.values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        d += `${pen ? "L" : "M"}${x(xs[i]!).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      if (o.stacked && d !== "") {
        const first = xs[0] ?? 0;
        const last = xs.at(-1) ?? 0;
        return `<path d="${d}L${x(last).toFixed(1)},${y(yMin).toFixed(1)}L${x(first).toFixed(1)},${y(yMin).toFixed(1)}Z" fill="${l.color}" opacity="0.85"/>`;
      }
      return `<path d="${d}" fill="none" stroke="${l.color}" stroke-width="1.5"/>`;
    })
    .join("");
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = yMin + f * (yMax - yMin);
      const label = yMax <= 1.0001 ? v.toFixed(2) : v >= 100 ? v.toFixed(0) : v.toFixed(1);
      return `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/><text x="${PAD.l - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">${label}</text>`;
    })
    .join("");
  const xticks = Array.from({ length: 7 }, (_, i) => Math.round((i * xMax) / 6))
    .map(
      (m, i) =>
        `<text x="${x(m).toFixed(1)}" y="${H - 8}" font-size="11" text-anchor="${i === 6 ? "end" : "middle"}">${m} min</text>`,
    )
    .join("");
  const legend = lines
    .map((l) => `<span style="color:${l.color}">■ ${esc(l.name)}</span>`)
    .join("");
  return `<h2>${esc(title)}</h2><div class="legend">${legend}</div>
<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${ticks}${bands}${paths}${xticks}</svg>`;
}
