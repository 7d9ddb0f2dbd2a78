// Issue 4, "Done means": kill -9 the operator repeatedly during a run; afterwards every
// workload has exactly one Job and at most one completion receipt (Receipt resource and
// ledger entry), and the usage totals derived from workloads, Receipts, the ledger and the
// Treaty status agree. VAULTMESH_CRASH_WORKLOADS sets the run size (default 200).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { GPUWorkload, Treaty } from "../../crds/index.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { waitFor } from "../harness/kube.ts";
import { startOperatorTestEnv, type OperatorTestEnv } from "../harness/operator-test-env.ts";
import {
  cond,
  snapshot,
  spawnOperator,
  type OperatorProcess,
  type TestLedger,
} from "./operator-env.ts";

const N = Number(process.env.VAULTMESH_CRASH_WORKLOADS ?? "200");
let env: OperatorTestEnv;
let ns = "";
let client: KubeClient;
let led: TestLedger;
let current: OperatorProcess | undefined;
const treatyName = `crash-pool-${Math.random().toString(36).slice(2, 8)}`;

const isDone = (w: GPUWorkload): boolean =>
  cond(w, "Complete")?.status === "True" && w.status?.receiptRef !== undefined;

beforeAll(async () => {
  env = await startOperatorTestEnv("op-crash");
  ({ client, ns } = env);
  led = env.led!;
  await env.treaty(treaty(treatyName).inCluster("a10g", 0.75).obj());
  // The operator running when the test ends (the test replaces it after every kill).
  env.track({
    async stop() {
      current?.kill("SIGKILL");
      await current?.exited;
    },
  });
});

afterAll(() => env?.stop());

describe("crash safety", () => {
  it(`keeps one Job and at most one receipt per workload across kill -9 (${N} workloads)`, async () => {
    const opEnv = { ...env.operatorEnv(), VAULTMESH_WORKERS: "8" };
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        client.create(
          Resources.GPUWorkload,
          gpuWorkload(`c-${i}`, ns).completeAfter("500ms").obj(),
        ),
      ),
    );
    // Kill the operator at staggered moments while the run progresses, until it finishes.
    let kills = 0;
    for (let round = 0; ; round++) {
      current = spawnOperator(opEnv);
      const before = (await snapshot(client, ns)).workloads.filter(isDone).length;
      if (before === N) break;
      // Let it make some progress (a few more completions), then kill it mid-flight.
      const target = Math.min(N, before + 5 + (round % 3) * 7);
      const progressed = await waitFor(
        `progress past ${target} completions`,
        async () => {
          const done = (await snapshot(client, ns)).workloads.filter(isDone).length;
          return done >= target ? done : undefined;
        },
        45000,
      ).catch(() => undefined);
      if (progressed === N || round >= 12) {
        break;
      }
      current.kill("SIGKILL");
      await current.exited;
      kills++;
    }
    const s = await waitFor(
      "every workload to complete",
      async () => {
        const x = await snapshot(client, ns);
        return x.workloads.filter(isDone).length === N ? x : undefined;
      },
      90000,
    );
    expect(kills).toBeGreaterThan(0);
    process.stderr.write(`[crash] ${N} workloads completed across ${kills} kill -9s\n`);

    let sumWorkloads = 0;
    for (const w of s.workloads) {
      const uid = w.metadata.uid;
      const jobs = s.jobs.filter(
        (j) => j.metadata.labels?.["vaultmesh.cloud/workload-uid"] === uid,
      );
      const rs = s.receipts.filter(
        (r) => r.metadata.labels?.["vaultmesh.cloud/workload-uid"] === uid,
      );
      expect([w.metadata.name, jobs.length, rs.length]).toEqual([w.metadata.name, 1, 1]);
      sumWorkloads += w.status?.costMicroUsd ?? 0;
    }
    // The ledger holds exactly one completion entry per workload.
    const rows = await led.pool.query<{ subject: string; n: string }>(
      "SELECT subject, count(*) AS n FROM ledger_entries WHERE type IN ('WorkloadCompleted','WorkloadFailed') GROUP BY subject",
    );
    expect(rows.rows).toHaveLength(N);
    expect(rows.rows.every((r) => Number(r.n) === 1)).toBe(true);

    // Usage totals agree: workload status, Receipt payloads and the Treaty's derived usage.
    const sumReceipts = s.receipts.reduce((a, r) => a + Number(r.spec.payload.costMicroUsd), 0);
    const gpuSeconds = s.receipts.reduce((a, r) => a + Number(r.spec.payload.gpuSeconds), 0);
    // Integer micro-dollars: the sums agree exactly (ADR 0096).
    expect(sumWorkloads).toBe(sumReceipts);
    // Treaty status is recomputed by its own controller, after the workloads finish: wait for
    // it to settle, then both derived figures must agree with the receipts.
    const t = await waitFor("the Treaty's usage to catch up", async () => {
      const x = await client.get<Treaty>(Resources.Treaty, treatyName);
      const h = x?.status?.gpuHoursThisPeriod ?? -1;
      return Math.abs(h - gpuSeconds / 3600) < 1e-5 && x?.status?.activeJobs === 0 ? x : undefined;
    });
    expect(t.status?.gpuHoursThisPeriod).toBeCloseTo(gpuSeconds / 3600, 5);
    expect(t.status?.activeJobs).toBe(0);
  });
});
