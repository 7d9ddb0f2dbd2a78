/**
 * The soak (ADR 0117): the whole product as processes on a control plane of its own (the chaos
 * suite's stack, test/chaos/stack.ts) with a private Prometheus scraping the operators, the
 * webhooks and the ledger and loading deploy/prometheus/rules.yaml; a realistic mix for N
 * minutes (the chaos suite's load: tenants, workloads on the GPU pool and on the provider
 * simulator, requests the webhooks deny) with provider outages (failovers); then the SLO report
 * over the soak's window, signed and recorded in the stack's ledger, every dashboard query and
 * every rule evaluated against the same Prometheus. Shared by `npm run soak` and the 2-minute
 * test in `make test`.
 */
import { copyFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pino } from "pino";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { dashboardQueries } from "../../hack/observability/dashboard.ts";
import { DASHBOARD_FILE, RULES_FILE } from "../../hack/generate-observability.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { KPIS } from "../../services/slo/slo-definitions.ts";
import { runVaultmeshCli } from "../../services/slo/slo-cli.ts";
import { warmUp } from "../chaos/chaos-run.ts";
import { LoadGenerator, type LoadCounts } from "../chaos/load.ts";
import { startStack, type ChaosStack } from "../chaos/stack.ts";
import { startPrometheus, type PrometheusServer } from "../harness/prometheus.ts";

/** Options of {@link runSoak}. */
export interface SoakOptions {
  readonly minutes: number;
  readonly tenants: number;
  readonly tickMs: number;
  /** A provider-simulator outage starts this long after the previous one ended. */
  readonly outageEveryMs: number;
  readonly outageMs: number;
  /** The report file (its .html, evidence and trust files go beside it). */
  readonly out: string;
  readonly log?: (msg: string) => void;
}

/** A query that errored or returned no series. */
export interface QueryProblem {
  readonly what: string;
  readonly expr: string;
  readonly problem: string;
}

/** What a soak produced. */
export interface SoakResult {
  readonly seconds: number;
  readonly window: string;
  readonly load: LoadCounts;
  readonly outages: number;
  /** `vaultmesh slo-report` exit code and output (0 pass, 1 a target missed, 2 no report). */
  readonly report: { readonly code: number; readonly output: string; readonly file: string };
  /** Public trust files beside the report: `remembrancer verify-full FILE --trust A --trust B`. */
  readonly trustFiles: readonly string[];
  readonly scrapeTargets: readonly { job: string; health: string }[];
  readonly dashboardQueries: number;
  readonly dashboardProblems: readonly QueryProblem[];
  readonly rules: number;
  readonly ruleProblems: readonly QueryProblem[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `expr` and reports an error or an empty result. */
async function check(
  prom: PrometheusServer,
  what: string,
  expr: string,
  needSeries: boolean,
): Promise<QueryProblem | undefined> {
  try {
    const r = await prom.query(expr);
    return needSeries && r.length === 0 ? { what, expr, problem: "no series" } : undefined;
  } catch (err) {
    return { what, expr, problem: (err as Error).message };
  }
}

/** Every dashboard panel's query, Grafana's variables replaced as Grafana would. */
async function checkDashboard(prom: PrometheusServer, window: string): Promise<QueryProblem[]> {
  const model = JSON.parse(await readFile(join(repoRoot, DASHBOARD_FILE), "utf8")) as unknown;
  const problems: QueryProblem[] = [];
  for (const q of dashboardQueries(model)) {
    const expr = q.expr.replaceAll("$__rate_interval", "30s").replaceAll("$__range", window);
    const p = await check(prom, `panel "${q.panel}"`, expr, true);
    if (p) problems.push(p);
  }
  return problems;
}

interface RulesApi {
  data: {
    groups: { rules: { name: string; query: string; health: string; lastError?: string }[] }[];
  };
}

/** Every loaded rule's health, and each expression evaluated once more through the query API. */
async function checkRules(
  prom: PrometheusServer,
): Promise<{ n: number; problems: QueryProblem[] }> {
  const res = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as RulesApi;
  const rules = res.data.groups.flatMap((g) => g.rules);
  const problems: QueryProblem[] = [];
  for (const r of rules) {
    if (r.health === "err")
      problems.push({ what: `rule ${r.name}`, expr: r.query, problem: r.lastError ?? "err" });
    const p = await check(prom, `rule ${r.name}`, r.query, false);
    if (p) problems.push(p);
  }
  return { n: rules.length, problems };
}

/** Drives the load with provider outages until `minutes` have passed. */
async function drive(stack: ChaosStack, load: LoadGenerator, o: SoakOptions): Promise<number> {
  const log = o.log ?? (() => {});
  const end = Date.now() + o.minutes * 60_000;
  let outages = 0;
  load.start();
  while (Date.now() + o.outageEveryMs + o.outageMs < end) {
    await sleep(o.outageEveryMs);
    await stack.kill("provider-sim");
    await sleep(o.outageMs);
    await stack.restore("provider-sim");
    outages++;
    log(`provider outage ${outages} (${o.outageMs} ms)`);
  }
  await sleep(Math.max(0, end - Date.now()));
  await load.stop();
  return outages;
}

/** Runs the soak; the stack and Prometheus are stopped before it returns. */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const stack = await startStack({ log });
  let prom: PrometheusServer | undefined;
  const load = new LoadGenerator(stack.client, o.tickMs);
  try {
    prom = await startPrometheus({
      targets: stack.metricsTargets,
      ruleFiles: [join(repoRoot, RULES_FILE)],
      intervalSeconds: 1,
    });
    const scrapeTargets = (await prom.waitForTargetsUp(60_000)).map((t) => ({
      job: t.job,
      health: t.health,
    }));
    await warmUp(stack, load, {
      mode: "short",
      tenants: o.tenants,
      tickMs: o.tickMs,
      outageMs: o.outageMs,
      recoveryTimeoutMs: 120_000,
      log,
    });
    log(`warm after ${((Date.now() - t0) / 1000).toFixed(1)}s; soaking ${o.minutes} min`);
    const outages = await drive(stack, load, o);
    const loadStopped = Date.now() / 1000;
    // Every KPI's series present before the window closes, and every target scraped again after
    // the load stopped (its `up` sample is timestamped at the scrape's start), so the last
    // completions are in Prometheus before the report's window is fixed.
    for (const k of KPIS) for (const s of k.series) await prom.waitForSeries(s, 60_000);
    await prom.waitForSeries(
      `count(timestamp(up == 1) > ${loadStopped}) >= ${stack.metricsTargets.length}`,
      60_000,
    );
    const window = `${Math.ceil((Date.now() - t0) / 1000)}s`;
    const out = resolve(o.out);
    let output = "";
    const code = await runVaultmeshCli(
      [
        "slo-report",
        "--prometheus",
        prom.url,
        "--window",
        window,
        "--out",
        out,
        "--html",
        "--record",
        "--db",
        stack.dbUrl,
        "--key-dir",
        stack.keyDir,
        "--tsa",
        stack.tsaUrl,
        "--tsa-ca",
        stack.tsaCaFile,
      ],
      {
        stdout: (t) => void (output += t),
        stderr: (t) => void (output += t),
        env: {},
        cwd: dirname(out),
        clock: systemClock,
        logger: pino({ level: "silent" }),
      },
    );
    log(output.trimEnd());
    // The stack's directory goes with it: keep the public halves, so the evidence stays checkable.
    const trustFiles = [`${out}.trust.json`, `${out}.tsa-ca.crt`];
    copyFileSync(join(stack.keyDir, "trust.json"), trustFiles[0] as string);
    copyFileSync(stack.tsaCaFile, trustFiles[1] as string);
    const dashboardProblems = await checkDashboard(prom, window);
    const rules = await checkRules(prom);
    const dashboard = JSON.parse(await readFile(join(repoRoot, DASHBOARD_FILE), "utf8")) as unknown;
    return {
      seconds: Math.round((Date.now() - t0) / 1000),
      window,
      load: load.counts,
      outages,
      report: { code, output, file: out },
      trustFiles,
      scrapeTargets,
      dashboardQueries: dashboardQueries(dashboard).length,
      dashboardProblems,
      rules: rules.n,
      ruleProblems: rules.problems,
    };
  } finally {
    await load.stop();
    await prom?.stop();
    await stack.stop();
  }
}
