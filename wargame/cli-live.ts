// Live mode of the CLI (`--live`, ADR 0133): each scenario played in fast mode and then,
// time-compressed, against the real operator on a control plane (wargame/live-stack.ts), and
// the two compared with the agreement test's tolerance. Writes `<name>.live.json`: the fast
// result exactly as fast mode writes it, the live result and the comparison.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runScenario } from "./engine.ts";
import { runLive } from "./live.ts";
import {
  DEFAULT_TOLERANCE,
  disagreements,
  livePlan,
  type LiveResult,
  type Tolerance,
} from "./live-plan.ts";
import { summaryLine } from "./report-text.ts";
import type { RunResult } from "./results.ts";
import type { Scenario } from "./scenario.ts";

/** Compression of `--live` without `--compression`: the agreement test's (ADR 0133). */
export const DEFAULT_LIVE_COMPRESSION = 20;

/** What a live run of the CLI was asked for. */
export interface LiveOptions {
  /** Simulated ms per wall ms. */
  readonly compression: number;
  readonly out: string;
  /** An existing cluster with the CRDs installed; a private control plane when undefined. */
  readonly kubeconfig: string | undefined;
  readonly log: (s: string) => void;
}

/** The file `--live` writes per scenario. */
export interface LiveComparison {
  readonly scenario: string;
  readonly compression: number;
  readonly fast: RunResult;
  readonly live: LiveResult;
  readonly tolerance: Tolerance;
  /** Where they disagree beyond the tolerance; empty when they agree. */
  readonly disagreements: readonly string[];
}

/**
 * Plays each scenario fast and live and writes the comparison; true when any disagreed or left
 * workloads unfinished. Every scenario is checked playable first: a LivePlanError (naming the
 * field) is thrown before anything is started.
 */
export async function runLiveMode(
  scenarios: readonly Scenario[],
  o: LiveOptions,
): Promise<boolean> {
  for (const s of scenarios) livePlan(s, o.compression);
  await mkdir(o.out, { recursive: true });
  let failed = false;
  for (const s of scenarios) {
    const t0 = performance.now();
    const fast = await runScenario(s);
    o.log(summaryLine(fast, performance.now() - t0));
    // Loaded here: the stack's imports (ledger, Postgres, operator) cost fast mode seconds.
    const { startLiveStack } = await import("./live-stack.ts");
    const stack = await startLiveStack(s, o.compression, { kubeconfig: o.kubeconfig, log: o.log });
    let live: LiveResult;
    try {
      const t1 = performance.now();
      live = await runLive(s, { ...stack, compression: o.compression, log: o.log });
      o.log(liveSummaryLine(live, o.compression, performance.now() - t1));
    } finally {
      await stack.stop();
    }
    const c: LiveComparison = {
      scenario: s.name,
      compression: o.compression,
      fast,
      live,
      tolerance: DEFAULT_TOLERANCE,
      disagreements: disagreements(fast, live, DEFAULT_TOLERANCE),
    };
    const file = path.join(o.out, `${s.name}.live.json`);
    await writeFile(file, JSON.stringify(c, null, 2) + "\n");
    if (c.disagreements.length > 0) {
      failed = true;
      o.log(`${s.name}: live and fast DISAGREE:\n  ${c.disagreements.join("\n  ")}`);
    } else {
      o.log(`${s.name}: live and fast agree within the tolerance; ${file}`);
    }
  }
  return failed;
}

/** One line for a live run, like fast mode's summary line. */
export function liveSummaryLine(r: LiveResult, compression: number, wallMs: number): string {
  const fill = r.fillRate === null ? "–" : `${(r.fillRate * 100).toFixed(2)} %`;
  return (
    `${r.scenario} (${r.strategy}) live at ${compression}×: ${r.workloads} workloads, ` +
    `fill rate ${fill}, failovers ${r.failovers}, succeeded ${r.succeeded}, failed ${r.failed}, ` +
    `stuck ${r.stuck}; ${(wallMs / 1000).toFixed(2)} s wall`
  );
}
