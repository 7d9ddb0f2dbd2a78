// Issue 2, "Done means": the tainted GPU pool admits only pods that tolerate its taint.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import * as k8s from "@kubernetes/client-node";
import { createTestNamespace, kubeConfig, waitFor } from "../harness/kube.ts";
import { GPU_TOLERATION } from "../harness/gpu-fixtures.ts";

const kc = kubeConfig();
const batch = kc.makeApiClient(k8s.BatchV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
let ns = "";

function gpuJob(
  name: string,
  opts: { tolerate: boolean; selectGpu: boolean; gpus?: number },
): k8s.V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations: { "pod-complete.stage.kwok.x-k8s.io/delay": "500ms" } },
        spec: {
          restartPolicy: "Never",
          ...(opts.selectGpu ? { nodeSelector: { role: "gpu", "gpu-type": "a10g" } } : {}),
          ...(opts.tolerate
            ? {
                tolerations: [GPU_TOLERATION],
              }
            : {}),
          containers: [
            {
              name: "train",
              image: "registry.example/train:1",
              resources: opts.gpus
                ? { limits: { "nvidia.com/gpu": String(opts.gpus) } }
                : { requests: { cpu: "100m" } },
            },
          ],
        },
      },
    },
  };
}

async function podsOf(job: string): Promise<k8s.V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${job}` });
  return list.items;
}

beforeAll(async () => {
  ns = await createTestNamespace("gpu-pool");
});

afterAll(async () => {
  await core.deleteNamespace({ name: ns });
});

describe("the tainted GPU pool", () => {
  it("binds a tolerating GPU Job to a GPU node and runs it to completion", async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: gpuJob("tolerating", { tolerate: true, selectGpu: true, gpus: 1 }),
    });
    const job = await waitFor(
      "Job tolerating to complete",
      async () => {
        const j = await batch.readNamespacedJob({ name: "tolerating", namespace: ns });
        return j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True")
          ? j
          : undefined;
      },
      60000,
    );
    expect(job.status?.succeeded).toBe(1);
    const [pod] = await podsOf("tolerating");
    const nodeName = pod?.spec?.nodeName ?? "";
    const node = await core.readNode({ name: nodeName });
    expect(node.metadata?.labels).toMatchObject({ role: "gpu", "gpu-type": "a10g" });
    expect(node.spec?.taints).toContainEqual(
      expect.objectContaining({ key: "nvidia.com/gpu", effect: "NoSchedule" }),
    );
    expect(pod?.status?.phase).toBe("Succeeded");
  });

  it("leaves the same Job without the toleration unschedulable because of the taint", async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: gpuJob("untolerating", { tolerate: false, selectGpu: true, gpus: 1 }),
    });
    const cond = await waitFor(
      "the scheduler to report the untolerating pod unschedulable",
      async () => {
        const [pod] = await podsOf("untolerating");
        const c = pod?.status?.conditions?.find((x) => x.type === "PodScheduled");
        return c?.status === "False" && c.reason === "Unschedulable" ? { c, pod } : undefined;
      },
      60000,
    );
    // The 4 GPU nodes refuse it for their taint; the 3 CPU nodes for the selector.
    expect(cond.c.message).toMatch(/4 node\(s\) had untolerated taint/);
    expect(cond.c.message).toMatch(/3 node\(s\) didn't match Pod's node affinity\/selector/);
    expect(cond.pod?.spec?.nodeName).toBeUndefined();
  });

  it("never places pods without the toleration on GPU nodes", async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        ...gpuJob("cpu-only", { tolerate: false, selectGpu: false }),
        spec: {
          ...gpuJob("cpu-only", { tolerate: false, selectGpu: false }).spec!,
          parallelism: 6,
          completions: 6,
        },
      },
    });
    const pods = await waitFor(
      "all six cpu-only pods to be bound",
      async () => {
        const ps = await podsOf("cpu-only");
        return ps.length >= 6 && ps.every((p) => p.spec?.nodeName) ? ps : undefined;
      },
      60000,
    );
    const nodes = new Set(pods.map((p) => p.spec?.nodeName));
    for (const n of nodes) {
      const node = await core.readNode({ name: n ?? "" });
      expect(node.metadata?.labels?.role).toBe("cpu");
    }
  });
});
