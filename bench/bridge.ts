// The tenant API under load (issue 15): the bridge runs as its own process
// (services/bridge/main.ts, as deployed) against a private control plane, Postgres and Redis
// with one tenant provisioned by the real Tenant controller. Phase 1 holds an open-loop rate of
// read requests (GET /v1/workloads, GET /v1/workloads/{name}, GET /v1/usage, POST /v1/quote)
// for --seconds and reports achieved throughput, p50/p95/p99 and errors; phase 2 measures
// POST /v1/workloads end to end (create as the tenant through impersonation) at a fixed
// concurrency. Prints JSON. Never part of `make test`.
//   npm run bench:bridge [-- --rate 1000 --seconds 60 --creates 300 --kubeconfig PATH]
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { crdCluster } from "../hack/cluster/crd-cluster.ts";
import { KubeClient, Resources, type KubeObject } from "../services/kube/index.ts";
import { buildProofApi } from "../services/ledger/proof-api.ts";
import { TenantObjectNames, tenantNamespace } from "../services/tenant-stack/kube/names.ts";
import { treaty } from "../test/builders/treaty.ts";
import { kubeConfig } from "../test/harness/kube.ts";
import {
  makeTenant,
  startInProcessTenantOperator,
  startTenantTestStack,
} from "../test/integration/tenant-env.ts";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "60" },
    creates: { type: "string", default: "300" },
    concurrency: { type: "string", default: "16" },
    "max-in-flight": { type: "string", default: "512" },
    kubeconfig: { type: "string" },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN) : NaN;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

interface Answer {
  readonly status: number;
  readonly ms: number;
}

function request(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const t0 = performance.now();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request(
      new URL(path, base),
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          ...(payload ? { "content-type": "application/json" } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on("error", () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end(payload);
  });
}

function startBridge(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn("node_modules/.bin/node", ["services/bridge/main.ts"], {
    env: { ...process.env, ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http[^"]+)".*"tenant API listening"/.exec(out);
      if (m?.[1]) resolve({ proc, url: m[1] });
    });
    proc.on("exit", (c) => reject(new Error(`bridge exited ${c}: ${out.slice(-500)}`)));
  });
}

const spec = {
  gpu: { type: "a10g", count: 1 },
  template: { image: "ghcr.io/acme/train:1.4" },
};

/** Open loop: `rate` requests/s for `seconds`, spread over 10 ms ticks; never more than `cap` in flight. */
async function readLoad(base: string, key: string, cap: number): Promise<Record<string, unknown>> {
  const routes: [string, string, unknown?][] = [
    ["GET", "/v1/workloads"],
    ["GET", "/v1/workloads/bench-1"],
    ["GET", "/v1/usage"],
    ["POST", "/v1/quote", { spec }],
  ];
  const lat: number[] = [];
  const byStatus: Record<string, number> = {};
  let inFlight = 0;
  let shedByClient = 0;
  let sent = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  const perTick = RATE / 100;
  let owed = 0;
  const load0 = loadavg()[0];
  for (let tick = 0; performance.now() - t0 < SECONDS * 1000; tick++) {
    owed += perTick;
    while (owed >= 1) {
      owed--;
      if (inFlight >= cap) {
        shedByClient++;
        continue;
      }
      const [method, path, body] = routes[sent % routes.length] as [string, string, unknown?];
      sent++;
      inFlight++;
      pending.push(
        request(base, key, method, path, body).then((a) => {
          inFlight--;
          lat.push(a.ms);
          byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
        }),
      );
    }
    const next = t0 + (tick + 1) * 10;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - t0) / 1000;
  const ok = byStatus["200"] ?? 0;
  return {
    targetPerSecond: RATE,
    seconds: r2(elapsed),
    sent,
    achievedPerSecond: r2(lat.length / elapsed),
    okPerSecond: r2(ok / elapsed),
    latencyMs: { p50: r2(pct(lat, 0.5)), p95: r2(pct(lat, 0.95)), p99: r2(pct(lat, 0.99)) },
    byStatus,
    errors: lat.length - ok,
    notSentOverInFlightCap: shedByClient,
    loadAverage1m: { before: r2(load0 ?? 0), after: r2(loadavg()[0] ?? 0) },
  };
}

async function createLoad(base: string, key: string): Promise<Record<string, unknown>> {
  const n = Number(values.creates);
  const conc = Number(values.concurrency);
  const lat: number[] = [];
  const byStatus: Record<string, number> = {};
  let next = 1;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      for (let i = next++; i <= n; i = next++) {
        const a = await request(base, key, "POST", "/v1/workloads", { name: `bench-${i}`, spec });
        lat.push(a.ms);
        byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return {
    creates: n,
    concurrency: conc,
    perSecond: r2(n / elapsed),
    latencyMs: { p50: r2(pct(lat, 0.5)), p95: r2(pct(lat, 0.95)), p99: r2(pct(lat, 0.99)) },
    byStatus,
    errors: n - (byStatus["201"] ?? 0),
  };
}

async function main(): Promise<void> {
  const cluster = await crdCluster("bench-bridge", values.kubeconfig, log);
  const stack = await startTenantTestStack("bbench");
  const op = await startInProcessTenantOperator(stack);
  const client = await KubeClient.create(kubeConfig(), { fieldManager: "vaultmesh-bench" });
  const name = `${stack.id}-t`;
  const treatyName = `${stack.id}-pool`;
  await client.create(Resources.Treaty, treaty(treatyName).inCluster("a10g", 0.6).obj());
  // A limit the load cannot reach: the bench measures the API, not the limiter's refusals.
  await client.create(
    Resources.Tenant,
    makeTenant(stack, name, { rateLimit: { requestsPerMinute: 1_000_000 } }),
  );
  const ns = tenantNamespace(name);
  let key = "";
  for (const t0 = Date.now(); !key && Date.now() - t0 < 120_000;) {
    const t = await client.get<
      KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
    >(Resources.Tenant, name);
    const ready = ["Database", "Cache"].every(
      (c) => t?.status?.conditions?.find((x) => x.type === c)?.status === "True",
    );
    if (ready) {
      const s = await client.get<KubeObject>(Resources.Secret, TenantObjectNames.apiKeySecret, ns);
      key = Buffer.from(
        ((s?.data ?? {}) as Record<string, string>).apiKey ?? "",
        "base64",
      ).toString();
    } else await new Promise((r) => setTimeout(r, 500));
  }
  if (!key) throw new Error(`tenant ${name} was not provisioned in 120 s`);
  const proofApi = buildProofApi({ ledger: stack.ledger.ledger });
  await proofApi.listen({ host: "127.0.0.1", port: 0 });
  const addr = proofApi.server.address();
  const bridge = await startBridge({
    VAULTMESH_BRIDGE_DB_URL: stack.env().VAULTMESH_TENANT_DB_URL ?? "",
    VAULTMESH_REDIS_URL: stack.redis.url,
    VAULTMESH_LEDGER_API: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`,
    VAULTMESH_BRIDGE_PORT: "0",
    KUBECONFIG: process.env.KUBECONFIG ?? "",
  });
  log(`bridge at ${bridge.url}; POST /v1/workloads × ${values.creates}`);
  const creates = await createLoad(bridge.url, key);
  log(`reads at ${RATE}/s for ${SECONDS} s`);
  const reads = await readLoad(bridge.url, key, Number(values["max-in-flight"]));
  console.log(
    JSON.stringify(
      {
        machine: {
          cpus: cpus().length,
          note: "bridge, apiserver, Postgres, Redis and the load generator share these cores",
        },
        cluster: values.kubeconfig ? "reused" : "private",
        reads,
        createWorkloads: creates,
        goal: { readsPerSecond: 1000, readP99Ms: 50, errors: 0 },
      },
      null,
      2,
    ),
  );
  bridge.proc.kill("SIGTERM");
  await proofApi.close();
  await client.delete(Resources.Tenant, { name }).catch(() => undefined);
  await client.delete(Resources.Treaty, { name: treatyName }).catch(() => undefined);
  await op.stop();
  client.close();
  agent.destroy();
  await stack.stop();
  await cluster?.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
