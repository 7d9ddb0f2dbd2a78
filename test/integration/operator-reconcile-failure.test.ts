// Issue 12: a reconcile that fails writes a condition naming the failure. The namespace's
// ResourceQuota allows no Jobs, so the API server refuses the placement's Job (403, exceeded
// quota): the workload must say so in `Reconciled` — reason and the API server's message —
// with observedGeneration untouched; once the quota is gone the workload runs and the
// condition is removed.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { GPUWorkload } from "../../crds/index.ts";
import {
  RECONCILED,
  ReconcileFailure,
} from "../../operator/controllers/gpuworkload/gpuworkload-reasons.ts";
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

let ns = "";
let client: KubeClient;
let led: TestLedger;
let op: Awaited<ReturnType<typeof startInProcessOperator>>;
const label = `vaultmesh.cloud/test-run=rf-${Math.random().toString(36).slice(2, 8)}`;
const pool = `pool-rf-${Math.random().toString(36).slice(2, 8)}`;

type ResourceQuota = KubeObject & { status?: { hard?: Record<string, string> } };

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("op-rf");
  led = await startTestLedger("op_rf");
  op = await startInProcessOperator({ namespace: ns, treatySelector: label, ledger: led.ledger });
});

afterAll(async () => {
  await op?.stop();
  await client.delete(Resources.Treaty, { name: pool });
  await client.delete(Resources.Namespace, { name: ns });
  await led?.stop();
  client.close();
});

describe("a GPUWorkload reconcile that fails", () => {
  it("writes Reconciled False naming the failure, and clears it once the reconcile succeeds", async () => {
    await client.create<ResourceQuota>(Resources.ResourceQuota, {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "no-jobs", namespace: ns },
      spec: { hard: { "count/jobs.batch": "0" } },
    });
    // The quota controller has counted the namespace: admission enforces the quota from now.
    await waitFor("the quota to be counted", async () => {
      const q = await client.get<ResourceQuota>(Resources.ResourceQuota, "no-jobs", ns);
      return q?.status?.hard?.["count/jobs.batch"] === "0";
    });
    await createTreaty(client, treaty(pool).inCluster("a10g", 0.6).obj(), label);
    await client.create(
      Resources.GPUWorkload,
      gpuWorkload("blocked", ns).completeAfter("1s").obj(),
    );

    const failed = await waitFor(
      "the workload to report the failed reconcile",
      async () => {
        const w = await client.get<GPUWorkload>(Resources.GPUWorkload, "blocked", ns);
        return cond(w, RECONCILED)?.status === "False" ? w : undefined;
      },
      60000,
    );
    const c = cond(failed, RECONCILED);
    expect(c?.reason).toBe(ReconcileFailure.ApiError);
    // The API server's own words: which object, and why it was refused.
    expect(c?.message).toMatch(/jobs\.batch .* is forbidden: exceeded quota: no-jobs/);
    // The pass did not finish: nothing claims the workload's generation was observed, and no
    // attempt is recorded for a Job that does not exist.
    expect(failed.status?.observedGeneration).toBeUndefined();
    expect(failed.status?.attempts ?? []).toEqual([]);

    await client.delete(Resources.ResourceQuota, { name: "no-jobs", namespace: ns });
    const done = await waitFor(
      "the workload to complete once Jobs are allowed",
      async () => {
        const w = await client.get<GPUWorkload>(Resources.GPUWorkload, "blocked", ns);
        return cond(w, "Complete")?.status === "True" && w?.status?.receiptRef ? w : undefined;
      },
      120000,
    );
    expect(cond(done, RECONCILED)).toBeUndefined();
    expect(done.status?.observedGeneration).toBe(done.metadata.generation);
    expect(done.status?.attempts?.map((a) => [a.attempt, a.outcome])).toEqual([[1, "Succeeded"]]);
  });
});
