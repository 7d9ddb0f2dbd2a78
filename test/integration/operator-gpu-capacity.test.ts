// Issue 12, item 9, on the real control plane: an 8-GPU workload on a pool whose GPU nodes hold
// 4 is refused by the router up front (ExceedsLargestNode) and runs once a node of 8 joins; a
// workload whose every treaty was attempted waits (Routed False, AwaitingRetry, Failed False)
// and is tried again after the back-off (ADR 0098, ADR 0099). Each test has its own pool: kwok
// nodes with a label no other test selects, so the shared cluster's pool is left alone.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { GPUWorkload, Treaty } from "../../crds/index.ts";
import { Resources, type KubeClient, type KubeObject } from "../../services/kube/index.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { createTestNamespace, waitFor } from "../harness/kube.ts";
import {
  cond,
  createTreaty,
  startInProcessOperator,
  startTestLedger,
  testClient,
  type TestLedger,
} from "./operator-env.ts";

const POOL_LABEL = "vaultmesh.cloud/test-pool";
const BACKOFF_MS = 4000;
let ns = "";
let client: KubeClient;
let led: TestLedger;
let op: Awaited<ReturnType<typeof startInProcessOperator>>;
const label = `vaultmesh.cloud/test-run=cap-${Math.random().toString(36).slice(2, 8)}`;
const treaties: string[] = [];
const nodes: string[] = [];

/** A kwok GPU node of pool `pool` with `gpus` allocatable a10g GPUs, tainted like the pool. */
async function addNode(name: string, pool: string, gpus: number): Promise<void> {
  const node: KubeObject = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        [POOL_LABEL]: pool,
        "gpu-type": "a10g",
        type: "kwok",
        "kubernetes.io/hostname": name,
      },
    },
    spec: { taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }] },
    status: {
      allocatable: { cpu: "16", memory: "64Gi", pods: "110", "nvidia.com/gpu": String(gpus) },
      capacity: { cpu: "16", memory: "64Gi", pods: "110", "nvidia.com/gpu": String(gpus) },
    },
  };
  nodes.push(name);
  await client.create(Resources.Node, node);
}

/** A Ready in-cluster treaty over the nodes labelled `pool` (and nothing else). */
async function addPoolTreaty(name: string, pool: string): Promise<void> {
  const t = treaty(name).inCluster("a10g", 0.6).obj();
  t.spec.inCluster = { ...t.spec.inCluster!, nodeSelector: { [POOL_LABEL]: pool } };
  await createTreaty(client, t, label);
  treaties.push(name);
  await waitFor(`treaty ${name} to be Ready`, async () => {
    const x = await client.get<Treaty>(Resources.Treaty, name);
    return x?.status?.conditions?.find((c) => c.type === "Ready")?.status === "True"
      ? x
      : undefined;
  });
}

const getWl = (name: string): Promise<GPUWorkload | undefined> =>
  client.get<GPUWorkload>(Resources.GPUWorkload, name, ns);
const finished = async (name: string): Promise<GPUWorkload | undefined> => {
  const w = await getWl(name);
  return cond(w, "Complete")?.status === "True" && w?.status?.receiptRef ? w : undefined;
};
/** The node the Pod of the workload's attempt `n` ran on. */
async function nodeOfAttempt(name: string, n: number): Promise<string | undefined> {
  const pods = await client.list<KubeObject & { spec?: { nodeName?: string } }>(Resources.Pod, {
    namespace: ns,
    labelSelector: `vaultmesh.cloud/workload=${name},vaultmesh.cloud/attempt=${n}`,
  });
  return pods.items[0]?.spec?.nodeName;
}

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("op-cap");
  led = await startTestLedger("op_cap");
  op = await startInProcessOperator({
    namespace: ns,
    treatySelector: label,
    ledger: led.ledger,
    unschedulableTimeoutMs: 2000,
    retryBackoffMs: BACKOFF_MS,
  });
});

afterAll(async () => {
  await op?.stop();
  for (const t of treaties) await client.delete(Resources.Treaty, { name: t });
  await client.delete(Resources.Namespace, { name: ns });
  for (const n of nodes) await client.delete(Resources.Node, { name: n });
  await led?.stop();
  client.close();
});

describe("GPU workloads and the pool's node sizes", () => {
  it("refuses an 8-GPU workload on 4-GPU nodes up front and runs it when an 8-GPU node joins", async () => {
    const pool = `big-${ns}`;
    await addNode(`${ns}-four-1`, pool, 4);
    await addNode(`${ns}-four-2`, pool, 4);
    await addPoolTreaty(pool, pool);
    await client.create(
      Resources.GPUWorkload,
      gpuWorkload("eight", ns).gpu("a10g", 8).completeAfter("1s").obj(),
    );
    const waiting = await waitFor("eight to wait for a treaty", async () => {
      const w = await getWl("eight");
      return cond(w, "Routed")?.status === "False" ? w : undefined;
    });
    const tooBig =
      "gpu.count 8 exceeds the largest a10g node of the pool (4 nvidia.com/gpu allocatable)";
    expect(cond(waiting, "Routed")?.reason).toBe("NoEligibleTreaty");
    expect(cond(waiting, "Routed")?.message).toContain(tooBig);
    expect(waiting.status?.candidates).toEqual([
      { treaty: pool, provider: "in-cluster", eligible: false, reasons: [tooBig] },
    ]);
    // Never placed: no attempt, no Job waiting as Unschedulable.
    expect(waiting.status?.attempts ?? []).toEqual([]);
    expect((await client.list(Resources.Job, { namespace: ns })).items).toEqual([]);

    // A node that holds 8 joins: the waiting workload is routed again (a Node watch) and runs.
    await addNode(`${ns}-eight`, pool, 8);
    const done = await waitFor("eight to complete", () => finished("eight"), 60000);
    expect(done.status?.placement?.treaty).toBe(pool);
    expect(done.status?.attempts?.map((a) => [a.attempt, a.outcome])).toEqual([[1, "Succeeded"]]);
    expect(await nodeOfAttempt("eight", 1)).toBe(`${ns}-eight`);
  });

  it("keeps a workload whose every treaty was attempted waiting, and retries after the back-off", async () => {
    const pool = `empty-${ns}`;
    await addPoolTreaty(pool, pool); // no node yet: the Job cannot be scheduled
    await client.create(
      Resources.GPUWorkload,
      gpuWorkload("patient", ns).gpu("a10g", 2).treatyRef(pool).completeAfter("1s").obj(),
    );
    // Attempt 1 is abandoned as unschedulable; the only treaty is in its back-off.
    const backingOff = await waitFor(
      "patient to wait for its retry",
      async () => {
        const w = await getWl("patient");
        return cond(w, "Routed")?.reason === "AwaitingRetry" ? w : undefined;
      },
      60000,
    );
    expect(cond(backingOff, "Routed")?.status).toBe("False");
    // How many treaties the router considered depends on the other tests' treaties (they share
    // the operator's selector): the message is checked for its structure and this pool's reason.
    const routedMessage = cond(backingOff, "Routed")?.message ?? "";
    expect(routedMessage).toMatch(
      /^attempted treaties are tried again from \d{4}-\d\d-\d\dT[\d:.]+Z; no eligible treaty among \d+: /,
    );
    expect(routedMessage).toContain(`${pool}: treaty already attempted`);
    expect(cond(backingOff, "Ready")).toMatchObject({ status: "False", reason: "AwaitingRetry" });
    expect(cond(backingOff, "Failed")?.status).toBe("False");
    expect(backingOff.status?.attempts?.[0]).toMatchObject({
      attempt: 1,
      treaty: pool,
      outcome: "Abandoned",
    });
    expect(backingOff.status?.attempts?.[0]?.reason).toMatch(/^unschedulable for/);

    // Capacity arrives; after the back-off the same treaty is tried again, and the job runs.
    await addNode(`${ns}-late`, pool, 4);
    const done = await waitFor(
      "patient to complete on its retry",
      () => finished("patient"),
      90000,
    );
    const attempts = done.status?.attempts ?? [];
    expect(attempts.at(-1)).toMatchObject({ treaty: pool, outcome: "Succeeded" });
    expect(attempts.slice(0, -1).every((a) => a.treaty === pool && a.outcome === "Abandoned")).toBe(
      true,
    );
    // The retry waited for the back-off after the abandoned attempt before it began.
    const abandonedAt = Date.parse(attempts.at(-2)?.endTime ?? "");
    expect(Date.parse(attempts.at(-1)?.startTime ?? "")).toBeGreaterThanOrEqual(
      Math.floor(abandonedAt / 1000) * 1000 + BACKOFF_MS - 1000,
    );
    expect(await nodeOfAttempt("patient", attempts.at(-1)?.attempt ?? 0)).toBe(`${ns}-late`);
  });
});
