/**
 * Admission benchmark (`npm run bench:admission`): prints one JSON document with
 *
 *   decision  in-process decision time per policy (no HTTP): p50/p99/max in microseconds;
 *   https     the server as a child process alone on one core, driven open-loop at --rate
 *             requests/s over keep-alive HTTPS for --seconds by a load-generator child on
 *             another core: latency percentiles, achieved rate, how late the generator sent,
 *             and from both processes their event-loop delay, GC pauses, CPU use and the time
 *             they waited for a CPU (other processes on the machine), so that the JSON says
 *             where a tail comes from;
 *   e2e       dry-run Pod creates through a real apiserver into three namespaces — no policy,
 *             the GPU pod rule as a ValidatingAdmissionPolicy (CEL), and our GPU pod guard
 *             webhook — interleaved, so the latency each adds is measured under the same load.
 *
 *   --kubeconfig F   cluster for the e2e phase (else $VAULTMESH_TEST_KUBECONFIG, else a private
 *                    control plane is started and stopped)
 *   --decisions N    in-process decisions per policy (default 20000)
 *   --rate R         HTTPS requests per second (default 1000)
 *   --seconds S      HTTPS measurement time (default 10, after 2 s of warm-up)
 *   --e2e-requests N requests per namespace in the e2e phase (default 1500; 0 skips the phase)
 *   --cpu C          pin the server child to CPU C with taskset (default: with two or more CPUs
 *                    and taskset, the last CPU this process may use; `none`: pin nothing)
 *   --load-cpu C     pin the load generator to CPU C (default: the CPU before the server's)
 *   --server-node-options=O  Node/V8 options for the server child, space-separated, after
 *                    those config/webhook/deployment.yaml runs it with (e.g. `=--cpu-prof`)
 *
 * Progress goes to stderr. Nothing here is a test: goals are compared, never asserted.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { ensureBinaries, startCluster, type Cluster } from "../hack/cluster/cluster.ts";
import { KubeClient, type KubeObject } from "../services/kube/index.ts";
import { parseAdmissionReview } from "../webhooks/admission.ts";
import { makeDecider } from "../webhooks/app.ts";
import { WEBHOOK_ENDPOINTS } from "../webhooks/endpoints.ts";
import {
  SYSTEM_NAMESPACES,
  gpuPodCondition,
  renderWebhookConfigurations,
} from "../webhooks/manifests.ts";
import {
  applyWebhookConfigurations,
  deleteWebhookConfigurations,
} from "../webhooks/registration.ts";
import {
  BENCH_TENANT,
  benchLookups,
  benchPod,
  podReview,
  workloadReview,
} from "./admission-world.ts";
import type { LoadReport } from "./admission-load.ts";
import { stats, type ProbeReport } from "./admission-probe.ts";

const { values: args } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    decisions: { type: "string", default: "20000" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    "e2e-requests": { type: "string", default: "1500" },
    cpu: { type: "string" },
    "load-cpu": { type: "string" },
    "server-node-options": { type: "string" },
  },
});
const log = (msg: string): void => void process.stderr.write(`[bench:admission] ${msg}\n`);

const endpoint = (name: string): (typeof WEBHOOK_ENDPOINTS)[number] => {
  const e = WEBHOOK_ENDPOINTS.find((x) => x.name === name);
  if (!e) throw new Error(`no endpoint ${name}`);
  return e;
};

// ---- phase 1: in-process decisions -------------------------------------------------------

async function decisionPhase(n: number): Promise<Record<string, unknown>> {
  const lookups = benchLookups();
  const cases = [
    {
      policy: "gpuworkload",
      e: endpoint("gpuworkloads.validate.vaultmesh.cloud"),
      review: workloadReview,
    },
    {
      policy: "gpuworkload-defaults",
      e: endpoint("gpuworkloads.mutate.vaultmesh.cloud"),
      review: workloadReview,
    },
    { policy: "gpu-pod-guard", e: endpoint("pods.gpu-guard.vaultmesh.cloud"), review: podReview },
  ];
  const out: Record<string, unknown> = {};
  for (const c of cases) {
    const decide = makeDecider(c.e, { lookups });
    const reqs = Array.from({ length: 64 }, (_, i) => parseAdmissionReview(c.review(i)));
    const first = await decide(reqs[0]!);
    if (!first.allowed)
      throw new Error(`${c.policy}: the bench request was denied: ${JSON.stringify(first)}`);
    for (let i = 0; i < 2000; i++) await decide(reqs[i % reqs.length]!);
    const us: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await decide(reqs[i % reqs.length]!);
      us.push((performance.now() - t0) * 1000);
    }
    const cpu = process.cpuUsage(cpu0);
    // CPU time per decision is robust to preemption by other processes; wall-clock p99 is not.
    out[c.policy] = { ...stats(us), cpu_us_mean: Number(((cpu.user + cpu.system) / n).toFixed(2)) };
    log(`decision ${c.policy}: p99 ${(out[c.policy] as { p99: number }).p99} µs`);
  }
  return { unit: "µs", goal_p99_us: 1000, ...out };
}

// ---- the server child and the load generator ----------------------------------------------

/** The CPUs this process may run on (its affinity), from /proc; empty where unknown. */
function allowedCpus(): number[] {
  try {
    const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    return (list ?? "").split(",").flatMap((part) => {
      const [a, b] = part.split("-").map(Number);
      if (a === undefined || Number.isNaN(a)) return [];
      return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
    });
  } catch {
    return [];
  }
}

/** Whether `taskset` can be run. */
function hasTaskset(): boolean {
  return spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" }).status === 0;
}

/**
 * Where the server child and the load generator run: by default, with two or more CPUs and
 * taskset, the server alone on the last CPU this process may use and the load generator on the
 * one before it (the goal is a server on one core, and a generator sharing that core would
 * count its own work as server latency); `--cpu none` pins neither.
 */
function placement(): { server: string | undefined; load: string | undefined } {
  if (args.cpu === "none") return { server: undefined, load: undefined };
  const cpus = allowedCpus();
  const auto = cpus.length >= 2 && hasTaskset();
  const server = args.cpu ?? (auto ? String(cpus.at(-1)) : undefined);
  const load =
    args["load-cpu"] ??
    (auto ? String(cpus.filter((c) => String(c) !== server).at(-1) ?? "") || undefined : undefined);
  return { server, load };
}

/** A child process speaking JSON lines on stdin/stdout. */
interface LineChild {
  readonly child: ChildProcess;
  send(line: string): void;
  /** The next line the child prints. */
  next(): Promise<string>;
}

function spawnLineChild(
  script: string,
  cpu: string | undefined,
  nodeFlags: readonly string[],
  env: Record<string, string>,
): LineChild {
  const [cmd, ...argv] = [
    ...(cpu === undefined ? [] : ["taskset", "-c", cpu]),
    process.execPath,
    ...nodeFlags,
    new URL(script, import.meta.url).pathname,
  ];
  const child = spawn(cmd, argv, {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  const waiting: { resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  createInterface({ input: child.stdout }).on("line", (l) => {
    const w = waiting.shift();
    if (w) w.resolve(l);
    else lines.push(l);
  });
  child.once("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`${script} exited with ${code}`));
  });
  return {
    child,
    send: (line) => void child.stdin.write(`${line}\n`),
    next: () =>
      lines.length > 0
        ? Promise.resolve(lines.shift()!)
        : new Promise((resolve, reject) => waiting.push({ resolve, reject })),
  };
}

interface ServerChild extends LineChild {
  readonly url: string;
  readonly caPem: string;
}

/**
 * The Node/V8 options the Deployment runs the webhook server with (the words between `node` and
 * `webhooks/main.ts` in config/webhook/deployment.yaml), so the bench measures the server as it
 * is deployed; empty when the file does not say.
 */
function deployedNodeOptions(): string[] {
  try {
    const yaml = readFileSync(
      new URL("../config/webhook/deployment.yaml", import.meta.url).pathname,
      "utf8",
    );
    const line = /command:\s*(\[.*"webhooks\/main\.ts".*\])/.exec(yaml)?.[1];
    const command = line === undefined ? [] : (JSON.parse(line) as string[]);
    return command.slice(1, command.indexOf("webhooks/main.ts"));
  } catch {
    return [];
  }
}

/** Node/V8 options of the server child: the deployed ones, then `--server-node-options`. */
const SERVER_NODE_FLAGS = (): string[] => [
  ...deployedNodeOptions(),
  ...(args["server-node-options"] ?? "").split(" ").filter(Boolean),
];

async function startServerChild(
  cpu: string | undefined,
  podNamespaces: string[],
): Promise<ServerChild> {
  const c = spawnLineChild("./admission-server.ts", cpu, SERVER_NODE_FLAGS(), {
    VAULTMESH_BENCH_POD_NAMESPACES: podNamespaces.join(","),
  });
  const { url, caPem } = JSON.parse(await c.next()) as { url: string; caPem: string };
  return { ...c, url, caPem };
}

// ---- phase 2: HTTPS at a fixed rate ------------------------------------------------------

async function httpsPhase(
  s: ServerChild,
  where: { server: string | undefined; load: string | undefined },
  rate: number,
  seconds: number,
): Promise<Record<string, unknown>> {
  const path = "/validate/gpuworkloads";
  const load = spawnLineChild("./admission-load.ts", where.load, [], {});
  try {
    load.send(
      JSON.stringify({
        url: new URL(path, s.url).href,
        caPem: s.caPem,
        body: JSON.stringify(workloadReview(1)),
        rate,
      }),
    );
    log(
      `https: warm-up 2 s at ${rate}/s (server on CPU ${where.server ?? "any"}, load generator on CPU ${where.load ?? "any"})`,
    );
    load.send(JSON.stringify({ ms: 2000, record: false }));
    await load.next();
    s.send("reset");
    log(`https: measuring ${seconds} s at ${rate}/s`);
    load.send(JSON.stringify({ ms: seconds * 1000, record: true }));
    const l = JSON.parse(await load.next()) as LoadReport;
    s.send("report");
    const server = JSON.parse(await s.next()) as ProbeReport & {
      tls_connections: number;
      requests: number;
    };
    return {
      unit: "ms",
      path,
      target_rps: rate,
      achieved_rps: l.achieved_rps,
      errors: l.errors,
      server_cpu_cores: Number(server.cpu_cores.toFixed(2)),
      server_cpu_ms_per_request: Number(((server.cpu_cores / l.achieved_rps) * 1000).toFixed(3)),
      pinned_cpu: where.server ?? null,
      load_generator_cpu: where.load ?? null,
      server_node_flags: SERVER_NODE_FLAGS(),
      goal_p99_ms: 5,
      // Latency from the moment the generator handed the request to its socket to the end of the
      // response; what the goal is about.
      ...l.latency,
      // Including how late the generator sent (a generator that fell behind shows up here and in
      // send_lag, not in the figures above).
      latency_from_schedule: l.latency_from_schedule,
      send_lag: l.send_lag,
      // Whether the figures are about the server at all: on a machine where other processes
      // kept the server or the generator waiting for a CPU for more than 1% of the time, the
      // tail is theirs (see runqueue_wait_ms below).
      machine_quiet:
        (server.runqueue_wait_ms ?? 0) < 10 * seconds &&
        (l.client.runqueue_wait_ms ?? 0) < 10 * seconds,
      // Where a tail comes from: a server pause shows up as its event-loop delay (and as GC if
      // that is the cause); a client pause as the generator's.
      server,
      client: { ...l.client, new_connections: l.new_connections },
    };
  } finally {
    load.child.stdin!.end();
  }
}

// ---- phase 3: end to end through the apiserver -------------------------------------------

const BENCH_LABEL = "vaultmesh.cloud/bench-admission";

function celPolicy(id: string): KubeObject[] {
  const name = `vaultmesh-bench-gpu-guard-${id}`;
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [""],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["pods"],
            },
          ],
          namespaceSelector: {
            matchExpressions: [
              {
                key: "kubernetes.io/metadata.name",
                operator: "NotIn",
                values: [...SYSTEM_NAMESPACES],
              },
              { key: "vaultmesh.cloud/tenant", operator: "Exists" },
            ],
          },
        },
        matchConditions: [{ name: "gpu-pods-only", expression: gpuPodCondition() }],
        validations: [
          {
            expression:
              "has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller && r.kind == 'Job' && r.apiVersion == 'batch/v1')",
            message: "a GPU pod must be controlled by a Job of a GPUWorkload",
          },
        ],
      },
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name },
      spec: {
        policyName: name,
        validationActions: ["Deny"],
        matchResources: { namespaceSelector: { matchLabels: { [BENCH_LABEL]: `${id}-cel` } } },
      },
    },
  ];
}

const vapType = (kind: string, plural: string): Parameters<KubeClient["patch"]>[0] => ({
  group: "admissionregistration.k8s.io",
  version: "v1",
  kind,
  plural,
  namespaced: false,
});
const VAP = vapType("ValidatingAdmissionPolicy", "validatingadmissionpolicies");
const VAPB = vapType("ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings");
const NS_TYPE = {
  group: "",
  version: "v1",
  kind: "Namespace",
  plural: "namespaces",
  namespaced: false,
};

async function dryRunPod(
  client: KubeClient,
  ns: string,
  pod: Record<string, unknown>,
): Promise<void> {
  await client.request("POST", `/api/v1/namespaces/${ns}/pods?dryRun=All`, pod);
}

async function waitDenied(client: KubeClient, ns: string, what: string): Promise<void> {
  const bare = { ...benchPod("probe"), metadata: { name: "probe", namespace: ns } };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await dryRunPod(client, ns, bare);
    } catch (err) {
      if (/denied/.test((err as Error).message)) return;
    }
    if (Date.now() > deadline) throw new Error(`${what} never took effect`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const TARGETS = ["none", "cel", "webhook"] as const;
const nsOf = (id: string, t: (typeof TARGETS)[number]): string => `bench-${t}-${id}`;

async function e2ePhase(
  client: KubeClient,
  s: ServerChild,
  id: string,
  perTarget: number,
): Promise<Record<string, unknown>> {
  const targets = TARGETS;
  for (const t of targets) {
    await client.create(NS_TYPE, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: nsOf(id, t),
        labels: { "vaultmesh.cloud/tenant": BENCH_TENANT, [BENCH_LABEL]: `${id}-${t}` },
      },
    });
  }
  const hook = renderWebhookConfigurations({
    target: { url: s.url },
    caBundlePem: s.caPem,
    nameSuffix: `-bench-${id}`,
    only: ["pods.gpu-guard.vaultmesh.cloud"],
    testScope: { key: BENCH_LABEL, value: `${id}-webhook` },
  }).validating;
  const [policy, binding] = celPolicy(id);
  try {
    await applyWebhookConfigurations(client, [hook]);
    await client.create(VAP, policy!);
    await client.create(VAPB, binding!);
    await waitDenied(client, nsOf(id, "cel"), "the ValidatingAdmissionPolicy");
    await waitDenied(client, nsOf(id, "webhook"), "the webhook configuration");
    const lat: Record<string, number[]> = { none: [], cel: [], webhook: [] };
    // Interleaved: every round sends one request to each target, in rotating order, with a few
    // rounds in flight, so load and noise fall on all three alike.
    const rounds = perTarget + 200;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let r = next++; r < rounds; r = next++) {
        for (let k = 0; k < targets.length; k++) {
          const t = targets[(r + k) % targets.length]!;
          const pod = {
            ...benchPod(`p-${r}`),
            metadata: { ...(benchPod(`p-${r}`).metadata as object), namespace: nsOf(id, t) },
          };
          const t0 = performance.now();
          await dryRunPod(client, nsOf(id, t), pod);
          if (r >= 200) lat[t]!.push(performance.now() - t0);
        }
      }
    };
    log(`e2e: ${perTarget} dry-run pod creates per target, 4 in flight`);
    await Promise.all(Array.from({ length: 4 }, worker));
    const st = Object.fromEntries(targets.map((t) => [t, stats(lat[t]!)])) as Record<
      string,
      ReturnType<typeof stats>
    >;
    const added = (t: "cel" | "webhook", q: "p50" | "p99"): number =>
      Number((st[t]![q] - st.none![q]).toFixed(3));
    // Added latency: what each policy costs over the same request with no policy. The more
    // telling figure, but a difference of two noisy percentiles: CEL runs inside the apiserver
    // and often adds less than the noise, so its added p99 can come out ≤ 0 and the ratio of
    // added figures is then null (no meaningful number), not infinity.
    const ratio = (q: "p50" | "p99"): number | null =>
      added("cel", q) > 0 ? Number((added("webhook", q) / added("cel", q)).toFixed(2)) : null;
    // Total latency: a request through the webhook against the same request through CEL, end to
    // end (the apiserver's handling of a dry-run create, admission included). Always defined; near 1 when both policies
    // cost little next to the apiserver's own work, so it understates the webhook's own share.
    const totalRatio = (q: "p50" | "p99"): number | null =>
      st.cel![q] > 0 ? Number((st.webhook![q] / st.cel![q]).toFixed(2)) : null;
    return {
      unit: "ms",
      request: "POST /api/v1/namespaces/<ns>/pods?dryRun=All (a GPU pod of a Job)",
      rule: "GPU pod must be controlled by a Job (the webhook also walks Job → GPUWorkload in its cache)",
      latency: st,
      added_by_cel: { p50: added("cel", "p50"), p99: added("cel", "p99") },
      added_by_webhook: { p50: added("webhook", "p50"), p99: added("webhook", "p99") },
      webhook_to_cel_added_ratio: { p50: ratio("p50"), p99: ratio("p99") },
      webhook_to_cel_total_ratio: { p50: totalRatio("p50"), p99: totalRatio("p99") },
      goal_ratio_p99: 2,
    };
  } finally {
    await deleteWebhookConfigurations(client, [hook]);
    await client.delete(VAPB, { name: binding!.metadata!.name! });
    await client.delete(VAP, { name: policy!.metadata!.name! });
    for (const t of targets) await client.delete(NS_TYPE, { name: nsOf(id, t) });
  }
}

/**
 * A fixed CPU workload (SHA-256 over 64 MiB plus a JSON round trip of a 1 MiB document), so
 * that figures from a busy or a slow machine can be put in proportion. An idle modern x86 core
 * takes about 50 ms.
 */
function calibrationMs(): number {
  const data = Buffer.alloc(1 << 20, 7);
  const doc = {
    items: Array.from({ length: 10_000 }, (_, i) => ({ i, name: `item-${i}`, ok: true })),
  };
  const t0 = performance.now();
  for (let i = 0; i < 64; i++) createHash("sha256").update(data).digest();
  JSON.parse(JSON.stringify(doc));
  return Number((performance.now() - t0).toFixed(1));
}

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = new Date().toISOString();
  const calibration = calibrationMs();
  const decision = await decisionPhase(Number(args.decisions));
  const id = Math.random().toString(36).slice(2, 8);
  const where = placement();
  const server = await startServerChild(where.server, [nsOf(id, "webhook")]);
  let cluster: Cluster | undefined;
  try {
    const https = await httpsPhase(server, where, Number(args.rate), Number(args.seconds));
    const perTarget = Number(args["e2e-requests"]);
    let e2e: Record<string, unknown> | null = null;
    if (perTarget > 0) {
      let kubeconfig = args.kubeconfig ?? process.env.VAULTMESH_TEST_KUBECONFIG;
      if (!kubeconfig) {
        log("e2e: starting a private control plane");
        await ensureBinaries();
        cluster = await startCluster({
          dir: mkdtempSync(join(tmpdir(), "vaultmesh-bench-adm-")),
          name: "bench-admission",
          lifeline: true,
          nodePools: false,
        });
        kubeconfig = cluster.kubeconfig;
      }
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(kubeconfig);
      const client = await KubeClient.create(kc, { fieldManager: "vaultmesh-bench-admission" });
      e2e = await e2ePhase(client, server, id, perTarget);
      client.close();
    }
    const out = {
      bench: "admission",
      started,
      node: process.version,
      cpus: (await import("node:os")).cpus().length,
      loadavg: (await import("node:os")).loadavg().map((x) => Number(x.toFixed(2))),
      calibration_ms: calibration,
      decision,
      https,
      e2e,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    server.child.stdin!.end();
    server.child.kill("SIGTERM");
    await cluster?.stop();
  }
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
