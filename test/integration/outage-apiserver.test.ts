// Issue 10: the API server goes away. On a dedicated control plane (never the shared one):
// kube-apiserver is killed with SIGKILL, etcd is compacted past every revision our clients saw,
// and the apiserver is started again. An informer relists after the `410 Gone` its stale watch
// gets — a ConfigMap deleted behind its back (straight from etcd, while no apiserver could tell
// it) disappears from its cache with a delete event, one created after the return appears —
// and an operator process with leader election loses its Lease during the outage, stays up as a
// standby (ADR 0075), leads again once the apiserver is back and routes a workload applied then.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import * as k8s from "@kubernetes/client-node";
import {
  repoRoot,
  restartComponent,
  startCluster,
  type Cluster,
} from "../../hack/cluster/cluster.ts";
import { groupAlive, killGroup, stopGroups } from "../../hack/cluster/process.ts";
import { JOB_LABELS } from "../../operator/placement/job-builder.ts";
import { Informer, KubeClient, Resources, type KubeObject } from "../../services/kube/index.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { waitFor } from "../harness/kube.ts";
import { expectAlive, operatorHttpPort, OutageClock } from "./outage-env.ts";
import {
  cond,
  createTreaty,
  snapshot,
  spawnOperator,
  startTestLedger,
  type OperatorProcess,
  type TestLedger,
} from "./operator-env.ts";

const run = promisify(execFile);
const NAME = "apiserver-outage";
let cluster: Cluster;
let client: KubeClient;
let apiserverPid = 0;
let led: TestLedger | undefined;
let operator: OperatorProcess | undefined;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(
    join(cluster.binDir, "kubectl"),
    ["--kubeconfig", cluster.kubeconfig, ...args],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

// etcd's v3 JSON gateway (keys and values base64).
async function etcd(path: string, body: object): Promise<{ header?: { revision?: string } }> {
  const res = await fetch(`http://127.0.0.1:${cluster.etcdPort}/v3/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { header?: { revision?: string } };
}
const b64 = (s: string): string => Buffer.from(s).toString("base64");

/** Compacts etcd at its current revision: every older resourceVersion is gone for good. */
async function compactEtcd(): Promise<void> {
  const r = await etcd("kv/range", { key: b64("/"), limit: 1 });
  await etcd("kv/compaction", { revision: r.header?.revision, physical: true });
}

async function killApiserver(): Promise<void> {
  killGroup(apiserverPid, "SIGKILL");
  await waitFor("kube-apiserver to be gone", () => Promise.resolve(!groupAlive(apiserverPid)));
}

async function restartApiserver(): Promise<void> {
  apiserverPid = restartComponent(cluster, "kube-apiserver").pid;
  await waitFor(
    "kube-apiserver to be ready again",
    async () => (await kubectl("get", "--raw", "/readyz")).trim() === "ok",
    90_000,
  );
}

async function createNamespace(name: string): Promise<void> {
  await client.create(Resources.Namespace, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  });
}

beforeAll(async () => {
  cluster = await startCluster({
    dir: mkdtempSync(join(tmpdir(), "vaultmesh-apiserver-outage-")),
    name: NAME,
    lifeline: true,
    log: (m) => process.stderr.write(`[${NAME}] ${m}\n`),
  });
  apiserverPid = cluster.pids["kube-apiserver"] ?? 0;
  const crds = join(repoRoot, "crds/generated");
  await kubectl("apply", "--server-side", "-f", crds);
  await kubectl("wait", "--for=condition=Established", "-f", crds, "--timeout=60s");
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  client = await KubeClient.create(kc, { fieldManager: "vaultmesh-test" });
}, 180_000);

afterAll(async () => {
  operator?.kill("SIGKILL");
  await operator?.exited;
  client?.close();
  await led?.stop();
  // The restarted apiserver is not among the pids the cluster recorded.
  await stopGroups([apiserverPid]);
  await cluster?.stop();
}, 60_000);

describe("an informer across an API server restart and an etcd compaction", () => {
  it("relists after 410 Gone and converges: a delete it never saw as an event, an object created after", async () => {
    const ns = "relist";
    await createNamespace(ns);
    const cm = (name: string): KubeObject => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: ns, labels: { "vaultmesh.cloud/test": "relist" } },
    });
    await client.create(Resources.ConfigMap, cm("a"));
    await client.create(Resources.ConfigMap, cm("b"));
    const inf = new Informer<KubeObject>(client, Resources.ConfigMap, {
      namespace: ns,
      labelSelector: "vaultmesh.cloud/test=relist",
      minBackoffMs: 100,
      maxBackoffMs: 1000,
    });
    const deleted: string[] = [];
    inf.on((type, obj) => {
      if (type === "delete") deleted.push(obj.metadata?.name ?? "");
    });
    await inf.start();
    try {
      expect(
        inf
          .list()
          .map((o) => o.metadata?.name)
          .sort(),
      ).toEqual(["a", "b"]);
      expect(inf.relists).toBe(1);
      const clock = new OutageClock("kube-apiserver (informer)");

      await killApiserver();
      clock.down();
      // A change no watch can deliver: b removed from etcd directly while no apiserver runs.
      await etcd("kv/deleterange", { key: b64(`/registry-${NAME}/configmaps/${ns}/b`) });
      await compactEtcd();
      await restartApiserver();
      clock.back();
      await client.create(Resources.ConfigMap, cm("c"));

      await waitFor(
        "the informer to converge on the server's state",
        () => {
          const names = inf
            .list()
            .map((o) => o.metadata?.name)
            .sort();
          return Promise.resolve(names.join(",") === "a,c");
        },
        60_000,
      );
      clock.recovered("informer converged (relisted after 410)", { relists: inf.relists });
      // Only a 410 makes the informer list again: the stale watch was answered Gone.
      expect(inf.relists).toBeGreaterThanOrEqual(2);
      expect(deleted).toEqual(["b"]);
    } finally {
      await inf.stop();
    }
  }, 300_000);
});

describe("the operator across an API server outage longer than its lease", () => {
  it("stays up as a standby, leads again and routes what is applied after the return", async () => {
    const ns = "op";
    await createNamespace(ns);
    led = await startTestLedger("apiserver_outage");
    const label = "vaultmesh.cloud/test-run=apiserver-outage";
    await createTreaty(client, treaty("outage-pool").inCluster("a10g", 0.75).obj(), label);
    operator = spawnOperator({
      KUBECONFIG: cluster.kubeconfig,
      VAULTMESH_IDENTITY: "op-a",
      VAULTMESH_WATCH_NAMESPACE: ns,
      VAULTMESH_TREATY_SELECTOR: label,
      VAULTMESH_LEASE_NAMESPACE: ns,
      VAULTMESH_LEASE_DURATION_SECONDS: "4",
      VAULTMESH_RENEW_DEADLINE_SECONDS: "3",
      VAULTMESH_RETRY_PERIOD_SECONDS: "0.5",
      VAULTMESH_LEDGER_URL: led.url,
      VAULTMESH_SIGNING_KEY_FILE: led.keyFile,
    });
    const op = operator;
    const port = await operatorHttpPort(op);
    const routed = async (name: string): Promise<boolean> => {
      const s = await snapshot(client, ns);
      const w = s.workloads.find((x) => x.metadata.name === name);
      return (
        cond(w, "Routed")?.status === "True" &&
        s.jobs.some((j) => j.metadata.name === w?.status?.jobRef?.name)
      );
    };
    await client.create(Resources.GPUWorkload, gpuWorkload("before", ns).obj());
    await waitFor(
      "the workload applied before the outage to be routed",
      () => routed("before"),
      60_000,
    );

    const clock = new OutageClock("kube-apiserver");
    await killApiserver();
    clock.down();
    // Longer than the renew deadline: the operator loses its Lease while the apiserver is away.
    await waitFor(
      "the operator to lose its leadership",
      () => Promise.resolve(/leadership lost; standing by/.test(op.output())),
      30_000,
    );
    await expectAlive(op, port);
    await compactEtcd();
    const ledBefore = (op.output().match(/became leader/g) ?? []).length;
    await restartApiserver();
    clock.back();
    await client.create(Resources.GPUWorkload, gpuWorkload("after", ns).obj());

    await waitFor(
      "the operator to lead again",
      () => Promise.resolve((op.output().match(/became leader/g) ?? []).length > ledBefore),
      60_000,
    );
    clock.recovered("operator leads again");
    await waitFor(
      "the workload applied after the return to be routed",
      () => routed("after"),
      60_000,
    );
    clock.recovered("workload applied after the return routed and placed");
    // Its watches were answered 410 (their resourceVersions were compacted away) and relisted.
    expect(op.output()).toMatch(/watch expired \(410 Gone\); relisting/);
    // Nothing doubled: still one Job per workload.
    const s = await snapshot(client, ns);
    expect(s.jobs.map((j) => j.metadata.labels?.[JOB_LABELS.workload]).sort()).toEqual(
      s.workloads.map((w) => w.metadata.name).sort(),
    );
    await expectAlive(op, port);
  }, 300_000);
});
