// Issue 4 item 4, external treaties: a workload routed to an external provider runs through the
// provider protocol against a real simulator on loopback and gets its completion receipt; a
// provider that is down before the job starts makes the workload fail over to the in-cluster
// treaty. The bearer token comes from the treaty's credentials Secret.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { GPUWorkload, Receipt, Treaty } from "../../crds/index.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import {
  startProviderSim,
  type RunningSim,
  type SimFaults,
} from "../../services/provider-sim/index.ts";
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

/** Matches a number greater than zero (an asymmetric matcher). */
const positive = { asymmetricMatch: (n: unknown): boolean => typeof n === "number" && n > 0 };

const TOKEN = `tok-${Math.random().toString(36).slice(2, 10)}`;
let ns = "";
let client: KubeClient;
let led: TestLedger;
let sim: RunningSim;
const faults: SimFaults = {};
let op: Awaited<ReturnType<typeof startInProcessOperator>>;
const label = `vaultmesh.cloud/test-run=ext-${Math.random().toString(36).slice(2, 8)}`;
const created: string[] = [];

const getWl = (name: string): Promise<GPUWorkload | undefined> =>
  client.get<GPUWorkload>(Resources.GPUWorkload, name, ns);
const finished = async (name: string): Promise<GPUWorkload | undefined> => {
  const w = await getWl(name);
  return cond(w, "Complete")?.status === "True" && w?.status?.receiptRef ? w : undefined;
};

/** An external treaty on the simulator, cheaper than the pool, token from a Secret. */
async function addExternal(name: string): Promise<void> {
  const t: Treaty = treaty(name).external("sim", sim.url, 0.3).obj();
  t.spec.credentialsSecretRef = { name: "sim-credentials", key: "token" };
  await createTreaty(client, t, label);
  created.push(name);
  // Ready once the first health probe answered (the treaty then has a measured latency).
  await waitFor(`treaty ${name} to be probed`, async () => {
    const x = await client.get<Treaty>(Resources.Treaty, name);
    return x?.status?.latencyMs !== undefined ? x : undefined;
  });
}

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("op-ext");
  led = await startTestLedger("op_ext");
  sim = await startProviderSim({
    clock: systemClock,
    faults,
    provider: "sim",
    tokens: [TOKEN],
    pricing: { a10g: 0.3 },
    regions: ["local"],
    durations: { queuedMs: 300, runningMs: 1500 },
  });
  await client.create(Resources.Secret, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "sim-credentials", namespace: ns },
    stringData: { token: TOKEN },
  });
  op = await startInProcessOperator({
    namespace: ns,
    treatySelector: label,
    ledger: led.ledger,
    unschedulableTimeoutMs: 600000,
    probeIntervalMs: 600000, // one probe per treaty: the tests change faults after it
  });
});

afterAll(async () => {
  await op?.stop();
  for (const t of created) await client.delete(Resources.Treaty, { name: t });
  await client.delete(Resources.Namespace, { name: ns });
  await sim?.close();
  await led?.stop();
  client.close();
});

describe("the GPUWorkload controller with an external treaty", () => {
  it("runs a workload at the provider and records one receipt with the provider's usage", async () => {
    const ext = `ext-${ns}`;
    await addExternal(ext);
    await client.create(
      Resources.GPUWorkload,
      gpuWorkload("remote", ns).strategy("cheapest").obj(),
    );

    const w = await waitFor("workload remote to complete", () => finished("remote"), 60000);
    expect(w.status?.placement).toMatchObject({ treaty: ext, provider: "sim" });
    const attempts = w.status?.attempts ?? [];
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, treaty: ext, outcome: "Succeeded" });
    const id = attempts[0]?.externalId ?? "";
    expect(id).not.toBe("");
    expect(w.status?.jobRef).toBeUndefined();
    expect(w.metadata.finalizers).toContain("vaultmesh.cloud/provider-job");

    // The provider's own record: one job, submitted under the attempt's idempotency key.
    const res = await fetch(`${sim.url}/v1/jobs/${id}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const job = (await res.json()) as { idempotencyKey: string; state: string };
    expect(job).toMatchObject({ idempotencyKey: `gw-${w.metadata.uid}-a1`, state: "succeeded" });

    const r = await client.get<Receipt>(Resources.Receipt, w.status?.receiptRef?.name ?? "", ns);
    expect(r?.spec.type).toBe("WorkloadCompleted");
    expect(r?.spec.payload).toMatchObject({
      workloadUid: w.metadata.uid,
      attempt: 1,
      treaty: ext,
      provider: "sim",
      jobName: id,
      gpuSeconds: w.status?.gpuSeconds,
      costMicroUsd: w.status?.costMicroUsd,
    });
    // Exact micro-dollars (ADR 0096): a 2-second job is not free.
    expect(w.status).toMatchObject({ gpuSeconds: positive, costMicroUsd: positive });
    expect(r?.status?.conditions?.find((c) => c.type === "Logged")?.status).toBe("True");
    // Exactly once: one ledger entry for the one workload, and no Job in the cluster.
    expect((await led.ledger.latestTreeHead())?.treeSize).toBe(1);
    const jobs = await client.list(Resources.Job, { namespace: ns });
    expect(jobs.items).toHaveLength(0);
    // The token is in no status, condition or Event.
    const events = await client.list(Resources.Event, { namespace: ns });
    expect(JSON.stringify([w, events.items])).not.toContain(TOKEN);
  });

  it("fails over to the in-cluster treaty when the provider is down before the job starts", async () => {
    const pool = `pool-${ns}`;
    await createTreaty(client, treaty(pool).inCluster("a10g", 0.6).obj(), label);
    created.push(pool);
    faults.down = true;
    try {
      await client.create(
        Resources.GPUWorkload,
        gpuWorkload("fallback", ns).strategy("cheapest").completeAfter("1s").obj(),
      );
      const w = await waitFor("fallback to complete", () => finished("fallback"), 60000);
      const attempts = w.status?.attempts ?? [];
      expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([
        [1, "Abandoned"],
        [2, "Succeeded"],
      ]);
      expect(attempts[0]?.treaty).toBe(`ext-${ns}`);
      expect(attempts[0]?.reason).toMatch(/503/);
      expect(attempts[1]?.treaty).toBe(pool);
      expect(w.status?.placement?.provider).toBe("in-cluster");
    } finally {
      faults.down = false;
    }
  });
});
