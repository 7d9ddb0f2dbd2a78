// Issue 4, "Done means": a workload lands on a GPU node, completes, and its receipt verifies;
// bad input waits with a reason and is re-evaluated; quota exhaustion waits and runs when
// capacity frees; failover when the chosen treaty is suspended before the job starts.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { GPUWorkload, Receipt, Treaty } from "../../crds/index.ts";
import type { Job, Pod } from "../../operator/shared/kube-types.ts";
import { exportBundle } from "../../services/ledger/bundle.ts";
import { verifyBundle } from "../../services/ledger/verify-bundle.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
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

const run = promisify(execFile);
let ns = "";
let client: KubeClient;
let led: TestLedger;
let op: Awaited<ReturnType<typeof startInProcessOperator>>;
const label = `vaultmesh.cloud/test-run=gw-${Math.random().toString(36).slice(2, 8)}`;
const created: string[] = [];

async function addTreaty(t: Treaty): Promise<void> {
  await createTreaty(client, t, label);
  created.push(t.metadata.name ?? "");
}
const getWl = (name: string): Promise<GPUWorkload | undefined> =>
  client.get<GPUWorkload>(Resources.GPUWorkload, name, ns);
const finished = async (name: string): Promise<GPUWorkload | undefined> => {
  const w = await getWl(name);
  return cond(w, "Complete")?.status === "True" && w?.status?.receiptRef ? w : undefined;
};

/** Labels of the node that ran the one Job of workload `name` (fails unless exactly one). */
async function nodeLabelsOfOnlyJob(name: string): Promise<Record<string, string> | undefined> {
  const jobs = (await client.list<Job>(Resources.Job, { namespace: ns })).items.filter(
    (j) => j.metadata.labels?.["vaultmesh.cloud/workload"] === name,
  );
  expect(jobs).toHaveLength(1);
  const pods = await client.list<Pod>(Resources.Pod, {
    namespace: ns,
    labelSelector: `job-name=${jobs[0]?.metadata.name}`,
  });
  const node = await client.get<Pod>(Resources.Node, pods.items[0]?.spec?.nodeName ?? "");
  return node?.metadata.labels;
}

/** Checks the receipt of `w` end to end; returns the Receipt resource. */
async function checkReceipt(w: GPUWorkload, treatyName: string): Promise<Receipt> {
  const r = await client.get<Receipt>(Resources.Receipt, w.status?.receiptRef?.name ?? "", ns);
  if (!r) throw new Error("no Receipt");
  expect(r.spec.type).toBe("WorkloadCompleted");
  expect(r.spec.payload).toMatchObject({
    workloadUid: w.metadata.uid,
    attempt: 1,
    treaty: treatyName,
  });
  expect(r.status?.conditions?.find((c) => c.type === "Logged")?.status).toBe("True");
  // What `remembrancer verify-full` checks: receipt → leaf → inclusion → signed, stamped head.
  const bundle = await exportBundle(led.ledger, { digest: r.spec.digest });
  const report = await verifyBundle(bundle, await led.ledger.trust());
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.ok).toBe(true);
  // And the CLI itself, offline, on the exported bundle pinned to the ledger's keys.
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-bundle-"));
  writeFileSync(join(dir, "bundle.json"), JSON.stringify(bundle));
  // Pinned keys as separate files: the Ed25519 bundle, the TSA CA (PEM), the OpenPGP key.
  const trust = await led.ledger.trust();
  writeFileSync(join(dir, "trust.json"), JSON.stringify({ ...trust, tsa: [], openpgp: [] }));
  writeFileSync(join(dir, "tsa.pem"), trust.tsa.join("\n"));
  writeFileSync(join(dir, "ledger.asc"), trust.openpgp.join("\n"));
  const pins = ["trust.json", "tsa.pem", "ledger.asc"].flatMap((f) => ["--trust", join(dir, f)]);
  const cli = await run("node_modules/.bin/node", [
    "bin/remembrancer.js",
    "verify-full",
    join(dir, "bundle.json"),
    ...pins,
  ]);
  expect(cli.stdout).toMatch(/^verified$/m);
  expect(cli.stdout).not.toMatch(/keys were taken from the evidence/);
  return r;
}

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("op-gw");
  led = await startTestLedger("op_gw");
  op = await startInProcessOperator({
    namespace: ns,
    treatySelector: label,
    ledger: led.ledger,
    unschedulableTimeoutMs: 600000,
  });
});

afterAll(async () => {
  await op?.stop();
  for (const t of created) await client.delete(Resources.Treaty, { name: t });
  await client.delete(Resources.Namespace, { name: ns });
  await led?.stop();
  client.close();
});

describe("the GPUWorkload controller", () => {
  it("lands a workload on a tainted GPU node, completes it and records one verifiable receipt", async () => {
    const pool = `pool-${ns}`;
    await addTreaty(treaty(pool).inCluster("a10g", 0.6).obj());
    await client.create(Resources.GPUWorkload, gpuWorkload("train", ns).completeAfter("2s").obj());

    const w = await waitFor("workload train to complete", () => finished("train"), 60000);
    expect(w.status?.placement).toMatchObject({ treaty: pool, provider: "in-cluster" });
    expect(w.status?.candidates?.[0]).toMatchObject({ treaty: pool, eligible: true });
    expect(cond(w, "Ready")).toMatchObject({ status: "True", reason: "Succeeded" });
    expect(cond(w, "Ready")?.observedGeneration).toBe(w.metadata.generation);
    expect(w.status?.gpuSeconds).toBeGreaterThan(0);
    // Whole GPU-seconds at $0.60/GPU-hour in integer micro-dollars (ADR 0096): a job of a few
    // seconds costs a few hundred µ$ — when costs were rounded to whole cents it recorded 0.
    expect(Number.isInteger(w.status?.gpuSeconds)).toBe(true);
    const wantMicros = Math.round(((w.status?.gpuSeconds ?? 0) * 600_000) / 3600);
    expect(wantMicros).toBeGreaterThan(0);
    expect(wantMicros).toBeLessThan(10_000); // under a cent
    expect(w.status?.costMicroUsd).toBe(wantMicros);
    expect(w.status?.cost).toBe(wantMicros / 1_000_000);

    // Exactly one Job, bound to a GPU node through the toleration.
    expect(await nodeLabelsOfOnlyJob("train")).toMatchObject({ role: "gpu", "gpu-type": "a10g" });

    // The Receipt view and the ledger entry agree, and the proof bundle verifies end to end.
    const r = await checkReceipt(w, pool);
    // The signed receipt carries the exact cost, the same the status shows.
    expect(r.spec.payload).toMatchObject({
      costMicroUsd: wantMicros,
      gpuSeconds: w.status?.gpuSeconds,
    });
    expect(r.spec.payload).not.toHaveProperty("cost");

    // The Receipt is a view: deleted, it is recreated from the ledger with the same digest.
    await client.delete(Resources.Receipt, { name: r.metadata.name ?? "", namespace: ns });
    const again = await waitFor(
      "the Receipt view to be recreated",
      async () => {
        const x = await client.get<Receipt>(Resources.Receipt, r.metadata.name ?? "", ns);
        return x && x.metadata.uid !== r.metadata.uid ? x : undefined;
      },
      30000,
    );
    expect(again.spec.digest).toBe(r.spec.digest);
    expect((await led.ledger.latestTreeHead())?.treeSize).toBe(1);
  });

  it("waits with a reason listing each candidate when no treaty fits, and runs once one does", async () => {
    const cheap = `cheap-${ns}`;
    const w = gpuWorkload("thrifty", ns).completeAfter("1s").obj();
    w.spec.maxPricePerHour = 0.1;
    await client.create(Resources.GPUWorkload, w);
    const waiting = await waitFor("thrifty to wait", async () => {
      const x = await getWl("thrifty");
      return cond(x, "Routed")?.status === "False" ? x : undefined;
    });
    expect(cond(waiting, "Routed")?.reason).toBe("NoEligibleTreaty");
    expect(cond(waiting, "Routed")?.message).toMatch(/exceeds maxPricePerHour/);
    expect(waiting.status?.candidates?.every((c) => !c.eligible)).toBe(true);

    const unknown = gpuWorkload("needs-h100", ns).gpu("h100").obj();
    await client.create(Resources.GPUWorkload, unknown);
    const noType = await waitFor("needs-h100 to wait", async () => {
      const x = await getWl("needs-h100");
      return cond(x, "Routed")?.status === "False" ? x : undefined;
    });
    expect(cond(noType, "Ready")?.reason).toBe("GpuTypeNotOffered");
    expect(cond(noType, "Routed")?.message).toMatch(/gpu type h100 not priced/);

    await addTreaty(treaty(cheap).inCluster("a10g", 0.05).obj());
    const done = await waitFor("thrifty to complete", () => finished("thrifty"), 60000);
    expect(done.status?.placement?.treaty).toBe(cheap);
  });

  it("keeps workloads waiting on a full treaty and runs them as capacity frees", async () => {
    const small = `small-${ns}`;
    const t = treaty(small).inCluster("a10g", 0.3).maxConcurrentJobs(1).obj();
    await addTreaty(t);
    const names = ["q1", "q2", "q3"];
    for (const n of names) {
      await client.create(
        Resources.GPUWorkload,
        gpuWorkload(n, ns).treatyRef(small).completeAfter("2s").obj(),
      );
    }
    const blocked = await waitFor("a queued workload to report QuotaExhausted", async () => {
      for (const n of names) {
        const x = await getWl(n);
        if (cond(x, "Routed")?.reason === "QuotaExhausted") return x;
      }
      return undefined;
    });
    expect(cond(blocked, "Routed")?.message).toMatch(/maxConcurrentJobs 1\/1/);
    for (const n of names) await waitFor(`${n} to complete`, () => finished(n), 60000);
    // Never more than one at a time: the attempts' run windows do not overlap.
    const ws = await Promise.all(names.map(getWl));
    const spans = ws
      .map((w) => [
        Date.parse(w?.status?.startTime ?? ""),
        Date.parse(w?.status?.completionTime ?? ""),
      ])
      .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    for (let i = 1; i < spans.length; i++) {
      expect(spans[i]?.[0]).toBeGreaterThanOrEqual(spans[i - 1]?.[1] ?? 0);
    }
  });

  it("fails over to the next treaty when the chosen one is suspended before the job starts", async () => {
    const stuck = `stuck-${ns}`;
    const backup = `backup-${ns}`; // a second choice even when no earlier test left one
    const s = treaty(stuck).inCluster("a10g", 0.01).obj();
    // A pool no node belongs to: the Job stays unscheduled until failover.
    s.spec.inCluster = { ...s.spec.inCluster!, nodeSelector: { role: "gpu", pool: "nowhere" } };
    await addTreaty(s);
    await addTreaty(treaty(backup).inCluster("a10g", 2).obj());
    // Only a Ready treaty is routed to: both must be, or hopper may start on the backup.
    for (const t of [stuck, backup]) {
      await waitFor(`treaty ${t} to be Ready`, async () => {
        const x = await client.get<Treaty>(Resources.Treaty, t);
        const ready = x?.status?.conditions?.find((c) => c.type === "Ready");
        return ready?.status === "True" ? x : undefined;
      });
    }
    await client.create(
      Resources.GPUWorkload,
      gpuWorkload("hopper", ns).strategy("cheapest").completeAfter("1s").obj(),
    );
    await waitFor("hopper to be placed on the stuck treaty", async () => {
      const x = await getWl("hopper");
      return x?.status?.placement?.treaty === stuck ? x : undefined;
    });
    await client.patch(Resources.Treaty, { name: stuck }, { spec: { suspended: true } });
    const w = await waitFor("hopper to complete after failover", () => finished("hopper"), 60000);
    const attempts = w.status?.attempts ?? [];
    expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, "Abandoned"],
      [2, "Succeeded"],
    ]);
    expect(attempts[0]?.treaty).toBe(stuck);
    expect(attempts[1]?.treaty).not.toBe(stuck);
    expect(w.status?.candidates?.find((c) => c.treaty === stuck)?.eligible).toBe(false);
    expect(w.status?.attempts?.[0]?.reason).toMatch(/suspended before the job started/);
    const jobs = (await client.list<Job>(Resources.Job, { namespace: ns })).items.filter(
      (j) =>
        j.metadata.labels?.["vaultmesh.cloud/workload"] === "hopper" &&
        !j.metadata.deletionTimestamp,
    );
    expect(jobs.map((j) => j.metadata.labels?.["vaultmesh.cloud/attempt"])).toEqual(["2"]);
  });
});
