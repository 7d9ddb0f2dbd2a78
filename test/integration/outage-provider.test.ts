// Issue 10: a provider goes away. The provider simulator stays up with its jobs, but the path
// to it (a TCP proxy, the Treaty's endpoint) is cut — connections refused — under an operator
// process, and restored later. The failover rules apply (ADR 0023): a workload applied during the
// outage, whose submission cannot reach the provider, fails over to the in-cluster treaty and
// completes there, and the provider never hears of it; a workload whose job was already running
// at the provider does NOT fail over (that would run it twice) — its polls fail and are retried,
// and once the provider is reachable again it completes from the provider's own record: one
// attempt, one external job, one receipt, no Job in the cluster. The process stays up.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { GPUWorkload, Treaty } from "../../crds/index.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { idempotencyKeyFor } from "../../services/provider-client/protocol-constants.ts";
import { startProviderSim, type RunningSim } from "../../services/provider-sim/index.ts";
import { jobIdFor } from "../../services/provider-sim/sim-jobs.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { createTestNamespace, waitFor } from "../harness/kube.ts";
import {
  cond,
  createTreaty,
  snapshot,
  spawnOperator,
  startTestLedger,
  testClient,
  type OperatorProcess,
  type TestLedger,
} from "./operator-env.ts";
import {
  expectAlive,
  operatorHttpPort,
  OutageClock,
  startTcpProxy,
  type TcpProxy,
} from "./outage-env.ts";

const TOKEN = `tok-${Math.random().toString(36).slice(2, 10)}`;
const run = Math.random().toString(36).slice(2, 8);
const label = `vaultmesh.cloud/test-run=outage-provider-${run}`;
const ext = `outage-sim-${run}`;
const pool = `outage-pool-${run}`;
let client: KubeClient;
let ns = "";
let led: TestLedger;
let sim: RunningSim;
let proxy: TcpProxy;
let operator: OperatorProcess | undefined;

/** The simulator's record of the job submitted for attempt `n` of `uid` (asked directly). */
async function simJob(uid: string, n: number): Promise<{ state: string } | undefined> {
  const res = await fetch(`${sim.url}/v1/jobs/${jobIdFor(idempotencyKeyFor(uid, n))}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  if (res.status === 404) {
    await res.arrayBuffer();
    return undefined;
  }
  return (await res.json()) as { state: string };
}

const finished = (w: GPUWorkload | undefined): boolean =>
  cond(w, "Complete")?.status === "True" && w?.status?.receiptRef !== undefined;

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("outage-provider");
  led = await startTestLedger("outage_provider");
  sim = await startProviderSim({
    clock: systemClock,
    provider: "sim",
    tokens: [TOKEN],
    pricing: { a10g: 0.3 },
    regions: ["local"],
    durations: { queuedMs: 300, runningMs: 4000 },
  });
  proxy = await startTcpProxy(Number(new URL(sim.url).port));
  await client.create(Resources.Secret, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "sim-credentials", namespace: ns },
    stringData: { token: TOKEN },
  });
  const t: Treaty = treaty(ext).external("sim", proxy.url, 0.3).obj();
  t.spec.credentialsSecretRef = { name: "sim-credentials", namespace: ns, key: "token" };
  await createTreaty(client, t, label);
  await createTreaty(client, treaty(pool).inCluster("a10g", 0.6).obj(), label);
}, 120_000);

afterAll(async () => {
  operator?.kill("SIGKILL");
  await operator?.exited;
  for (const name of [ext, pool]) await client.delete(Resources.Treaty, { name });
  await client.delete(Resources.Namespace, { name: ns });
  await proxy?.stop();
  await sim?.close();
  await led?.stop();
  client.close();
}, 60_000);

describe("the provider becomes unreachable and comes back", () => {
  it("fails over only what never reached it, and finishes the running job from its record", async () => {
    operator = spawnOperator({
      VAULTMESH_LEADER_ELECT: "false",
      VAULTMESH_WATCH_NAMESPACE: ns,
      VAULTMESH_TREATY_SELECTOR: label,
      VAULTMESH_LEDGER_URL: led.url,
      VAULTMESH_SIGNING_KEY_FILE: led.keyFile,
      VAULTMESH_PROVIDER_POLL_MS: "500",
      POD_NAMESPACE: ns,
    });
    const op = operator;
    const port = await operatorHttpPort(op);
    const wl = async (name: string): Promise<GPUWorkload | undefined> =>
      await client.get<GPUWorkload>(Resources.GPUWorkload, name, ns);
    await waitFor(
      "both treaties to be Ready",
      async () => {
        for (const name of [ext, pool]) {
          const t = await client.get<Treaty>(Resources.Treaty, name);
          if (t?.status?.conditions?.find((c) => c.type === "Ready")?.status !== "True") {
            return false;
          }
        }
        return true;
      },
      60_000,
    );

    await client.create(
      Resources.GPUWorkload,
      gpuWorkload("remote", ns).strategy("cheapest").obj(),
    );
    const remote = await waitFor(
      "the remote job to run at the provider",
      async () => {
        const w = await wl("remote");
        const uid = w?.metadata.uid ?? "";
        return uid && (await simJob(uid, 1))?.state === "running" ? w : undefined;
      },
      60_000,
    );
    const uid = remote.metadata.uid ?? "";

    const clock = new OutageClock("provider");
    await proxy.stop();
    clock.down();
    await client.create(
      Resources.GPUWorkload,
      gpuWorkload("during", ns).strategy("cheapest").completeAfter("1s").obj(),
    );
    const during = await waitFor(
      "the workload applied during the outage to complete on the in-cluster treaty",
      async () => {
        const w = await wl("during");
        return finished(w) ? w : undefined;
      },
      90_000,
    );
    expect(during.status?.placement).toMatchObject({ treaty: pool, provider: "in-cluster" });
    // The provider never received it: no job under any of its attempts' keys.
    for (const a of during.status?.attempts ?? []) {
      expect(await simJob(during.metadata.uid ?? "", a.attempt)).toBeUndefined();
    }
    // The running job finished at the provider while we could not see it …
    await waitFor(
      "the remote job to finish at the provider",
      async () => (await simJob(uid, 1))?.state === "succeeded",
      60_000,
    );
    // … and the workload did not fail over meanwhile: still one attempt, no Job in the cluster.
    const stillWaiting = await wl("remote");
    expect(finished(stillWaiting)).toBe(false);
    expect(stillWaiting?.status?.attempts).toHaveLength(1);
    expect((await snapshot(client, ns)).jobs.map((j) => j.metadata.name)).toEqual([
      during.status?.jobRef?.name,
    ]);
    await expectAlive(op, port);

    await proxy.start();
    clock.back();
    const done = await waitFor(
      "the remote workload to complete from the provider's record",
      async () => {
        const w = await wl("remote");
        return finished(w) ? w : undefined;
      },
      90_000,
    );
    clock.recovered("running external job completed with its receipt");
    expect(done.status?.attempts?.map((a) => [a.attempt, a.treaty, a.outcome])).toEqual([
      [1, ext, "Succeeded"],
    ]);
    expect(await simJob(uid, 2)).toBeUndefined();
    const s = await snapshot(client, ns);
    expect(s.jobs).toHaveLength(1);
    for (const w of s.workloads) {
      const mine = s.receipts.filter(
        (r) => r.metadata.labels?.["vaultmesh.cloud/workload-uid"] === w.metadata.uid,
      );
      expect([w.metadata.name, mine.length]).toEqual([w.metadata.name, 1]);
    }
    await expectAlive(op, port);
  });
});
