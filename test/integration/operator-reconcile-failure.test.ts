// Issue 12: a reconcile that fails writes a condition naming the failure. The namespace's
// ResourceQuota allows no Jobs, so the API server refuses the placement's Job (403, exceeded
// quota): the workload must say so in `Reconciled` — reason and the API server's message —
// with observedGeneration and the other conditions untouched (those of the last generation a
// pass finished); once the quota is gone the workload runs and the condition is removed.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { GPUWorkload, Treaty } from "../../crds/index.ts";
import {
  RECONCILED,
  ReconcileFailure,
} from "../../operator/controllers/gpuworkload/gpuworkload-reasons.ts";
import { Resources, type KubeClient, type KubeObject } from "../../services/kube/index.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { waitFor } from "../harness/kube.ts";
import { startOperatorTestEnv, type OperatorTestEnv } from "../harness/operator-test-env.ts";
import { cond, startInProcessOperator } from "./operator-env.ts";

let env: OperatorTestEnv;
let ns = "";
let client: KubeClient;
const pool = `pool-rf-${Math.random().toString(36).slice(2, 8)}`;

type ResourceQuota = KubeObject & { status?: { hard?: Record<string, string> } };
const getWl = (): Promise<GPUWorkload | undefined> =>
  client.get<GPUWorkload>(Resources.GPUWorkload, "blocked", ns);

beforeAll(async () => {
  env = await startOperatorTestEnv("op-rf");
  ({ client, ns } = env);
  env.track(await startInProcessOperator(env.operatorScope()));
});

afterAll(() => env?.stop());

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
    await env.treaty(treaty(pool).inCluster("a10g", 0.6).obj());
    await waitFor(`treaty ${pool} to be Ready`, async () => {
      const t = await client.get<Treaty>(Resources.Treaty, pool);
      return t?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    });

    // Generation 1 asks for a price no treaty offers: a pass that succeeds, and waits.
    const w = gpuWorkload("blocked", ns).completeAfter("1s").obj();
    w.spec.maxPricePerHour = 0.1;
    await client.create(Resources.GPUWorkload, w);
    const waiting = await waitFor("generation 1 to wait for a cheaper treaty", async () => {
      const x = await getWl();
      const reasons = x?.status?.candidates?.find((c) => c.treaty === pool)?.reasons ?? [];
      // Only the price: the operator sees the treaty Ready, so generation 2 will be placed.
      return cond(x, "Routed")?.status === "False" &&
        reasons.length === 1 &&
        reasons[0]?.startsWith("price")
        ? x
        : undefined;
    });
    expect(waiting.status?.observedGeneration).toBe(1);

    // Generation 2 fits the treaty; its Job is refused by the API server (exceeded quota).
    await client.patch(
      Resources.GPUWorkload,
      { name: "blocked", namespace: ns },
      {
        spec: { maxPricePerHour: 1 },
      },
    );
    const failed = await waitFor(
      "the workload to report the failed reconcile",
      async () => {
        const x = await getWl();
        return cond(x, RECONCILED)?.status === "False" ? x : undefined;
      },
      60000,
    );
    expect(failed.metadata.generation).toBe(2);
    const c = cond(failed, RECONCILED);
    expect(c?.reason).toBe(ReconcileFailure.ApiError);
    // The API server's own words: which object, and why it was refused.
    expect(c?.message).toMatch(/jobs\.batch .* is forbidden: exceeded quota: no-jobs/);
    // The pass did not finish: generation 2 is not claimed as observed, the other conditions
    // are those of generation 1, and no attempt is recorded for a Job that does not exist.
    expect(failed.status?.observedGeneration).toBe(1);
    expect(cond(failed, "Routed")).toEqual(cond(waiting, "Routed"));
    expect(failed.status?.attempts ?? []).toEqual([]);

    await client.delete(Resources.ResourceQuota, { name: "no-jobs", namespace: ns });
    const done = await waitFor(
      "the workload to complete once Jobs are allowed",
      async () => {
        const x = await getWl();
        return cond(x, "Complete")?.status === "True" && x?.status?.receiptRef ? x : undefined;
      },
      120000,
    );
    expect(cond(done, RECONCILED)).toBeUndefined();
    expect(done.status?.observedGeneration).toBe(2);
    expect(done.status?.attempts?.map((a) => [a.attempt, a.outcome])).toEqual([[1, "Succeeded"]]);
  });
});
