// Issue 5: the GPU pod guard against the real apiserver and Job controller. GPU pods exist only
// as pods of a Job a GPUWorkload owns, with no more GPUs than it was admitted with; CPU pods
// never reach the webhook (matchConditions).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import * as k8s from "@kubernetes/client-node";
import YAML from "yaml";
import { Resources } from "../../services/kube/index.ts";
import { JOB_WORKLOAD_UID_LABEL } from "../../webhooks/kube-lookups.ts";
import { makePod, makeWorkload } from "../builders/webhook-objects.ts";
import { kubeConfig, kubectl, waitFor } from "../harness/kube.ts";
import {
  createTenantNamespace,
  deleteNamespace,
  startTestWebhook,
  type TestWebhook,
} from "../harness/webhook.ts";
import { GPU_TOLERATION, workloadControllerRef } from "../harness/gpu-fixtures.ts";

let hook: TestWebhook;
let ns = "";
let workloadUid = "";
const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
const batch = kubeConfig().makeApiClient(k8s.BatchV1Api);

function gpuJob(name: string, opts: { gpus: number; owned: boolean }): k8s.V1Job {
  return {
    metadata: {
      name,
      labels: { [JOB_WORKLOAD_UID_LABEL]: workloadUid },
      ...(opts.owned
        ? {
            ownerReferences: [workloadControllerRef(workloadUid)],
          }
        : {}),
    },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: "Never",
          nodeSelector: { role: "gpu" },
          tolerations: [GPU_TOLERATION],
          containers: [
            {
              name: "train",
              image: "registry.example/train:1",
              resources: { limits: { "nvidia.com/gpu": String(opts.gpus) } },
            },
          ],
        },
      },
    },
  };
}

async function guardDecisions(): Promise<number> {
  const text = (await hook.server.app.inject({ url: "/metrics" })).body;
  const lines = text
    .split("\n")
    .filter((l) => l.startsWith('vaultmesh_webhook_decisions_total{policy="gpu-pod-guard"'));
  return lines.reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

async function jobEvents(job: string): Promise<string> {
  const list = await core.listNamespacedEvent({
    namespace: ns,
    fieldSelector: `involvedObject.name=${job}`,
  });
  return list.items.map((e) => e.message ?? "").join("\n");
}

beforeAll(async () => {
  hook = await startTestWebhook({ prefix: "pg", only: ["pods.gpu-guard.vaultmesh.cloud"] });
  ns = await createTenantNamespace(hook, hook.id);
  // No GPUWorkload webhooks in this file's scope: the workload only has to exist as an owner.
  const w = await hook.client.create(
    Resources.GPUWorkload,
    makeWorkload("train", ns, { gpuType: "mi250x", count: 1 }),
  );
  workloadUid = w.metadata?.uid ?? "";
  await waitFor("the GPU pod guard to be called", async () => {
    const r = await kubectl(
      ["create", "-f", "-", "--dry-run=server"],
      YAML.stringify(makePod("probe", ns, { gpus: 1 })),
    );
    return r.stderr.includes("pods.gpu-guard.vaultmesh.cloud");
  });
}, 120_000);

afterAll(async () => {
  await hook?.stop();
  if (ns) await deleteNamespace(ns);
});

describe("GPU pod guard", () => {
  it("refuses a GPU pod created directly, telling the user to use a GPUWorkload", async () => {
    const r = await kubectl(
      ["create", "-f", "-"],
      YAML.stringify(makePod("direct", ns, { gpus: 1 })),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'admission webhook "pods.gpu-guard.vaultmesh.cloud" denied the request: metadata.ownerReferences: Forbidden: the pod requests 1 nvidia.com/gpu but is not controlled by a Job; GPUs are used through a GPUWorkload',
    );
  });

  it("refuses a pod that only tolerates the GPU taint", async () => {
    const r = await kubectl(
      ["create", "-f", "-"],
      YAML.stringify(makePod("tolerating", ns, { tolerateGpu: true })),
    );
    expect(r.stderr).toContain("tolerates the GPU node taint but is not controlled by a Job");
  });

  it("never sees a CPU pod", async () => {
    const before = await guardDecisions();
    const r = await kubectl(["create", "-f", "-"], YAML.stringify(makePod("cpu", ns)));
    expect(r.code).toBe(0);
    expect(await guardDecisions()).toBe(before);
  });

  it("admits the pod of a Job the GPUWorkload owns", async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: gpuJob("train-1", { gpus: 1, owned: true }),
    });
    const pods = await waitFor("the Job's pod", async () => {
      const list = await core.listNamespacedPod({
        namespace: ns,
        labelSelector: "job-name=train-1",
      });
      return list.items.length > 0 ? list.items : undefined;
    });
    expect(pods[0]?.spec?.containers[0]?.resources?.limits?.["nvidia.com/gpu"]).toBe("1");
  });

  it.each([
    [
      "more GPUs than the workload was admitted with",
      "train-2",
      { gpus: 2, owned: true },
      "GPUWorkload train was admitted with 1",
    ],
    [
      "a Job no GPUWorkload owns",
      "rogue",
      { gpus: 1, owned: false },
      "its Job rogue is not owned by a GPUWorkload",
    ],
  ])("refuses the pods of %s (the Job controller reports why)", async (_name, job, opts, want) => {
    await batch.createNamespacedJob({ namespace: ns, body: gpuJob(job, opts) });
    const events = await waitFor(`a FailedCreate event on ${job}`, async () => {
      const text = await jobEvents(job);
      return text.includes(want) ? text : undefined;
    });
    expect(events).toContain(
      'admission webhook "pods.gpu-guard.vaultmesh.cloud" denied the request',
    );
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${job}` });
    expect(pods.items).toEqual([]);
  });
});
