// Issue 14: a real Prometheus (built from its Go module, test/harness/prometheus.ts) scrapes
// the processes of a test run — the operator (a child process of operator/main.ts), the
// admission webhooks (HTTPS, registered with the API server), the ledger's proof API
// (`remembrancer serve`, publishing tree heads), the TSA (`remembrancer tsa serve`) and the
// provider simulator — while a workload completes under an in-cluster treaty and an external
// treaty's endpoint is probed. Every target is up, and the four KPIs, RED, the controllers'
// and the ledger's own metrics have data, each KPI's query (services/kpi) included.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Registry } from "prom-client";
import { Kpi, kpiQuery } from "../../services/kpi/index.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { startProviderSim, type RunningSim } from "../../services/provider-sim/index.ts";
import { WebhookMetrics } from "../../webhooks/metrics.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { createTestNamespace, waitFor } from "../harness/kube.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../harness/postgres.ts";
import { startPrometheus, type PrometheusServer } from "../harness/prometheus.ts";
import {
  freePort,
  startLoggedProcess,
  waitUntilReady,
  type LoggedProcess,
} from "../harness/server-process.ts";
import { startTestWebhook, type TestWebhook } from "../harness/webhook.ts";
import {
  createTreaty,
  snapshot,
  spawnOperator,
  testClient,
  type OperatorProcess,
} from "./operator-env.ts";
import { getText, operatorHttpPort } from "./outage-env.ts";

const run = promisify(execFile);
const id = Math.random().toString(36).slice(2, 8);
const label = `vaultmesh.cloud/test-run=prom-${id}`;
const inCluster = `prom-in-${id}`;
const external = `prom-ext-${id}`;
const extra = `prom-extra-${id}`;
const dir = mkdtempSync(join(tmpdir(), "vaultmesh-prometheus-scrape-"));
const keyDir = join(dir, "keys");
const tsaDir = join(dir, "tsa");
let client: KubeClient;
let ns = "";
let pgServer: PostgresServer;
let db: TestDatabase;
let tsa: LoggedProcess | undefined;
let publisher: LoggedProcess | undefined;
let operator: OperatorProcess | undefined;
let hook: TestWebhook | undefined;
let sim: RunningSim | undefined;
let prom: PrometheusServer | undefined;
const ports = { tsa: 0, ledger: 0, operator: 0 };

const remembrancer = (args: string[], log: string): LoggedProcess =>
  startLoggedProcess({
    command: "node_modules/.bin/node",
    args: ["bin/remembrancer.js", ...args],
    logFile: join(dir, log),
  });

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("prom");
  pgServer = await startPostgres();
  db = await pgServer.createDatabase("prom_scrape");
  await run("node_modules/.bin/node", ["bin/remembrancer.js", "keygen", "--dir", keyDir]);
  ports.tsa = await freePort();
  tsa = remembrancer(["tsa", "serve", "--port", String(ports.tsa), "--dir", tsaDir], "tsa.log");
  await waitUntilReady(
    tsa,
    async () => (await getText(ports.tsa, "/tsa-ca.crt")).status === 200,
    "the TSA",
  );
  ports.ledger = await freePort();
  publisher = remembrancer(
    [
      "serve",
      "--port",
      String(ports.ledger),
      "--db",
      db.url,
      "--key-dir",
      keyDir,
      "--tsa",
      `http://127.0.0.1:${ports.tsa}`,
      "--tsa-ca",
      join(tsaDir, "tsa-ca.crt"),
      "--publish-every",
      "1",
    ],
    "publisher.log",
  );
  await waitUntilReady(
    publisher,
    async () => (await getText(ports.ledger, "/healthz")).status === 200,
    "the ledger's proof API",
  );
  operator = spawnOperator({
    VAULTMESH_LEADER_ELECT: "false",
    VAULTMESH_WATCH_NAMESPACE: ns,
    VAULTMESH_TREATY_SELECTOR: label,
    VAULTMESH_LEDGER_URL: db.url,
    VAULTMESH_SIGNING_KEY_FILE: join(keyDir, "ed25519.key"),
    VAULTMESH_LEDGER_TIMESTAMPING: "true",
    VAULTMESH_TIMESTAMP_PENDING_REQUEUE_MS: "1000",
  });
  ports.operator = await operatorHttpPort(operator);
  // The Treaty validating webhook only, scoped to this file's objects by its label.
  hook = await startTestWebhook({
    prefix: "prom",
    only: ["treaties.validate.vaultmesh.cloud"],
    deps: { metrics: new WebhookMetrics(undefined, { process: true }) },
  });
  sim = await startProviderSim({
    clock: systemClock,
    provider: "sim",
    regions: ["local"],
    metrics: new Registry(),
  });
  prom = await startPrometheus({
    targets: [
      { job: "operator", url: `http://127.0.0.1:${ports.operator}/metrics` },
      { job: "webhooks", url: `${hook.server.url}/metrics` },
      { job: "ledger", url: `http://127.0.0.1:${ports.ledger}/metrics` },
      { job: "tsa", url: `http://127.0.0.1:${ports.tsa}/metrics` },
      { job: "provider-sim", url: `${sim.url}/metrics` },
    ],
  });
}, 180_000);

afterAll(async () => {
  await prom?.stop();
  operator?.kill("SIGKILL");
  await operator?.exited;
  await publisher?.kill("SIGTERM");
  await tsa?.kill("SIGKILL");
  await hook?.stop();
  await sim?.close();
  for (const t of [inCluster, external, extra]) await client.delete(Resources.Treaty, { name: t });
  await client.delete(Resources.Namespace, { name: ns });
  await db?.drop();
  await pgServer?.stop();
  client.close();
}, 60_000);

/** The value of the single sample `expr` returns (waiting for one). */
async function value(p: PrometheusServer, expr: string): Promise<number> {
  const r = await p.waitForSeries(expr, 60_000);
  expect([expr, r.length]).toEqual([expr, 1]);
  return r[0]!.value;
}

describe("a live Prometheus scraping a test run", () => {
  it("has every target up and data for the KPIs, RED, controllers and the ledger", async () => {
    const p = prom!;
    const scope = hook!.labels;
    await createTreaty(client, treaty(inCluster).inCluster("a10g", 0.5).labels(scope).obj(), label);
    await createTreaty(
      client,
      treaty(external)
        .external("sim", sim!.url, 5)
        .vaultLaw({ governance: "DAO vote #PROM-001" })
        .labels(scope)
        .obj(),
      label,
    );
    await client.create(
      Resources.GPUWorkload,
      gpuWorkload("scraped", ns).completeAfter("300ms").obj(),
    );
    await waitFor(
      "the workload's receipt to be logged",
      async () =>
        (await snapshot(client, ns)).receipts.some((r) =>
          r.status?.conditions?.some((c) => c.type === "Logged" && c.status === "True"),
        ),
      90_000,
    );

    const targets = await p.waitForTargetsUp(60_000);
    expect(targets.map((t) => t.job).sort()).toEqual(
      ["ledger", "operator", "provider-sim", "tsa", "webhooks"].sort(),
    );

    // The four KPIs.
    expect(await value(p, `vaultmesh_treaty_fill_rate{job="operator",treaty="${inCluster}"}`)).toBe(
      1,
    );
    expect(
      await value(p, `vaultmesh_treaty_rtt_seconds_count{job="operator",treaty="${external}"} > 0`),
    ).toBeGreaterThan(0);
    await waitFor(
      "provenance coverage to count the completed workload",
      async () =>
        (await p.query('vaultmesh_provenance_covered_workloads{job="operator"} >= 1')).length === 1,
      60_000,
    );
    expect(await value(p, 'vaultmesh_provenance_coverage{job="operator"}')).toBe(1);
    expect(
      await value(
        p,
        'sum(vaultmesh_webhook_decision_duration_seconds_count{job="webhooks",policy="treaty"}) > 0',
      ),
    ).toBeGreaterThanOrEqual(2);
    // RED of every server, through the one helper.
    for (const job of ["operator", "webhooks", "ledger", "tsa", "provider-sim"]) {
      const server = job;
      await p.waitForSeries(
        `vaultmesh_http_requests_total{job="${job}",server="${server}",route="/metrics",code="200"}`,
        60_000,
      );
    }
    await p.waitForSeries(
      'vaultmesh_http_requests_total{job="webhooks",route="/validate/treaties",method="POST",code="200"}',
    );
    await p.waitForSeries('vaultmesh_http_requests_total{job="tsa",route="/",method="POST"}');

    // Controllers and queues.
    await p.waitForSeries('vaultmesh_reconcile_total{job="operator",controller="gpuworkload"}');
    await p.waitForSeries('vaultmesh_workqueue_adds_total{job="operator",controller="treaty"}');
    await p.waitForSeries('vaultmesh_workqueue_depth{job="operator",controller="gpuworkload"}');

    // The ledger's own: the operator appended, the publisher published with the TSA.
    expect(
      await value(p, 'vaultmesh_ledger_appends_total{job="operator",result="appended"} > 0'),
    ).toBeGreaterThanOrEqual(1);
    expect(await value(p, 'vaultmesh_ledger_tree_size{job="ledger"} > 0')).toBeGreaterThanOrEqual(
      1,
    );
    await p.waitForSeries(
      'vaultmesh_ledger_publications_total{job="ledger",result="published"} > 0',
      60_000,
    );
    await p.waitForSeries('vaultmesh_ledger_tsa_request_duration_seconds_count{job="ledger"} > 0');
    await p.waitForSeries('vaultmesh_ledger_publish_lag_seconds_count{job="ledger"} > 0');
    await p.waitForSeries('vaultmesh_dependency_up{job="ledger"} == 1');

    // Bounded labels: no series names the workload, its uid or its namespace.
    const w = (await snapshot(client, ns)).workloads[0];
    const series = await fetch(
      `${p.url}/api/v1/series?${new URLSearchParams({ "match[]": '{__name__=~"vaultmesh_.+"}' }).toString()}`,
    ).then((res) => res.json() as Promise<{ data: Record<string, string>[] }>);
    expect(series.data.length).toBeGreaterThan(100);
    for (const v of [w?.metadata.name, w?.metadata.uid, ns]) {
      const named = series.data.filter((s) =>
        Object.entries(s).some(([k, x]) => k !== "__name__" && x === v),
      );
      expect([v, named]).toEqual([v, []]);
    }

    // Each KPI's one query (services/kpi) returns a number over the run. A histogram's
    // quantile is NaN until its count grew inside the window (Prometheus does not take a new
    // series' first count as an increase): the next RTT probe comes 30 s after the first, and
    // one more admission request makes the decision-time histogram grow once it is scraped.
    await createTreaty(client, treaty(extra).inCluster("a10g", 0.7).labels(scope).obj(), "x=y");
    for (const kpi of Object.values(Kpi)) {
      const v = await waitFor(
        `a number for the ${kpi} query`,
        async () => {
          const r = await p.query(kpiQuery(kpi, "5m"));
          return r.length === 1 && Number.isFinite(r[0]?.value) ? r[0]?.value : undefined;
        },
        90_000,
      );
      expect(v).toBeGreaterThanOrEqual(0);
    }
  }, 240_000);
});
