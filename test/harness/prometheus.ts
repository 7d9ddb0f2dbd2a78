/**
 * A private Prometheus for tests, built from its Go module by hack/prometheus/build.sh (the
 * version is pinned beside the control plane's, hack/controlplane/versions.env) and started on a
 * free 127.0.0.1 port with a generated configuration scraping the given targets, like the
 * private Postgres and Redis (ADR 0111).
 *
 *   const prom = await startPrometheus({ targets: [{ job: "operator", url: "http://127.0.0.1:8080/metrics" }] });
 *   await prom.waitForTargetsUp();
 *   const v = await prom.query("vaultmesh_provenance_coverage");
 *   await prom.stop();
 *
 * Set `VAULTMESH_TEST_KEEP=1` to keep its directory (configuration, TSDB, log) after `stop()`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { freePort, portConflict, startLoggedProcess, waitUntilReady } from "./server-process.ts";

/** One scrape target: `job` becomes the `job` label, `url` the full /metrics URL. */
export interface ScrapeTarget {
  readonly job: string;
  readonly url: string;
  /** For an https URL: the CA to trust (PEM file); unset skips verification (test servers). */
  readonly caFile?: string;
}

/** Options for {@link startPrometheus}. */
export interface StartPrometheusOptions {
  readonly targets: readonly ScrapeTarget[];
  /** Rule files to load (recording and alerting rules). */
  readonly ruleFiles?: readonly string[];
  /** Scrape and rule-evaluation interval, seconds. @default 1 */
  readonly intervalSeconds?: number;
  /** How long to wait for readiness. @default 30000 */
  readonly timeoutMs?: number;
}

/** One sample of an instant-query result. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A scrape target as the targets API reports it. */
export interface PromTarget {
  readonly job: string;
  readonly scrapeUrl: string;
  readonly health: "up" | "down" | "unknown";
  readonly lastError: string;
}

/** A running private Prometheus. */
export interface PrometheusServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** The directory holding promtool and prometheus. */
  readonly binDir: string;
  /** Evaluates `expr` now (an instant query); throws with Prometheus's error for a bad one. */
  query(expr: string): Promise<PromSample[]>;
  /** The active scrape targets. */
  targets(): Promise<PromTarget[]>;
  /** Waits until every target has been scraped successfully; the error lists the ones that are not. */
  waitForTargetsUp(timeoutMs?: number): Promise<PromTarget[]>;
  /** Waits until `expr` returns at least one sample; the error names the expression. */
  waitForSeries(expr: string, timeoutMs?: number): Promise<PromSample[]>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** The directory holding the pinned prometheus and promtool (built and cached on first use). */
export function prometheusBinDir(): string {
  const script = join(repoRoot, "hack/prometheus/build.sh");
  return execFileSync("bash", [script], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

/** The prometheus.yml scraping `targets` every `interval` seconds. Pure. */
export function prometheusConfig(
  targets: readonly ScrapeTarget[],
  intervalSeconds: number,
  ruleFiles: readonly string[] = [],
): string {
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const t of targets) jobs.set(t.job, [...(jobs.get(t.job) ?? []), t]);
  const scrapeConfigs = [...jobs].flatMap(([job, list]) =>
    list.map((t, i) => {
      const u = new URL(t.url);
      return {
        job_name: list.length > 1 ? `${job}-${i}` : job,
        scheme: u.protocol.replace(":", ""),
        metrics_path: u.pathname,
        ...(u.protocol === "https:"
          ? { tls_config: t.caFile ? { ca_file: t.caFile } : { insecure_skip_verify: true } }
          : {}),
        static_configs: [{ targets: [u.host], labels: { job } }],
      };
    }),
  );
  return stringify({
    global: {
      scrape_interval: `${intervalSeconds}s`,
      scrape_timeout: `${intervalSeconds}s`,
      evaluation_interval: `${intervalSeconds}s`,
    },
    ...(ruleFiles.length ? { rule_files: [...ruleFiles] } : {}),
    scrape_configs: scrapeConfigs,
  });
}

async function api<T>(base: string, path: string, params: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params).toString()}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") {
    throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
  }
  return body.data;
}

async function poll<T>(
  what: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
  describe: (v: T | undefined) => string,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await what();
    if (done(last)) return last;
    if (performance.now() > deadline) throw new Error(describe(last));
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts a private Prometheus; retries on another port when the chosen one is taken. */
export async function startPrometheus(opts: StartPrometheusOptions): Promise<PrometheusServer> {
  const binDir = prometheusBinDir();
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-prometheus-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(config, prometheusConfig(opts.targets, opts.intervalSeconds ?? 1, opts.ruleFiles));
  const cleanup = (): void => {
    if (!process.env.VAULTMESH_TEST_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const logFile = join(dir, `prometheus-${port}.log`);
    const proc = startLoggedProcess({
      command: join(binDir, "prometheus"),
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      logFile,
    });
    try {
      await waitUntilReady(
        proc,
        async () => (await fetch(`${base}/-/ready`)).ok,
        `prometheus on port ${port}`,
        opts.timeoutMs ?? 30_000,
      );
    } catch (err) {
      lastError = err;
      if (proc.exited() && portConflict(logFile)) continue;
      await proc.kill("SIGKILL");
      cleanup();
      throw err;
    }
    const query = async (expr: string): Promise<PromSample[]> => {
      const data = await api<{
        result: { metric: Record<string, string>; value: [number, string] }[];
      }>(base, "/api/v1/query", { query: expr });
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    };
    const targets = async (): Promise<PromTarget[]> => {
      const data = await api<{
        activeTargets: {
          labels: Record<string, string>;
          scrapeUrl: string;
          health: PromTarget["health"];
          lastError: string;
        }[];
      }>(base, "/api/v1/targets", { state: "active" });
      return data.activeTargets.map((t) => ({
        job: t.labels.job ?? "",
        scrapeUrl: t.scrapeUrl,
        health: t.health,
        lastError: t.lastError,
      }));
    };
    return {
      url: base,
      port,
      binDir,
      query,
      targets,
      waitForTargetsUp: (timeoutMs = 30_000) =>
        poll(
          targets,
          (ts) => ts.length === opts.targets.length && ts.every((t) => t.health === "up"),
          timeoutMs,
          (ts) =>
            `prometheus targets not all up after ${timeoutMs} ms: ${JSON.stringify(
              (ts ?? []).filter((t) => t.health !== "up"),
            )}`,
        ),
      waitForSeries: (expr, timeoutMs = 30_000) =>
        poll(
          () => query(expr),
          (r) => r.length > 0,
          timeoutMs,
          () => `prometheus: no series for ${expr} after ${timeoutMs} ms`,
        ),
      async stop() {
        await proc.kill("SIGTERM");
        cleanup();
      },
    };
  }
  cleanup();
  throw new Error(`prometheus: no free port after 5 tries: ${String(lastError)}`);
}
