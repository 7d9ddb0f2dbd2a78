// npm run wargame -- <scenario.yaml>… [--compare strategy=cheapest,balanced,fastest] [--out DIR]
//                    [--live [--compression N] [--kubeconfig PATH]]
//   Runs each scenario in fast mode and writes <name>.json and <name>.html to --out
//   (default docs/wargame); --compare runs every strategy and prints a table. --live also
//   plays it time-compressed (default 20×) against the real operator on a private control
//   plane (or --kubeconfig's cluster) and writes <name>.live.json with the comparison.
// Exit codes: 0 ok, 1 a run failed (lost or stuck workloads; live and fast disagree), 2 invalid
// scenario or usage, or a scenario live mode cannot play, 3 a scenario that can never fit.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { ROUTING_STRATEGIES } from "../crds/constants.ts";
import type { RoutingStrategy } from "../services/routing/index.ts";
import { runFast } from "./cli-fast.ts";
import { DEFAULT_LIVE_COMPRESSION, runLiveMode } from "./cli-live.ts";
import { neverFits } from "./feasibility.ts";
import { LivePlanError } from "./live-plan.ts";
import { parseScenario, ScenarioError, type Scenario } from "./scenario.ts";

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, runFailed: 1, invalid: 2, neverFits: 3 } as const;

const USAGE =
  "usage: npm run wargame -- <scenario.yaml>… [--compare strategy=a,b,c] [--out DIR] " +
  "[--live [--compression N] [--kubeconfig PATH]]";

const OPTIONS = {
  compare: { type: "string" },
  out: { type: "string" },
  quiet: { type: "boolean" },
  live: { type: "boolean" },
  compression: { type: "string" },
  kubeconfig: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

/** Runs the CLI with `argv` (without node and the script); returns the exit code. */
export async function main(
  argv: readonly string[],
  log: (s: string) => void = console.log,
): Promise<number> {
  let values: Values;
  let files: string[];
  try {
    const parsed = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
    values = parsed.values;
    files = parsed.positionals;
  } catch (err) {
    log(`usage: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.invalid;
  }
  const strategies = parseCompare(values.compare);
  const compression = parseCompression(values.compression);
  if (typeof strategies === "string" || typeof compression === "string" || files.length === 0) {
    const why = [files.length === 0 ? USAGE : undefined, strategies, compression];
    log(why.filter((x) => typeof x === "string").join("\n"));
    return EXIT.invalid;
  }
  const bad = combinationError(values, strategies);
  if (bad !== undefined) {
    log(bad);
    return EXIT.invalid;
  }
  const scenarios = await readScenarios(files, log);
  if (typeof scenarios === "number") return scenarios;
  const out = values.out ?? "docs/wargame";
  if (!values.live) {
    const failed = await runFast(scenarios, { strategies, out, quiet: !!values.quiet, log });
    return failed ? EXIT.runFailed : EXIT.ok;
  }
  try {
    const failed = await runLiveMode(scenarios, {
      compression,
      out,
      kubeconfig: values.kubeconfig,
      log,
    });
    return failed ? EXIT.runFailed : EXIT.ok;
  } catch (err) {
    if (!(err instanceof LivePlanError)) throw err;
    log(`live mode cannot play this scenario, nothing was started: ${err.message}`);
    return EXIT.invalid;
  }
}

// Options that do not go together, or undefined.
function combinationError(
  values: Values,
  strategies: readonly RoutingStrategy[] | undefined,
): string | undefined {
  if (values.live && strategies !== undefined) return "--compare: not with --live";
  if (!values.live && (values.compression ?? values.kubeconfig) !== undefined) {
    return "--compression and --kubeconfig: only with --live";
  }
  return undefined;
}

// The scenarios of `files`, or the exit code of the first invalid or never-fitting one.
async function readScenarios(
  files: readonly string[],
  log: (s: string) => void,
): Promise<Scenario[] | number> {
  const scenarios: Scenario[] = [];
  for (const f of files) {
    try {
      scenarios.push(parseScenario(await readFile(f, "utf8"), f));
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      log(err.message);
      return EXIT.invalid;
    }
  }
  for (const s of scenarios) {
    const why = neverFits(s);
    if (why.length > 0) {
      log(`${s.name}: these workloads can never fit, nothing was run:\n  ${why.join("\n  ")}`);
      return EXIT.neverFits;
    }
  }
  return scenarios;
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

/** The compression of `--compression N` (default 20), or an error text. */
export function parseCompression(arg: string | undefined): number | string {
  if (arg === undefined) return DEFAULT_LIVE_COMPRESSION;
  const n = Number(arg);
  return Number.isFinite(n) && n >= 1 ? n : `--compression: expected a number ≥ 1, got ${arg}`;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
