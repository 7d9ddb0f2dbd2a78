// Fast mode of the CLI: each scenario (or each strategy of `--compare`) on the virtual clock;
// `<name>.json` and `<name>.html` per run, or the sweep's table (compare.md, compare.json).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { RoutingStrategy } from "../services/routing/index.ts";
import { runScenario } from "./engine.ts";
import { renderReport } from "./report-html.ts";
import { compareTable, summaryLine } from "./report-text.ts";
import type { RunResult } from "./results.ts";
import type { Scenario } from "./scenario.ts";

/** What a fast run of the CLI was asked for. */
export interface FastOptions {
  /** The strategies of `--compare`; undefined: each scenario's own, with files per run. */
  readonly strategies: readonly RoutingStrategy[] | undefined;
  readonly out: string;
  readonly quiet: boolean;
  readonly log: (s: string) => void;
}

/** Runs `scenarios` in fast mode; true when a run lost or left stuck workloads. */
export async function runFast(scenarios: readonly Scenario[], o: FastOptions): Promise<boolean> {
  await mkdir(o.out, { recursive: true });
  let failed = false;
  const rows: { scenario: string; result: RunResult; wallMs: number }[] = [];
  for (const s of scenarios) {
    for (const strategy of o.strategies ?? [s.strategy]) {
      const t0 = performance.now();
      const result = await runScenario(s, { strategy });
      const wallMs = performance.now() - t0;
      rows.push({ scenario: s.name, result, wallMs });
      if (result.lost > 0 || result.stuck > 0) failed = true;
      if (o.strategies === undefined) {
        const base = path.join(o.out, s.name);
        // Wall time is left out: the files are deterministic (wargame/bench.ts measures speed).
        await writeFile(`${base}.json`, JSON.stringify(result, null, 2) + "\n");
        await writeFile(`${base}.html`, renderReport(s, result));
        if (!o.quiet) o.log(summaryLine(result, wallMs));
      }
    }
  }
  if (o.strategies !== undefined) await writeSweep(rows, o);
  return failed;
}

async function writeSweep(
  rows: readonly { scenario: string; result: RunResult }[],
  o: FastOptions,
): Promise<void> {
  const table = compareTable(rows);
  o.log(table);
  await writeFile(path.join(o.out, "compare.md"), table + "\n");
  await writeFile(
    path.join(o.out, "compare.json"),
    JSON.stringify(
      rows.map((r) => ({ ...r.result, series: undefined, events: undefined })),
      null,
      2,
    ) + "\n",
  );
}
