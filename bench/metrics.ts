// /metrics render time and series count per process with 10k cached objects (issue 14; goal for
// the operator: ≤ 20 ms and ≤ 2,000 series). Each process's registry is wired as its main wires
// it — the operator's (controllers, queues, KPI gauges computed from the caches at scrape time,
// its ledger's appends, RED, dependencies, Node.js process metrics), the webhook server's, the
// ledger server's (its tree gauges read from a stand-in pool: the render time excludes that one
// query), the TSA's and the provider simulator's — then driven with traffic over every label
// value a busy process would have (5 controllers, every HTTP route, the webhook policies, T
// treaties, 100 tenants), and rendered R times. JSON on stdout. Never part of `make test`.
//   npm run bench:metrics [-- --objects 10000 --treaties 20 --renders 200]
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { GPUWorkload, Receipt, Tenant } from "../crds/index.ts";
import { OperatorMetrics } from "../operator/metrics.ts";
import {
  DependencyHealth,
  registerDependencyMetrics,
} from "../services/dependency-health/index.ts";
import { LedgerMetrics } from "../services/ledger/ledger-metrics.ts";
import { HttpMetrics, processMetrics } from "../services/metrics/index.ts";
import { WEBHOOK_ENDPOINTS } from "../webhooks/endpoints.ts";
import { WebhookMetrics } from "../webhooks/metrics.ts";

const { values } = parseArgs({
  options: {
    objects: { type: "string", default: "10000" },
    treaties: { type: "string", default: "20" },
    renders: { type: "string", default: "200" },
  },
});
const objects = Number(values.objects);
const treaties = Number(values.treaties);
const renders = Number(values.renders);
for (const [k, v] of Object.entries({ objects, treaties, renders })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`--${k}: expected an integer ≥ 1`);
    process.exit(2);
  }
}

const health = (): DependencyHealth => {
  const h = new DependencyHealth({
    clock: { now: () => new Date() },
    logger: pino({ level: "silent" }),
  });
  for (const d of ["kube-apiserver", "ledger-postgres", "redis", "stripe", "discord"]) {
    h.register(d).up();
  }
  return h;
};

/** Half the objects are GPUWorkloads (finished, with attempts), half their Receipts. */
function caches(n: number) {
  const half = Math.floor(n / 2);
  const workloads = Array.from({ length: half }, (_, i) => ({
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "GPUWorkload",
    metadata: { name: `wl-${i}`, namespace: `tenant-${i % 100}`, uid: `uid-${i}` },
    spec: { gpu: { type: "a10g", count: 1 } },
    status: {
      attempts: [
        ...(i % 7 === 0
          ? [
              {
                attempt: 1,
                treaty: `treaty-${(i + 1) % treaties}`,
                provider: "p",
                outcome: "Abandoned",
              },
            ]
          : []),
        { attempt: 2, treaty: `treaty-${i % treaties}`, provider: "p", outcome: "Succeeded" },
      ],
      conditions: [{ type: "Complete", status: "True", reason: "Succeeded" }],
      receiptRef: { name: `r-${i}` },
    },
  })) as unknown as GPUWorkload[];
  const receipts = new Map(
    Array.from({ length: n - half }, (_, i) => [
      `tenant-${i % 100}/r-${i}`,
      {
        metadata: { name: `r-${i}`, namespace: `tenant-${i % 100}` },
        status: { conditions: [{ type: "Logged", status: i % 50 === 0 ? "False" : "True" }] },
      } as unknown as Receipt,
    ]),
  );
  return {
    workloads: { list: () => workloads },
    receipts: { get: (name: string, ns?: string) => receipts.get(`${ns}/${name}`) },
  };
}

function traffic(http: HttpMetrics, routes: readonly string[], methods: readonly string[]): void {
  for (const route of routes) {
    for (const method of methods) {
      for (const code of [200, 404, 503]) {
        http.started();
        http.finished(route, method, code, 0.004);
      }
    }
  }
  http.started();
  http.finished("unmatched", "GET", 404, 0.001);
}

function operator(): Registry {
  const m = new OperatorMetrics();
  registerDependencyMetrics(health(), m.registry);
  const ledger = new LedgerMetrics(m.registry);
  const c = caches(objects);
  m.kubeRequestsFrom(
    new Map(
      ["GET", "LIST", "POST", "PUT", "PATCH", "DELETE"].flatMap((v) =>
        ["jobs", "pods", "gpuworkloads/status", "treaties/status", "receipts", "events"].map(
          (r) => [`${v} ${r}`, 10] as const,
        ),
      ),
    ),
  );
  m.cachedObjectsFrom(() => objects);
  m.provenanceFrom(c.workloads, c.receipts);
  m.treatyFillRateFrom(c.workloads);
  const tenants = Array.from({ length: 100 }, (_, i) => ({
    metadata: { name: `acme-${i}` },
    status: {
      usage: { gpusInUse: i % 8, gpuHoursThisPeriod: i * 3.5, costMicroUsd: i * 1_000_000 },
    },
  })) as unknown as Tenant[];
  m.tenantUsageFrom({ list: () => tenants });
  for (const controller of ["gpuworkload", "treaty", "tenant", "receipt", "federationpeer"]) {
    for (const outcome of ["success", "requeue", "error", "terminal"] as const) {
      m.reconciled(controller, outcome, 0.01);
    }
    m.queueDepth(controller, 3);
    m.queued(controller);
    m.retried(controller);
  }
  for (let t = 0; t < treaties; t++) {
    m.placed(`treaty-${t}`);
    m.treatyRtt(`treaty-${t}`, 120);
  }
  m.routingDecision(0.0002);
  m.completed("Succeeded");
  m.leader(true);
  ledger.append("appended", 0.01);
  traffic(new HttpMetrics(m.registry, "operator"), ["/metrics", "/healthz", "/readyz"], ["GET"]);
  return m.registry;
}

function webhooks(): Registry {
  const m = new WebhookMetrics(undefined, { process: true });
  registerDependencyMetrics(health(), m.registry);
  for (const e of WEBHOOK_ENDPOINTS) {
    for (const decision of ["allowed", "denied", "patched", "error"]) {
      m.decisions.inc({ policy: e.policy, decision });
    }
    m.decisionSeconds.observe({ policy: e.policy }, 0.0004);
  }
  for (const reason of ["malformed", "too_large", "unsupported"]) m.rejected.inc({ reason });
  traffic(
    m.http,
    [...new Set(WEBHOOK_ENDPOINTS.map((e) => e.path)), "/metrics", "/healthz", "/readyz"],
    ["POST", "GET"],
  );
  return m.registry;
}

function ledgerServer(): Registry {
  const r = new Registry();
  processMetrics(r);
  registerDependencyMetrics(health(), r);
  const l = new LedgerMetrics(r);
  const size = objects * 10;
  l.treeGaugesFrom({
    query: (() =>
      Promise.resolve({ rows: [{ size: String(size), published: String(size - 3) }] })) as never,
  });
  l.append("appended", 0.01);
  l.publication("published", 1.2);
  const routes = [
    "/v1/tree-head",
    "/v1/checkpoint",
    "/v1/entries",
    "/v1/proof/inclusion",
    "/v1/proof/consistency",
    "/v1/receipts/:digest",
    "/v1/bundles/:digest",
    "/v1/witness/add-checkpoint",
    "/v1/witness/checkpoint",
    "/v1/federation/receipts",
    "/metrics",
    "/healthz",
    "/readyz",
  ];
  traffic(new HttpMetrics(r, "ledger"), routes, ["GET", "POST"]);
  return r;
}

function small(server: string, routes: readonly string[]): Registry {
  const r = new Registry();
  processMetrics(r);
  traffic(new HttpMetrics(r, server), routes, ["GET", "POST"]);
  return r;
}

async function measure(name: string, registry: Registry) {
  await registry.metrics(); // warm-up (JIT, first collect)
  const ms: number[] = [];
  let text = "";
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < renders; i++) {
    const t0 = performance.now();
    text = await registry.metrics();
    ms.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  ms.sort((a, b) => a - b);
  const q = (p: number): number =>
    Math.round((ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)] ?? 0) * 100) / 100;
  const series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
  const perObject = /wl-\d|uid-\d|tenant-\d|r-\d/.test(text);
  return {
    process: name,
    series,
    metrics: registry.getMetricsAsArray().length,
    bytes: Buffer.byteLength(text),
    renderMs: { p50: q(0.5), p95: q(0.95), max: q(1) },
    // CPU time per render (user + system): what a render costs, less the machine's contention.
    cpuMsPerRender: Math.round(((cpu.user + cpu.system) / 1000 / renders) * 100) / 100,
    perObjectSeries: perObject,
  };
}

const results = [
  await measure("operator", operator()),
  await measure("webhooks", webhooks()),
  await measure("ledger", ledgerServer()),
  await measure(
    "tsa",
    small("tsa", ["/", "/tsa", "/tsa.crt", "/tsa-ca.crt", "/healthz", "/metrics"]),
  ),
  await measure(
    "provider-sim",
    small("provider-sim", ["/v1/health", "/v1/offers", "/v1/jobs", "/v1/jobs/:id", "/metrics"]),
  ),
];
const op = results[0]!;
const [load1] = loadavg();
console.log(
  JSON.stringify(
    {
      bench: "metrics",
      objects,
      treaties,
      renders,
      machine: { cpus: cpus().length, load1: Math.round((load1 ?? 0) * 100) / 100 },
      goal: { operatorRenderMsP95: 20, operatorSeries: 2000 },
      operatorMeetsGoal: op.renderMs.p95 <= 20 && op.series <= 2000 && !op.perObjectSeries,
      processes: results,
    },
    null,
    2,
  ),
);
