// Text renderings of war-game results: one summary line per run, and the sweep's table.
import type { RunResult } from "./results.ts";

const pct = (x: number | null): string => (x === null ? "–" : `${(x * 100).toFixed(2)} %`);
const usd = (x: number): string => `$${x.toFixed(2)}`;

/** One line: scenario, fill rate, cost, failovers, time to start, stuck, wall time. */
export function summaryLine(r: RunResult, wallMs: number): string {
  const t = r.timeToStartSeconds;
  return (
    `${r.scenario} (${r.strategy}): ${r.workloads} workloads, fill rate ${pct(r.fillRate)}, ` +
    `started ${pct(r.startedShare)}, cost ${usd(r.totalCost)} (${usd(r.costPerGpuHour)}/GPU-h), ` +
    `failovers ${r.failovers}, time to start p50/p95/p99 ${t.p50}/${t.p95}/${t.p99} s, ` +
    `lost ${r.lost}, stuck ${r.stuck}; ${(wallMs / 1000).toFixed(2)} s wall`
  );
}

/** The sweep's table (Markdown): one row per scenario and strategy; deterministic. */
export function compareTable(
  rows: readonly { readonly scenario: string; readonly result: RunResult }[],
): string {
  const head =
    "| scenario | strategy | fill rate | started | cost (USD) | USD/GPU-h | failovers | start p50 / p95 / p99 (s) | stuck |\n" +
    "|---|---|---|---|---|---|---|---|---|";
  const lines = rows.map(({ scenario, result: r }) => {
    const t = r.timeToStartSeconds;
    return `| ${scenario} | ${r.strategy} | ${pct(r.fillRate)} | ${pct(r.startedShare)} | ${r.totalCost.toFixed(2)} | ${r.costPerGpuHour.toFixed(3)} | ${r.failovers} | ${t.p50} / ${t.p95} / ${t.p99} | ${r.stuck} |`;
  });
  return [head, ...lines].join("\n");
}
