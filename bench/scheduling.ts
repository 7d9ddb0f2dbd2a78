// Scheduling throughput of the operator against the control plane's own ceiling (issues 4, 13).
// On one private local control plane with G kwok GPU nodes (default 50) it runs, in alternating
// rounds, phases of N workloads each (default 300, 32 in flight):
//   bare                 the same GPU Jobs created directly (same nodeSelector, toleration, GPU
//                        limit, built by operator/placement), no controller of ours involved;
//   vaultmesh            GPUWorkloads applied, operator/main.ts (a child process) places them;
//   vaultmesh+webhooks   the same with the product's admission webhooks registered as installed
//                        (only with --webhooks; the server runs as a child with its informers).
// Per phase: jobs bound/s, apply→Job created and apply→Pod bound percentiles, CPU ms per
// workload of every control-plane process (from /proc) and of the operator and webhook server,
// writes per workload by verb and resource (apiserver_request_total deltas), request body bytes,
// watch event bytes and bytes etcd received per workload, webhook calls per workload — with the
// background (kwok heartbeats, leases, measured idle before the first phase) subtracted — and
// the machine's load from other processes. Then medians per kind and ratios to bare. JSON on
// stdout, progress on stderr. Never part of `make test`.
//   npm run bench:scheduling [-- --webhooks --workloads 300 --rounds 2 --nodes 50]
//   --no-identity-conditions registers the webhooks without ADR 0101's identity conditions.
//   --kubeconfig PATH reuses a running cluster (its etcd metrics only when it was started by
//   hack/cluster, found by the state.json beside the kubeconfig).
//   --memory-objects 10000 also measures operator RSS with that many objects cached (issue 4).
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { API_VERSION, type GPUWorkload, type Treaty } from "../crds/index.ts";
import { OPERATOR_NODE_FLAGS } from "../operator/config.ts";
import { buildJob, JOB_LABELS } from "../operator/placement/index.ts";
import { route, RouterMemo } from "../services/routing/index.ts";
import { generateEd25519 } from "../services/ledger/ed25519.ts";
import { Informer, KubeClient, Resources, type KubeObject } from "../services/kube/index.ts";
import { ensureBinaries, startCluster, type Cluster } from "../hack/cluster/cluster.ts";
import { startPostgres } from "../test/harness/postgres.ts";
import {
  gpuWorkload,
  tenant as tenantBuilder,
  treaty as treatyBuilder,
} from "../test/builders/objects.ts";
import { renderWebhookConfigurations, type WebhookConfiguration } from "../webhooks/manifests.ts";
import {
  applyWebhookConfigurations,
  deleteWebhookConfigurations,
} from "../webhooks/registration.ts";
import {
  background,
  cpuByProcess,
  cpuOfPid,
  deltaBy,
  labelOf,
  phaseCost,
  snapshot,
  type Background,
  type Sources,
} from "./scheduling-metrics.ts";

const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: "300" },
    nodes: { type: "string", default: "50" },
    rounds: { type: "string", default: "2" },
    kubeconfig: { type: "string" },
    concurrency: { type: "string", default: "32" },
    webhooks: { type: "boolean", default: false },
    // With --webhooks: register the configurations without ADR 0101's identity conditions (the
    // operator's Jobs and the Job controller's pods then call the guards), for a before/after.
    "no-identity-conditions": { type: "boolean", default: false },
    // Seconds of idle measurement (background writes and CPU) before the first phase.
    "idle-seconds": { type: "string", default: "8" },
    // After the last Pod is bound, how long trailing writes (status, Events) still count.
    "settle-ms": { type: "string", default: "3000" },
    workers: { type: "string", default: "8" },
    // Directory for a V8 CPU profile of the operator child (written when it exits).
    "cpu-prof": { type: "string" },
    // Operator RSS is also measured once its caches hold this many objects (issue 4: 10k):
    // more workloads are applied after the timed phases until they do. 0 skips that phase.
    "memory-objects": { type: "string", default: "0" },
    // Apply at this many workloads per second (open loop) instead of as fast as possible:
    // latency at a sustained rate rather than behind a burst. 0 = burst (the default).
    rate: { type: "string", default: "0" },
    // Directory for kube-apiserver CPU profiles (pprof), one per phase of the last round, of
    // --profile-seconds each from the phase's start (a private control plane only).
    "apiserver-profile": { type: "string" },
    "profile-seconds": { type: "string", default: "15" },
    // Extra Node flags for the operator child (space-separated), to compare heap settings.
    "node-flags": { type: "string", default: "" },
  },
});
/** A whole number ≥ `min` from option `--name`, or exit 2 naming the option. */
function count(name: keyof typeof values, min: number): number {
  const raw = values[name];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(
      `[bench] --${name}: expected a whole number ≥ ${min}, got ${JSON.stringify(raw)}\n`,
    );
    process.exit(2);
  }
  return n;
}
const N = count("workloads", 1);
const NODES = count("nodes", 1);
const ROUNDS = count("rounds", 1);
const CONC = count("concurrency", 1);
const RATE = count("rate", 0);
const PROFILE_S = count("profile-seconds", 1);
const PROFILE_DIR = values["apiserver-profile"];
const WORKERS = count("workers", 1);
const IDLE_S = count("idle-seconds", 1);
const SETTLE_MS = count("settle-ms", 0);
const MEMORY_OBJECTS = count("memory-objects", 0);
const WEBHOOKS = values.webhooks === true;
const GPUS_PER_NODE = 80;
const tag = `bench-${Math.random().toString(36).slice(2, 7)}`;
const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN) : NaN;
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

function gpuNode(i: number): string {
  const name = `${tag}-gpu-${i}`;
  return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations: { kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0" }
  labels: { role: gpu, gpu-type: a10g, pool: ${tag}, type: kwok, kubernetes.io/hostname: ${name} }
spec:
  taints: [{ key: nvidia.com/gpu, value: "true", effect: NoSchedule }]
status:
  allocatable: { cpu: "64", memory: 256Gi, pods: "250", nvidia.com/gpu: "${GPUS_PER_NODE}" }
  capacity: { cpu: "64", memory: 256Gi, pods: "250", nvidia.com/gpu: "${GPUS_PER_NODE}" }
  nodeInfo: { architecture: amd64, operatingSystem: linux, kubeletVersion: fake }
`;
}

/** Runs kubectl; resolves with its stdout. */
async function kubectl(
  bin: string,
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<string> {
  return (await kubectlBytes(bin, kubeconfig, args, input)).toString("utf8");
}

/** Runs kubectl; resolves with its stdout as bytes (a pprof profile). */
async function kubectlBytes(
  bin: string,
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<Buffer> {
  return await new Promise<Buffer>((resolve, reject) => {
    const p = spawn(bin, args, {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ["pipe", "pipe", "inherit"],
    });
    const out: Buffer[] = [];
    p.stdout.on("data", (c: Buffer) => out.push(c));
    p.on("exit", (c) =>
      c === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`kubectl ${args.join(" ")}: ${c}`)),
    );
    p.stdin.end(input ?? "");
  });
}

function routerDecisionsPerSecond(): number {
  const treaties = Array.from({ length: 100 }, (_, i) => ({
    metadata: { name: `t-${i}`, resourceVersion: "1" },
    spec: {
      provider: i % 2 ? "akash" : "ionet",
      regions: ["us-west", "eu-west"].slice(0, 1 + (i % 2)),
      pricing: [{ gpuType: "a10g", usdPerHour: 0.4 + (i % 17) / 10 }],
      reputationFloor: 0.5,
      suspended: i % 13 === 0,
    },
    status: {
      conditions: [{ type: "Ready", status: "True", reason: "InForce" }],
      reputation: 0.8 + (i % 5) / 25,
      latencyMs: 20 + (i % 11) * 9,
      availability: 0.99,
    },
  }));
  const spec = {
    gpu: { type: "a10g", count: 1 },
    regions: ["us-west"],
    routing: { strategy: "balanced" as const },
  };
  const now = new Date();
  const memo = new RouterMemo(); // as the operator passes one to every decision
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 2000) {
    for (let i = 0; i < 100; i++) route({ spec, treaties, now }, memo);
    n += 100;
  }
  return Math.round(n / ((performance.now() - t0) / 1000));
}

/** The kinds of phase, in the order each round runs them. */
type PhaseKind = "bare" | "vaultmesh" | "vaultmesh+webhooks";

/** Everything the phases share. */
interface World {
  readonly client: KubeClient;
  readonly kubectlBin: string;
  readonly kubeconfig: string;
  readonly treaty: Treaty;
  readonly bareNs: string;
  readonly vmNs: string;
  readonly sources: Sources;
  readonly bg: Background;
  readonly applied: Map<string, number>;
  readonly placedAt: Map<string, number>;
  readonly boundAt: Map<string, number>;
  readonly webhook: WebhookChild | undefined;
  readonly operatorMetrics: () => Promise<string>;
}

/** The admission server child and its configurations (registered only in webhook phases). */
interface WebhookChild {
  readonly proc: ChildProcess;
  readonly configs: readonly WebhookConfiguration[];
}

const KWOK_DELAY = { "pod-complete.stage.kwok.x-k8s.io/delay": "3600s" };

function workload(name: string, ns: string): GPUWorkload {
  return gpuWorkload(name, ns).annotations(KWOK_DELAY).maxRuntimeSeconds(undefined).obj();
}

// The Job the operator would create for the same workload, without the owner reference: the
// same object, so the difference between phases is what VaultMesh adds around it.
function bareJob(w: World, name: string): KubeObject {
  const wl = workload(name, w.bareNs);
  const job = buildJob({ ...wl, metadata: { ...wl.metadata, uid: randomUUID() } }, w.treaty, 1, {
    podAnnotations: { ...KWOK_DELAY },
  });
  const { ownerReferences: _owners, ...metadata } = job.metadata;
  return { ...job, metadata };
}

async function applyAll(w: World, kind: PhaseKind, names: string[]): Promise<void> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next < names.length) {
        const i = next++;
        const name = names[i] ?? "";
        if (RATE > 0) {
          const wait = start + (i / RATE) * 1000 - performance.now();
          if (wait > 0) await sleep(wait);
        }
        w.applied.set(name, performance.now());
        if (kind === "bare") await w.client.create(Resources.Job, bareJob(w, name));
        else await w.client.create(Resources.GPUWorkload, workload(name, w.vmNs));
      }
    }),
  );
}

// Registers the webhook configurations and waits until the apiserver calls them.
async function registerWebhooks(w: World, hook: WebhookChild): Promise<void> {
  await applyWebhookConfigurations(w.client, hook.configs);
  const calls = async (): Promise<number> => {
    const s = await snapshot(w.sources);
    return [...s.apiserver]
      .filter(([k]) => k.startsWith("apiserver_admission_webhook_request_total{"))
      .reduce((t, [, v]) => t + v, 0);
  };
  const before = await calls();
  const path = `/apis/${API_VERSION}/namespaces/${w.vmNs}/gpuworkloads?dryRun=All`;
  for (let i = 0; i < 150; i++) {
    await w.client.request("POST", path, workload(`probe-${i}`, w.vmNs)).catch(() => undefined);
    if ((await calls()) > before) return;
    await sleep(200);
  }
  throw new Error("the webhook configurations never took effect");
}

async function runPhase(
  w: World,
  kind: PhaseKind,
  round: number,
): Promise<Record<string, unknown>> {
  const prefix = `r${round}-${kind === "bare" ? "b" : kind === "vaultmesh" ? "v" : "w"}`;
  const names = Array.from({ length: N }, (_, i) => `${prefix}-${i}`);
  if (kind === "vaultmesh+webhooks" && w.webhook) await registerWebhooks(w, w.webhook);
  try {
    log(`round ${round}: ${kind}, ${N} workloads`);
    await sleep(1000);
    const a = await snapshot(w.sources);
    const t0 = performance.now();
    const profile =
      PROFILE_DIR && round === ROUNDS
        ? kubectlBytes(w.kubectlBin, w.kubeconfig, [
            "get",
            "--raw",
            `/debug/pprof/profile?seconds=${PROFILE_S}`,
          ]).then((b) => writeFileSync(join(PROFILE_DIR, `kube-apiserver-${kind}.pprof`), b))
        : undefined;
    await applyAll(w, kind, names);
    const deadline = Date.now() + 300000;
    const bound = (): number => names.filter((n) => w.boundAt.has(n)).length;
    while (bound() < N && Date.now() < deadline) await sleep(50);
    const times = names.map((n) => w.boundAt.get(n)).filter((t): t is number => t !== undefined);
    const lastBound = Math.max(...times);
    await sleep(SETTLE_MS);
    await profile;
    const b = await snapshot(w.sources);
    const lat = (m: Map<string, number>): number[] =>
      names.filter((n) => m.has(n)).map((n) => (m.get(n) ?? 0) - (w.applied.get(n) ?? 0));
    const placeLat = lat(w.placedAt);
    const bindLat = lat(w.boundAt);
    const opRequests = deltaBy(
      a.operator,
      b.operator,
      "vaultmesh_kube_requests",
      (k) => `${labelOf(k, "verb")} ${labelOf(k, "resource")}`,
    );
    return {
      kind,
      round,
      bound: times.length,
      boundPerSecond: r1(times.length / ((lastBound - t0) / 1000)),
      applyToJobCreatedMs: { p50: r1(pct(placeLat, 0.5)), p99: r1(pct(placeLat, 0.99)) },
      applyToPodBoundMs: { p50: r1(pct(bindLat, 0.5)), p99: r1(pct(bindLat, 0.99)) },
      ...phaseCost(a, b, N, w.bg),
      operatorRequestsPerWorkload: Object.fromEntries(
        Object.entries(opRequests)
          .filter(([, v]) => v / N >= 0.01)
          .map(([k, v]) => [k, r2(v / N)]),
      ),
    };
  } finally {
    if (kind === "vaultmesh+webhooks" && w.webhook) {
      await deleteWebhookConfigurations(w.client, w.webhook.configs);
    }
  }
}

type PhaseResult = Record<string, unknown> & {
  kind: PhaseKind;
  boundPerSecond: number;
  applyToPodBoundMs: { p99: number };
  cpuMsPerWorkload: Record<string, number>;
  writesPerWorkload: number;
};

// Medians per kind over the rounds, and each kind's ratio to bare.
function summarize(results: PhaseResult[]): Record<string, unknown> {
  const kinds = [...new Set(results.map((r) => r.kind))];
  const med = (k: PhaseKind, f: (r: PhaseResult) => number): number =>
    median(results.filter((r) => r.kind === k).map(f));
  const figures = (k: PhaseKind): Record<string, number> => ({
    boundPerSecond: med(k, (r) => r.boundPerSecond),
    p99ApplyToPodBoundMs: med(k, (r) => r.applyToPodBoundMs.p99),
    apiserverCpuMsPerWorkload: med(k, (r) => r.cpuMsPerWorkload["kube-apiserver"] ?? NaN),
    etcdCpuMsPerWorkload: med(k, (r) => r.cpuMsPerWorkload.etcd ?? NaN),
    writesPerWorkload: med(k, (r) => r.writesPerWorkload),
  });
  const bare = figures("bare");
  const out: Record<string, unknown> = {};
  for (const k of kinds) {
    const f = figures(k);
    out[k] = {
      ...f,
      ratioToBare: Object.fromEntries(
        Object.entries(f).map(([key, v]) => [key, r2(v / (bare[key] ?? NaN))]),
      ),
    };
  }
  return out;
}

async function startWebhookChild(
  kubeconfig: string,
  id: string,
  operatorUser: string,
): Promise<WebhookChild> {
  const proc = spawn("node_modules/.bin/node", ["bench/scheduling-webhook.ts"], {
    env: { ...process.env, KUBECONFIG: kubeconfig, VAULTMESH_GPU_JOB_CREATORS: operatorUser },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout }).once("line", resolve);
    proc.once("exit", (c) => reject(new Error(`webhook server exited: ${c}`)));
  });
  const { url, caPem } = JSON.parse(first) as { url: string; caPem: string };
  const rendered = renderWebhookConfigurations({
    target: { url },
    caBundlePem: caPem,
    nameSuffix: `-bench-${id}`,
    testScope: { key: "vaultmesh.cloud/bench", value: id },
    // As installed (ADR 0101): the operator's requests skip the Job guard, the Job controller's
    // pods of Jobs skip the pod guard. On this control plane the operator and
    // kube-controller-manager (--use-service-account-credentials=false) both run as the
    // kubeconfig's user.
    gpuJobCreators: values["no-identity-conditions"] ? [] : [operatorUser],
    jobControllers: values["no-identity-conditions"] ? [] : [operatorUser],
  });
  const configs = [rendered.validating, rendered.mutating].filter((c) => c.webhooks.length > 0);
  return { proc, configs };
}

async function stopChild(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await Promise.race([exited, sleep(10000)]);
}

// A private control plane with the CRDs installed, or the one --kubeconfig names (its etcd
// port from the state.json hack/cluster writes beside the kubeconfig, when there is one).
async function controlPlane(
  kubectlBin: string,
): Promise<{ cluster?: Cluster; kubeconfig: string; etcdPort?: number }> {
  if (values.kubeconfig) {
    const stateFile = join(dirname(values.kubeconfig), "state.json");
    const state = existsSync(stateFile)
      ? (JSON.parse(readFileSync(stateFile, "utf8")) as { etcdPort?: number })
      : {};
    return {
      kubeconfig: values.kubeconfig,
      ...(state.etcdPort !== undefined ? { etcdPort: state.etcdPort } : {}),
    };
  }
  log("starting a private control plane");
  const cluster = await startCluster({
    dir: mkdtempSync(join(tmpdir(), "vaultmesh-bench-")),
    name: "bench",
    lifeline: true,
    ...(PROFILE_DIR ? { extraArgs: { "kube-apiserver": ["--profiling=true"] } } : {}),
  });
  const kubeconfig = cluster.kubeconfig;
  await kubectl(kubectlBin, kubeconfig, ["apply", "--server-side", "-f", "crds/generated"]);
  await kubectl(kubectlBin, kubeconfig, [
    "wait",
    "--for=condition=Established",
    "-f",
    "crds/generated",
    "--timeout=60s",
  ]);
  return { cluster, kubeconfig, etcdPort: cluster.etcdPort };
}

/** Informers that note when each workload's Job appears and its Pod is bound, in `ns`. */
function observe(
  client: KubeClient,
  ns: string,
  placedAt: Map<string, number>,
  boundAt: Map<string, number>,
): Informer<KubeObject>[] {
  const jobs = new Informer<KubeObject>(client, Resources.Job, { namespace: ns });
  const pods = new Informer<KubeObject & { spec?: { nodeName?: string } }>(client, Resources.Pod, {
    namespace: ns,
  });
  jobs.on((_t, j) => {
    const w = j.metadata?.labels?.[JOB_LABELS.workload];
    if (w && !placedAt.has(w)) placedAt.set(w, performance.now());
  });
  pods.on((_t, p) => {
    const w = p.metadata?.labels?.[JOB_LABELS.workload];
    if (w && p.spec?.nodeName && !boundAt.has(w)) boundAt.set(w, performance.now());
  });
  return [jobs, pods];
}

/** Where each phase's readings come from. */
function metricSources(o: {
  kubectlBin: string;
  kubeconfig: string;
  etcdPort: number | undefined;
  operatorMetrics: () => Promise<string>;
  operatorPid: number | undefined;
  webhookPid: number | undefined;
}): Sources {
  const marker = dirname(o.kubeconfig);
  const { etcdPort, webhookPid } = o;
  return {
    apiserverMetrics: () => kubectl(o.kubectlBin, o.kubeconfig, ["get", "--raw", "/metrics"]),
    etcdMetrics: async () =>
      etcdPort === undefined
        ? ""
        : await (await fetch(`http://127.0.0.1:${etcdPort}/metrics`)).text(),
    operatorMetrics: o.operatorMetrics,
    cpu: () => ({
      ...cpuByProcess(marker),
      operator: cpuOfPid(o.operatorPid),
      ...(webhookPid !== undefined ? { "webhook-server": cpuOfPid(webhookPid) } : {}),
      bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    }),
  };
}

/** Waits until the operator is ready and has found the bench's treaty Ready. */
async function operatorReady(client: KubeClient, port: number): Promise<void> {
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    const t = await client.get<Treaty>(Resources.Treaty, tag);
    if (ok && t?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) return;
    await sleep(200);
  }
}

/** The operator as a child process, scoped to the bench's namespace and treaty. */
function startOperator(o: {
  kubeconfig: string;
  namespace: string;
  ledgerUrl: string;
  keyFile: string;
  port: number;
}): ChildProcess {
  const prof = values["cpu-prof"];
  const nodeArgs = [
    ...OPERATOR_NODE_FLAGS,
    ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
    ...(values["node-flags"] ?? "").split(" ").filter(Boolean),
  ];
  return spawn("node_modules/.bin/node", [...nodeArgs, "operator/main.ts"], {
    env: {
      ...process.env,
      KUBECONFIG: o.kubeconfig,
      VAULTMESH_LEADER_ELECT: "false",
      VAULTMESH_WATCH_NAMESPACE: o.namespace,
      VAULTMESH_TREATY_SELECTOR: `vaultmesh.cloud/bench=${tag}`,
      VAULTMESH_LEDGER_URL: o.ledgerUrl,
      VAULTMESH_SIGNING_KEY_FILE: o.keyFile,
      VAULTMESH_HTTP_ADDR: `127.0.0.1:${o.port}`,
      VAULTMESH_WORKERS: String(WORKERS),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

// On a cluster the bench did not start: remove what it created there.
async function removeBenchObjects(
  client: KubeClient,
  kubectlBin: string,
  kubeconfig: string,
  namespaces: readonly string[],
): Promise<void> {
  for (const ns of namespaces) {
    await client.delete(Resources.Namespace, { name: ns }).catch(() => false);
  }
  await client.delete(Resources.Treaty, { name: tag }).catch(() => false);
  await client.delete(Resources.Tenant, { name: tag }).catch(() => false);
  await kubectl(kubectlBin, kubeconfig, [
    "delete",
    "node",
    "-l",
    `pool=${tag}`,
    "--wait=false",
  ]).catch(() => "");
}

async function main(): Promise<void> {
  // The router's own speed, measured first, before the control plane competes for the CPU.
  const routerPerSecond = routerDecisionsPerSecond();
  const kinds: PhaseKind[] = [
    "bare",
    "vaultmesh",
    ...(WEBHOOKS ? ["vaultmesh+webhooks" as const] : []),
  ];
  const need = Math.ceil((N * kinds.length * ROUNDS + MEMORY_OBJECTS / 3) / GPUS_PER_NODE);
  if (need > NODES) {
    process.stderr.write(`[bench] --nodes: ${need} GPU nodes needed for this run, got ${NODES}\n`);
    process.exit(2);
  }
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const kubectlBin = join(await ensureBinaries(), "kubectl");
  const { cluster, kubeconfig: kcfg, etcdPort } = await controlPlane(kubectlBin);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kcfg);
  const client = await KubeClient.create(kc, { fieldManager: "vaultmesh-bench" });
  const pgServer = await startPostgres();
  const db = await pgServer.createDatabase("bench");
  const key = generateEd25519();
  const keyFile = join(mkdtempSync(join(tmpdir(), "vaultmesh-bench-key-")), "key.pem");
  writeFileSync(keyFile, key.privateKeyPem);
  const bareNs = `${tag}-bare`;
  const vmNs = `tenant-${tag}`;
  const scopeLabel = { "vaultmesh.cloud/bench": tag };
  let op: ChildProcess | undefined;
  let webhook: WebhookChild | undefined;
  const informers: Informer<KubeObject>[] = [];
  try {
    log(`creating ${NODES} GPU nodes`);
    await kubectl(
      kubectlBin,
      kcfg,
      ["apply", "-f", "-"],
      Array.from({ length: NODES }, (_, i) => gpuNode(i)).join("---\n"),
    );
    await kubectl(kubectlBin, kcfg, [
      "wait",
      "--for=condition=Ready",
      "node",
      "-l",
      `pool=${tag}`,
      "--timeout=180s",
    ]);
    for (const [name, labels] of [
      [bareNs, scopeLabel],
      [vmNs, { ...scopeLabel, "vaultmesh.cloud/tenant": tag }],
    ] as const) {
      await client.create(Resources.Namespace, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, labels },
      });
    }
    // The tenant the webhooks admit the workloads for (the Tenant stack does not run here).
    const tenant = tenantBuilder(tag)
      .labels(scopeLabel)
      .plan("enterprise")
      .quotas({ maxGpus: 100000, maxConcurrentWorkloads: 100000 })
      .obj();
    const createdTenant = await client.create(Resources.Tenant, tenant);
    await client.replaceStatus(Resources.Tenant, {
      ...createdTenant,
      status: {
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "Provisioned",
            message: "",
            lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
          },
        ],
      },
    });
    const treaty = treatyBuilder(tag)
      .labels(scopeLabel)
      .inCluster("a10g", 0.6)
      .nodeSelector({ pool: tag })
      .obj();
    await client.create(Resources.Treaty, treaty);

    // Job creation and Pod binding, seen through informers of both namespaces.
    const applied = new Map<string, number>();
    const placedAt = new Map<string, number>();
    const boundAt = new Map<string, number>();
    for (const ns of [bareNs, vmNs]) informers.push(...observe(client, ns, placedAt, boundAt));
    await Promise.all(informers.map((i) => i.start()));

    if (WEBHOOKS) {
      log("starting the admission server");
      // The operator below runs as the kubeconfig's user: the identity GPU Jobs may come from.
      const user = await kubectl(kubectlBin, kcfg, [
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
      ]);
      webhook = await startWebhookChild(kcfg, tag, user.trim());
    }
    log("starting the operator");
    const port = 18000 + Math.floor(Math.random() * 2000);
    op = startOperator({ kubeconfig: kcfg, namespace: vmNs, ledgerUrl: db.url, keyFile, port });
    const operatorMetrics = async (): Promise<string> =>
      await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const metric = async (name: string): Promise<number> => {
      const line = (await operatorMetrics()).split("\n").find((l) => l.startsWith(`${name} `));
      return Number(line?.split(" ")[1] ?? NaN);
    };
    await operatorReady(client, port);
    const sources = metricSources({
      kubectlBin,
      kubeconfig: kcfg,
      etcdPort,
      operatorMetrics,
      operatorPid: op.pid,
      webhookPid: webhook?.proc.pid,
    });
    const rssIdle = await metric("vaultmesh_process_resident_memory_bytes");
    log(`measuring the background for ${IDLE_S} s`);
    const idleA = await snapshot(sources);
    await sleep(IDLE_S * 1000);
    const bg = background(idleA, await snapshot(sources));
    const w: World = {
      client,
      kubectlBin,
      kubeconfig: kcfg,
      treaty,
      bareNs,
      vmNs,
      sources,
      bg,
      applied,
      placedAt,
      boundAt,
      webhook,
      operatorMetrics,
    };
    const phases: PhaseResult[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternating: each round starts one kind later, so no kind always runs first.
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(k + round - 1) % kinds.length] as PhaseKind;
        const r = (await runPhase(w, kind, round)) as PhaseResult;
        log(JSON.stringify(r));
        phases.push(r);
      }
    }
    const reconcileSum = await metric(
      'vaultmesh_reconcile_duration_seconds_sum{controller="gpuworkload"}',
    );
    const reconcileCount = await metric(
      'vaultmesh_reconcile_duration_seconds_count{controller="gpuworkload"}',
    );
    const out: Record<string, unknown> = {
      bench: "scheduling",
      workloadsPerPhase: N,
      rounds: ROUNDS,
      concurrency: CONC,
      applyRatePerSecond: RATE > 0 ? RATE : "burst",
      gpuNodes: NODES,
      webhooks: WEBHOOKS,
      identityConditions: WEBHOOKS && values["no-identity-conditions"] !== true,
      cores: cpus().length,
      loadavgAtEnd: loadavg().map(r2),
      background: bg,
      summary: summarize(phases),
      goals: {
        withWebhooksBoundPerSecondRatio: 0.8,
        p99ApplyToPodBoundRatio: 1.25,
        apiserverCpuRatio: 1.3,
      },
      phases,
      operator: {
        rssMbIdle: r1(rssIdle / 2 ** 20),
        rssMbEnd: r1((await metric("vaultmesh_process_resident_memory_bytes")) / 2 ** 20),
        objectsCached: await metric("vaultmesh_cached_objects"),
        gpuworkloadReconcileMeanMs: r1((reconcileSum / reconcileCount) * 1000),
        workers: WORKERS,
        nodeFlags: OPERATOR_NODE_FLAGS,
      },
      routerDecisionsPerSecond100Treaties: routerPerSecond,
    };
    if (MEMORY_OBJECTS > 0) out.memory = await memoryPhase(w, MEMORY_OBJECTS, metric);
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await Promise.all(informers.map((i) => i.stop()));
    await stopChild(op);
    await stopChild(webhook?.proc);
    if (webhook) await deleteWebhookConfigurations(client, webhook.configs).catch(() => {});
    if (!cluster) await removeBenchObjects(client, kubectlBin, kcfg, [bareNs, vmNs]);
    client.close();
    await db.drop().catch(() => {});
    await pgServer.stop();
    await cluster?.stop();
  }
}

// RSS with `target` objects cached: apply more workloads until the caches hold that many, then
// wait for every work queue to stay empty for 5 s (status writes settled).
async function memoryPhase(
  w: World,
  target: number,
  metric: (name: string) => Promise<number>,
): Promise<Record<string, number>> {
  const cachedNow = await metric("vaultmesh_cached_objects");
  if (target > cachedNow) {
    // Each workload adds three cached objects (GPUWorkload, Job, Pod).
    const names = Array.from({ length: Math.ceil((target - cachedNow) / 3) }, (_, i) => `m-${i}`);
    log(`memory: applying ${names.length} more GPUWorkloads to cache ${target} objects`);
    await applyAll(w, "vaultmesh", names);
    const until = Date.now() + 600000;
    while (names.some((n) => !w.boundAt.has(n)) && Date.now() < until) await sleep(500);
  }
  const depth = async (): Promise<number> =>
    (await w.operatorMetrics())
      .split("\n")
      .filter((l) => l.startsWith("vaultmesh_workqueue_depth{"))
      .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
  const settleBy = Date.now() + 180000;
  for (let quiet = 0; quiet < 10 && Date.now() < settleBy;) {
    await sleep(500);
    quiet = (await depth()) === 0 ? quiet + 1 : 0;
  }
  return {
    objectsCached: await metric("vaultmesh_cached_objects"),
    rssMb: r1((await metric("vaultmesh_process_resident_memory_bytes")) / 2 ** 20),
    heapUsedMb: r1((await metric("vaultmesh_nodejs_heap_size_used_bytes")) / 2 ** 20),
    goalRssMb: 150,
  };
}

await main();
