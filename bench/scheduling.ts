// Scheduling throughput of the operator (issue 4): applies N GPUWorkloads (default 1000) to a
// private local control plane with G kwok GPU nodes (default 50), runs operator/main.ts as a
// child process, and measures from each apply to its Job being created (placed) and to its
// Pod being bound to a GPU node. Also: operator RSS and cached objects at the end, and router
// decisions/s over 100 treaties. Prints JSON. Never part of `make test`.
//   npm run bench:scheduling [-- --workloads 1000 --nodes 50 --kubeconfig PATH]
// --kubeconfig reuses a running cluster (its extra nodes and objects are removed afterwards).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { API_VERSION, type GPUWorkload, type Treaty } from "../crds/index.ts";
import { OPERATOR_NODE_FLAGS } from "../operator/config.ts";
import { route } from "../operator/routing/index.ts";
import { generateEd25519 } from "../services/ledger/ed25519.ts";
import { Informer, KubeClient, Resources, type KubeObject } from "../services/kube/index.ts";
import { ensureBinaries, startCluster, type Cluster } from "../hack/cluster/cluster.ts";
import { startPostgres } from "../test/harness/postgres.ts";

const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: "1000" },
    nodes: { type: "string", default: "50" },
    kubeconfig: { type: "string" },
    concurrency: { type: "string", default: "32" },
    // Apply at this many workloads per second (open loop) instead of as fast as possible:
    // latency at a sustained rate rather than behind a burst. 0 = burst (the default).
    rate: { type: "string", default: "0" },
    workers: { type: "string", default: "8" },
    // Directory for a V8 CPU profile of the operator child (written when it exits).
    "cpu-prof": { type: "string" },
    // Operator RSS is also measured once its caches hold this many objects (issue 4: 10k):
    // more workloads are applied after the timed run until they do. 0 skips that phase.
    "memory-objects": { type: "string", default: "10000" },
    // Extra Node flags for the operator child (space-separated), to compare heap settings.
    "node-flags": { type: "string", default: "" },
    // Directory for a V8 heap snapshot of the operator, taken after the run (slow: seconds).
    "heap-snapshot": { type: "string" },
  },
});
/** A whole number ≥ `min` from option `--name`, or exit 2 naming the option. */
function count(
  name: "workloads" | "nodes" | "concurrency" | "rate" | "workers" | "memory-objects",
  min: number,
): number {
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
const CONC = count("concurrency", 1);
const RATE = count("rate", 0);
const RATE_LABEL: number | "burst" = RATE > 0 ? RATE : "burst";
const WORKERS = count("workers", 1);
const MEMORY_OBJECTS = count("memory-objects", 0);
const tag = `bench-${Math.random().toString(36).slice(2, 7)}`;
const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN) : NaN;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

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
  allocatable: { cpu: "64", memory: 256Gi, pods: "110", nvidia.com/gpu: "80" }
  capacity: { cpu: "64", memory: 256Gi, pods: "110", nvidia.com/gpu: "80" }
  nodeInfo: { architecture: amd64, operatingSystem: linux, kubeletVersion: fake }
`;
}

async function kubectl(
  bin: string,
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(bin, args, {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ["pipe", "ignore", "inherit"],
    });
    p.on("exit", (c) =>
      c === 0 ? resolve() : reject(new Error(`kubectl ${args.join(" ")}: ${c}`)),
    );
    p.stdin.end(input ?? "");
  });
}

/**
 * CPU seconds used so far by each process whose command line mentions `marker` (the cluster's
 * directory), keyed by executable name: where the machine's CPU went during the run.
 */
function cpuByProcess(marker: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!cmd.some((a) => a.includes(marker))) continue;
      const name = basename(cmd[0] ?? "?");
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // the process exited while we looked
    }
  }
  return out;
}

/** CPU milliseconds per workload of each process between two {@link cpuByProcess} readings. */
function msPer(
  before: Record<string, number>,
  after: Record<string, number>,
  n: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) out[k] = r1(((v - (before[k] ?? 0)) / n) * 1000);
  return out;
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
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 2000) {
    for (let i = 0; i < 100; i++) route({ spec, treaties, now });
    n += 100;
  }
  return Math.round(n / ((performance.now() - t0) / 1000));
}

async function main(): Promise<void> {
  // The router's own speed, measured first, before the control plane competes for the CPU.
  const routerPerSecond = routerDecisionsPerSecond();
  let cluster: Cluster | undefined;
  let kubeconfig = values.kubeconfig;
  const kubectlBin = join(await ensureBinaries(), "kubectl");
  if (!kubeconfig) {
    log("starting a private control plane");
    cluster = await startCluster({
      dir: mkdtempSync(join(tmpdir(), "vaultmesh-bench-")),
      name: "bench",
      lifeline: true,
    });
    kubeconfig = cluster.kubeconfig;
    await kubectl(kubectlBin, kubeconfig, ["apply", "--server-side", "-f", "crds/generated"]);
    await kubectl(kubectlBin, kubeconfig, [
      "wait",
      "--for=condition=Established",
      "-f",
      "crds/generated",
      "--timeout=60s",
    ]);
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const client = await KubeClient.create(kc, { fieldManager: "vaultmesh-bench" });
  const pgServer = await startPostgres();
  const db = await pgServer.createDatabase("bench");
  const key = generateEd25519();
  const keyFile = join(mkdtempSync(join(tmpdir(), "vaultmesh-bench-key-")), "key.pem");
  writeFileSync(keyFile, key.privateKeyPem);
  const ns = tag;
  let op: ReturnType<typeof spawn> | undefined;
  try {
    log(`creating ${NODES} GPU nodes`);
    await kubectl(
      kubectlBin,
      kubeconfig,
      ["apply", "-f", "-"],
      Array.from({ length: NODES }, (_, i) => gpuNode(i)).join("---\n"),
    );
    await kubectl(kubectlBin, kubeconfig, [
      "wait",
      "--for=condition=Ready",
      "node",
      "-l",
      `pool=${tag}`,
      "--timeout=120s",
    ]);
    await client.create(Resources.Namespace, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns },
    });
    const t: Treaty = {
      apiVersion: API_VERSION,
      kind: "Treaty",
      metadata: { name: tag, labels: { "vaultmesh.cloud/bench": tag } },
      spec: {
        provider: "in-cluster",
        regions: ["local"],
        pricing: [{ gpuType: "a10g", usdPerHour: 0.6 }],
        reputationFloor: 0,
        suspended: false,
        inCluster: {
          nodeSelector: { role: "gpu", pool: tag },
          gpuTypeLabel: "gpu-type",
          taint: { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" },
          gpuResourceName: "nvidia.com/gpu",
        },
      },
    };
    await client.create(Resources.Treaty, t);

    // Observe Job creation and Pod binding through our own informers.
    const applied = new Map<string, number>();
    const placedAt = new Map<string, number>();
    const boundAt = new Map<string, number>();
    const jobs = new Informer<KubeObject>(client, Resources.Job, { namespace: ns });
    const pods = new Informer<KubeObject & { spec?: { nodeName?: string } }>(
      client,
      Resources.Pod,
      { namespace: ns },
    );
    jobs.on((_t, j) => {
      const w = j.metadata?.labels?.["vaultmesh.cloud/workload"];
      if (w && !placedAt.has(w)) placedAt.set(w, performance.now());
    });
    pods.on((_t, p) => {
      const w = p.metadata?.labels?.["vaultmesh.cloud/workload"];
      if (w && p.spec?.nodeName && !boundAt.has(w)) boundAt.set(w, performance.now());
    });
    await Promise.all([jobs.start(), pods.start()]);

    log("starting the operator");
    const port = 18000 + Math.floor(Math.random() * 2000);
    const prof = values["cpu-prof"];
    const nodeArgs = [
      ...OPERATOR_NODE_FLAGS,
      ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
      ...(values["node-flags"] ?? "").split(" ").filter(Boolean),
      ...(values["heap-snapshot"]
        ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${values["heap-snapshot"]}`]
        : []),
    ];
    op = spawn("node_modules/.bin/node", [...nodeArgs, "operator/main.ts"], {
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        VAULTMESH_LEADER_ELECT: "false",
        VAULTMESH_WATCH_NAMESPACE: ns,
        VAULTMESH_TREATY_SELECTOR: `vaultmesh.cloud/bench=${tag}`,
        VAULTMESH_LEDGER_URL: db.url,
        VAULTMESH_SIGNING_KEY_FILE: keyFile,
        VAULTMESH_HTTP_ADDR: `127.0.0.1:${port}`,
        VAULTMESH_WORKERS: String(WORKERS),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      return Number(line?.split(" ")[1] ?? NaN);
    };
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      const treaty = await client.get<Treaty>(Resources.Treaty, tag);
      if (ok && treaty?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const rssIdle = await metric("vaultmesh_process_resident_memory_bytes");
    const cpuIdle = await metric("vaultmesh_process_cpu_seconds_total");

    // Applies workloads w-from … w-(to-1), CONC at a time.
    const applyRange = async (from: number, to: number): Promise<void> => {
      let next = from;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: CONC }, async () => {
          while (next < to) {
            const i = next++;
            const name = `w-${i}`;
            if (RATE > 0) {
              const due = start + ((i - from) / RATE) * 1000;
              const wait = due - performance.now();
              if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            }
            const w: GPUWorkload = {
              apiVersion: API_VERSION,
              kind: "GPUWorkload",
              metadata: {
                name,
                namespace: ns,
                annotations: { "pod-complete.stage.kwok.x-k8s.io/delay": "3600s" },
              },
              spec: {
                gpu: { type: "a10g", count: 1 },
                template: {
                  image: "registry.example/train:1",
                },
                routing: { strategy: "balanced" },
                profile: "batch",
              },
            };
            applied.set(name, performance.now());
            await client.create(Resources.GPUWorkload, w);
          }
        }),
      );
    };
    log(`applying ${N} GPUWorkloads`);
    const marker = dirname(kubeconfig);
    const cpu0 = cpuByProcess(marker);
    const t0 = performance.now();
    await applyRange(0, N);
    const applyDone = performance.now();
    const deadline = Date.now() + 300000;
    while ((placedAt.size < N || boundAt.size < N) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const lat = (m: Map<string, number>): number[] =>
      [...m].map(([w, t]) => t - (applied.get(w) ?? t));
    const last = (m: Map<string, number>): number => Math.max(...m.values());
    const rss = await metric("vaultmesh_process_resident_memory_bytes");
    const heapUsed = await metric("vaultmesh_nodejs_heap_size_used_bytes");
    const heapTotal = await metric("vaultmesh_nodejs_heap_size_total_bytes");
    const external = await metric("vaultmesh_nodejs_external_memory_bytes");
    // Operator CPU over the run against its wall time: near 1 means one core was saturated.
    const cpuRun = (await metric("vaultmesh_process_cpu_seconds_total")) - cpuIdle;
    // Control-plane CPU over the same run, per workload: what a workload costs the machine
    // outside the operator (API server, etcd, Job controller, scheduler, kwok).
    const cpu1 = cpuByProcess(marker);
    const cpuMsPerWorkload = { operator: r1((cpuRun / N) * 1000), ...msPer(cpu0, cpu1, N) };
    const reconcileSum = await metric(
      'vaultmesh_reconcile_duration_seconds_sum{controller="gpuworkload"}',
    );
    const reconcileCount = await metric(
      'vaultmesh_reconcile_duration_seconds_count{controller="gpuworkload"}',
    );
    // Where the operator's API traffic went: requests per workload by verb and resource, and
    // reconciles per workload by controller (from its /metrics).
    const perWorkload = async (name: string, keyOf: (labels: string) => string) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const line of text.split("\n")) {
        if (!line.startsWith(`${name}{`)) continue;
        const labels = line.slice(name.length + 1, line.indexOf("}"));
        const k = keyOf(labels);
        out[k] = Math.round(((out[k] ?? 0) + Number(line.split(" ").at(-1)) / N) * 100) / 100;
      }
      return out;
    };
    const label = (labels: string, l: string): string =>
      new RegExp(`${l}="([^"]*)"`).exec(labels)?.[1] ?? "";
    const apiRequestsPerWorkload = await perWorkload(
      "vaultmesh_kube_requests",
      (ls) => `${label(ls, "verb")} ${label(ls, "resource")}`,
    );
    const reconcilesPerWorkload = await perWorkload(
      "vaultmesh_reconcile_total",
      (ls) => `${label(ls, "controller")} ${label(ls, "result")}`,
    );
    const placeLat = lat(placedAt);
    const bindLat = lat(boundAt);
    const out = {
      bench: "scheduling",
      workloads: N,
      gpuNodes: NODES,
      applySeconds: r1((applyDone - t0) / 100) / 10,
      applyRatePerSecond: RATE_LABEL,
      placed: placedAt.size,
      bound: boundAt.size,
      placedPerSecond: r1(placedAt.size / ((last(placedAt) - t0) / 1000)),
      boundPerSecond: r1(boundAt.size / ((last(boundAt) - t0) / 1000)),
      applyToJobCreatedMs: { p50: r1(pct(placeLat, 0.5)), p99: r1(pct(placeLat, 0.99)) },
      applyToPodBoundMs: { p50: r1(pct(bindLat, 0.5)), p99: r1(pct(bindLat, 0.99)) },
      operatorRssMb: { idle: r1(rssIdle / 2 ** 20), end: r1(rss / 2 ** 20) },
      operatorHeapMb: {
        used: r1(heapUsed / 2 ** 20),
        total: r1(heapTotal / 2 ** 20),
        external: r1(external / 2 ** 20),
      },
      workers: WORKERS,
      operatorCpuSeconds: r1(cpuRun),
      runSeconds: r1((last(boundAt) - t0) / 1000),
      cpuMsPerWorkload,
      gpuworkloadReconcileMeanMs: r1((reconcileSum / reconcileCount) * 1000),
      apiRequestsPerWorkload,
      reconcilesPerWorkload,
      objectsCachedByOperator: await metric("vaultmesh_cached_objects"),
      routerDecisionsPerSecond100Treaties: routerPerSecond,
      goals: { perSecond: 100, p99PlacedMs: 2000, rssMb: 150, routerPerSecond: 100000 },
      cores: (await import("node:os")).cpus().length,
    };
    const queueDepth = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text
        .split("\n")
        .filter((l) => l.startsWith("vaultmesh_workqueue_depth{"))
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    };
    // RSS with memTarget objects cached: apply more workloads until the caches hold that many.
    const memoryPhase = async (memTarget: number): Promise<void> => {
      const cachedNow = await metric("vaultmesh_cached_objects");
      if (memTarget > cachedNow) {
        // Each workload adds three cached objects (GPUWorkload, Job, Pod).
        const more = Math.ceil((memTarget - cachedNow) / 3);
        log(`memory: applying ${more} more GPUWorkloads to cache ${memTarget} objects`);
        await applyRange(N, N + more);
        const until = Date.now() + 600000;
        while (boundAt.size < N + more && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      // Measure at rest: every work queue empty for 5 s in a row (status writes settled).
      const settleBy = Date.now() + 180000;
      for (let quiet = 0; quiet < 10 && Date.now() < settleBy;) {
        await new Promise((r) => setTimeout(r, 500));
        quiet = (await queueDepth()) === 0 ? quiet + 1 : 0;
      }
    };
    await memoryPhase(MEMORY_OBJECTS);
    Object.assign(out, {
      memory: {
        objectsCached: await metric("vaultmesh_cached_objects"),
        rssMb: r1((await metric("vaultmesh_process_resident_memory_bytes")) / 2 ** 20),
        heapUsedMb: r1((await metric("vaultmesh_nodejs_heap_size_used_bytes")) / 2 ** 20),
        heapTotalMb: r1((await metric("vaultmesh_nodejs_heap_size_total_bytes")) / 2 ** 20),
        goalRssMb: 150,
      },
      operatorNodeFlags: OPERATOR_NODE_FLAGS,
    });
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    if (values["heap-snapshot"] && op.pid) {
      log(`writing a heap snapshot to ${values["heap-snapshot"]}`);
      process.kill(op.pid, "SIGUSR2");
      await new Promise((r) => setTimeout(r, 20000));
    }
    await jobs.stop();
    await pods.stop();
  } finally {
    if (op && op.exitCode === null) {
      const exited = new Promise((r) => op?.once("exit", r));
      op.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
    }
    if (!cluster) {
      await client.delete(Resources.Namespace, { name: ns }).catch(() => false);
      await client.delete(Resources.Treaty, { name: tag }).catch(() => false);
      await kubectl(kubectlBin, kubeconfig, [
        "delete",
        "node",
        "-l",
        `pool=${tag}`,
        "--wait=false",
      ]).catch(() => {});
    }
    client.close();
    await db.drop().catch(() => {});
    await pgServer.stop();
    await cluster?.stop();
  }
}

await main();
