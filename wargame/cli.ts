// npm run wargame -- <scenario.yaml>… [--compare strategy=cheapest,balanced,fastest] [--out DIR]
//   Runs each scenario in fast mode and writes <name>.json and <name>.html to --out
//   (default docs/wargame); --compare runs every strategy and prints a table.
// Exit codes: 0 ok, 1 a run failed (lost or stuck workloads), 2 invalid scenario or usage,
// 3 a scenario that can never fit.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROUTING_STRATEGIES } from "../crds/constants.ts";
import type { RoutingStrategy } from "../services/routing/index.ts";
import { runScenario } from "./engine.ts";
import { neverFits } from "./feasibility.ts";
import { renderReport } from "./report-html.ts";
import { compareTable, summaryLine } from "./report-text.ts";
import type { RunResult } from "./results.ts";
import { parseScenario, ScenarioError, type Scenario } from "./scenario.ts";

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, runFailed: 1, invalid: 2, neverFits: 3 } as const;

/** Runs the CLI with `argv` (without node and the script); returns the exit code. */
export async function main(
  argv: readonly string[],
  log: (s: string) => void = console.log,
): Promise<number> {
  let values: { compare?: string; out?: string; quiet?: boolean };
  let files: string[];
  try {
    const parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { compare: { type: "string" }, out: { type: "string" }, quiet: { type: "boolean" } },
    });
    values = parsed.values;
    files = parsed.positionals;
  } catch (err) {
    log(`usage: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.invalid;
  }
  if (files.length === 0) {
    log("usage: npm run wargame -- <scenario.yaml>… [--compare strategy=a,b,c] [--out DIR]");
    return EXIT.invalid;
  }
  const strategies = parseCompare(values.compare);
  if (typeof strategies === "string") {
    log(strategies);
    return EXIT.invalid;
  }
  const out = values.out ?? "docs/wargame";
  const scenarios: Scenario[] = [];
  for (const f of files) {
    try {
      scenarios.push(parseScenario(await readFile(f, "utf8"), f));
    } catch (err) {
      if (err instanceof ScenarioError) {
        log(err.message);
        return EXIT.invalid;
      }
      throw err;
    }
  }
  for (const s of scenarios) {
    const why = neverFits(s);
    if (why.length > 0) {
      log(`${s.name}: these workloads can never fit, nothing was run:\n  ${why.join("\n  ")}`);
      return EXIT.neverFits;
    }
  }
  await mkdir(out, { recursive: true });
  let code: number = EXIT.ok;
  const rows: { scenario: string; result: RunResult; wallMs: number }[] = [];
  for (const s of scenarios) {
    for (const strategy of strategies ?? [s.strategy]) {
      const t0 = performance.now();
      const result = await runScenario(s, { strategy });
      const wallMs = performance.now() - t0;
      rows.push({ scenario: s.name, result, wallMs });
      if (result.lost > 0 || result.stuck > 0) code = EXIT.runFailed;
      if (strategies === undefined) {
        const base = path.join(out, s.name);
        // Wall time is left out: the files are deterministic (wargame/bench.ts measures speed).
        await writeFile(`${base}.json`, JSON.stringify(result, null, 2) + "\n");
        await writeFile(`${base}.html`, renderReport(s, result));
        if (!values.quiet) log(summaryLine(result, wallMs));
      }
    }
  }
  if (strategies !== undefined) {
    const table = compareTable(rows);
    log(table);
    await writeFile(path.join(out, "compare.md"), table + "\n");
    await writeFile(
      path.join(out, "compare.json"),
      JSON.stringify(
        rows.map((r) => ({
          ...r.result,
          series: undefined,
          events: undefined,
        })),
        null,
        2,
      ) + "\n",
    );
  }
  return code;
}

/** The strategies of `--compare strategy=a,b`, undefined without it, or an error text. */
export function parseCompare(arg: string | undefined): RoutingStrategy[] | undefined | string {
  if (arg === undefined) return undefined;
  const m = /^strategy=(.+)$/.exec(arg);
  if (!m) return `--compare: expected strategy=<a,b,…>, got ${arg}`;
  const names = m[1]!.split(",");
  const bad = names.filter((n) => !(ROUTING_STRATEGIES as readonly string[]).includes(n));
  if (bad.length > 0) {
    return `--compare: unknown strategy ${bad.join(", ")} (expected one of ${ROUTING_STRATEGIES.join(", ")})`;
  }
  return names as RoutingStrategy[];
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
