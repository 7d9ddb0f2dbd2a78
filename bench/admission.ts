/**
 * Admission benchmark (`npm run bench:admission`): prints one JSON document with
 *
 *   decision  in-process decision time per policy (no HTTP): p50/p99/max in microseconds;
 *   https     the server as a child process pinned to one core, driven open-loop at --rate
 *             requests/s over keep-alive HTTPS for --seconds: latency percentiles, achieved
 *             rate, the server's CPU use;
 *   e2e       dry-run Pod creates through a real apiserver into three namespaces — no policy,
 *             the GPU pod rule as a ValidatingAdmissionPolicy (CEL), and our GPU pod guard
 *             webhook — interleaved, so the latency each adds is measured under the same load.
 *
 *   --kubeconfig F   cluster for the e2e phase (else $VAULTMESH_TEST_KUBECONFIG, else a private
 *                    control plane is started and stopped)
 *   --decisions N    in-process decisions per policy (default 20000)
 *   --rate R         HTTPS requests per second (default 1000)
 *   --seconds S      HTTPS measurement time (default 10, after 2 s of warm-up)
 *   --e2e-requests N requests per namespace in the e2e phase (default 1500)
 *   --cpu C          pin the server child to CPU C with taskset (default: not pinned; the
 *                    server is one Node event loop either way, and its CPU use is reported)
 *
 * Progress goes to stderr. Nothing here is a test: goals are compared, never asserted.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { Agent, request } from "node:https";
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

const { values: args } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    decisions: { type: "string", default: "20000" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    "e2e-requests": { type: "string", default: "1500" },
    cpu: { type: "string" },
  },
});
const log = (msg: string): void => void process.stderr.write(`[bench:admission] ${msg}\n`);

/** Percentiles of a sample, in the sample's unit, rounded to 3 decimals. */
function stats(xs: number[]): { n: number; p50: number; p90: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number =>
    Number((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0).toFixed(3));
  return {
    n: s.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: Number((s.at(-1) ?? 0).toFixed(3)),
  };
}

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

// ---- the server child --------------------------------------------------------------------

interface ServerChild {
  readonly child: ChildProcess;
  readonly url: string;
  readonly caPem: string;
}

async function startServerChild(
  cpu: string | undefined,
  podNamespaces: string[],
): Promise<ServerChild> {
  const script = new URL("./admission-server.ts", import.meta.url).pathname;
  const [cmd, ...argv] = [
    ...(cpu === undefined ? [] : ["taskset", "-c", cpu]),
    process.execPath,
    script,
  ];
  const child = spawn(cmd, argv, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, VAULTMESH_BENCH_POD_NAMESPACES: podNamespaces.join(",") },
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const { url, caPem } = JSON.parse(line) as { url: string; caPem: string };
  return { child, url, caPem };
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// ---- phase 2: HTTPS at a fixed rate ------------------------------------------------------

async function httpsPhase(
  s: ServerChild,
  rate: number,
  seconds: number,
): Promise<Record<string, unknown>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: s.caPem });
  const url = new URL("/validate/gpuworkloads", s.url);
  const body = Buffer.from(JSON.stringify(workloadReview(1)));
  let errors = 0;
  const send = (record: number[] | undefined): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = request(url, {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": body.length },
      });
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) errors++;
          record?.push(performance.now() - t0);
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  // Open loop: requests go out on schedule whether or not earlier ones have answered, so a slow
  // server shows up as latency instead of as a lower rate.
  const run = (ms: number, record: number[] | undefined): Promise<number> =>
    new Promise((resolve) => {
      const inflight: Promise<void>[] = [];
      const start = performance.now();
      let sent = 0;
      const timer = setInterval(() => {
        const elapsed = performance.now() - start;
        const due = Math.min(Math.floor((elapsed / 1000) * rate), Math.floor((ms / 1000) * rate));
        while (sent < due) {
          inflight.push(send(record));
          sent++;
        }
        if (elapsed >= ms) {
          clearInterval(timer);
          void Promise.all(inflight).then(() =>
            resolve((sent / (performance.now() - start)) * 1000),
          );
        }
      }, 1);
    });
  log(`https: warm-up 2 s at ${rate}/s`);
  await run(2000, undefined);
  const latencies: number[] = [];
  const pid = s.child.pid ?? 0;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  log(`https: measuring ${seconds} s at ${rate}/s`);
  const achieved = await run(seconds * 1000, latencies);
  const cpu = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
  agent.destroy();
  return {
    unit: "ms",
    path: url.pathname,
    target_rps: rate,
    achieved_rps: Math.round(achieved),
    errors,
    server_cpu_cores: Number(cpu.toFixed(2)),
    server_cpu_ms_per_request: Number(((cpu / achieved) * 1000).toFixed(3)),
    pinned_cpu: args.cpu ?? null,
    goal_p99_ms: 5,
    ...stats(latencies),
  };
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
    const ratio = (q: "p50" | "p99"): number | null =>
      added("cel", q) > 0 ? Number((added("webhook", q) / added("cel", q)).toFixed(2)) : null;
    return {
      unit: "ms",
      request: "POST /api/v1/namespaces/<ns>/pods?dryRun=All (a GPU pod of a Job)",
      rule: "GPU pod must be controlled by a Job (the webhook also walks Job → GPUWorkload in its cache)",
      latency: st,
      added_by_cel: { p50: added("cel", "p50"), p99: added("cel", "p99") },
      added_by_webhook: { p50: added("webhook", "p50"), p99: added("webhook", "p99") },
      webhook_to_cel_added_ratio: { p50: ratio("p50"), p99: ratio("p99") },
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
  const server = await startServerChild(args.cpu, [nsOf(id, "webhook")]);
  let cluster: Cluster | undefined;
  try {
    const https = await httpsPhase(server, Number(args.rate), Number(args.seconds));
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
    const e2e = await e2ePhase(client, server, id, Number(args["e2e-requests"]));
    client.close();
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
    server.child.kill("SIGTERM");
    await cluster?.stop();
  }
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
