// Issue 5: the GPU pod guard against the real apiserver and Job controller. GPU pods exist only
// as pods of a Job a GPUWorkload owns, with no more GPUs than it was admitted with; CPU pods
// never reach the webhook (matchConditions). ADR 0101: with both guards registered, the Job
// controller's pods of a Job skip the pod guard (the Job guard checked the template) and the
// operator's Jobs skip the Job guard, while a tenant's GPU pod — a forged Job owner reference
// included — is still sent to the guard and refused. On this control plane the operator's stand-in
// (the test client) and kube-controller-manager (--use-service-account-credentials=false) both
// run as the kubeconfig's admin user: that is the configured creator and Job controller here.
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

const POD_GUARD = "pods.gpu-guard.vaultmesh.cloud";
const JOB_GUARD = "jobs.gpu-guard.vaultmesh.cloud";
const AS_ALICE = ["--as=alice", "--as-group=system:authenticated"];

let hook: TestWebhook;
let ns = "";
let workloadUid = "";
let admin = "";
const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
const batch = kubeConfig().makeApiClient(k8s.BatchV1Api);

function gpuJob(
  name: string,
  opts: { gpus: number; owned: boolean },
  uid = workloadUid,
): k8s.V1Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      labels: { [JOB_WORKLOAD_UID_LABEL]: uid },
      ...(opts.owned ? { ownerReferences: [workloadControllerRef(uid)] } : {}),
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

// Decisions of `policy` taken by `h`'s server so far.
async function decisions(h: TestWebhook, policy: string): Promise<number> {
  const text = (await h.server.app.inject({ url: "/metrics" })).body;
  const lines = text
    .split("\n")
    .filter((l) => l.startsWith(`vaultmesh_webhook_decisions_total{policy="${policy}"`));
  return lines.reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

const guardDecisions = async (): Promise<number> => await decisions(hook, "gpu-pod-guard");

async function jobEvents(namespace: string, job: string): Promise<string> {
  const list = await core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${job}`,
  });
  return list.items.map((e) => e.message ?? "").join("\n");
}

async function podsOf(namespace: string, job: string): Promise<k8s.V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` });
  return list.items;
}

// Lets alice create Pods and Jobs in `namespace` (RBAC is on in the test cluster).
async function grantPodsAndJobsToAlice(namespace: string): Promise<void> {
  const rbac = [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "pods-and-jobs", namespace },
      rules: [
        { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list"] },
        { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "get", "list"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "alice-pods-and-jobs", namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pods-and-jobs" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }],
    },
  ];
  const r = await kubectl(["apply", "-f", "-"], rbac.map((o) => YAML.stringify(o)).join("---\n"));
  expect(r.stderr).toBe("");
}

// Waits until `h`'s pod guard answers in `namespace` (its configuration has taken effect).
async function waitForPodGuard(h: TestWebhook, namespace: string): Promise<void> {
  await waitFor(`the GPU pod guard of ${h.id} to be called`, async () => {
    const r = await kubectl(
      ["create", "-f", "-", "--dry-run=server"],
      YAML.stringify(makePod("probe", namespace, { gpus: 1 })),
    );
    return r.stderr.includes(POD_GUARD);
  });
}

beforeAll(async () => {
  const whoami = await kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
  admin = whoami.stdout.trim();
  expect(admin).not.toBe("");
  expect(admin).not.toBe("alice");
  hook = await startTestWebhook({
    prefix: "pg",
    only: [POD_GUARD, JOB_GUARD],
    deps: { config: { gpuJobCreators: [admin] } },
    jobControllers: [admin],
  });
  ns = await createTenantNamespace(hook, hook.id);
  await grantPodsAndJobsToAlice(ns);
  // No GPUWorkload webhooks in this file's scope: the workload only has to exist as an owner.
  const w = await hook.client.create(
    Resources.GPUWorkload,
    makeWorkload("train", ns, { gpuType: "mi250x", count: 1 }),
  );
  workloadUid = w.metadata?.uid ?? "";
  await waitForPodGuard(hook, ns);
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

  it("admits the operator's Job and the Job controller's pod without calling either guard", async () => {
    const [pods0, jobs0] = [await guardDecisions(), await decisions(hook, "gpu-job-guard")];
    await batch.createNamespacedJob({
      namespace: ns,
      body: gpuJob("train-1", { gpus: 1, owned: true }),
    });
    const pods = await waitFor("the Job's pod", async () => {
      const list = await podsOf(ns, "train-1");
      return list.length > 0 ? list : undefined;
    });
    expect(pods[0]?.spec?.containers[0]?.resources?.limits?.["nvidia.com/gpu"]).toBe("1");
    expect(pods[0]?.metadata?.ownerReferences?.[0]?.kind).toBe("Job");
    expect([await guardDecisions(), await decisions(hook, "gpu-job-guard")]).toEqual([
      pods0,
      jobs0,
    ]);
  });

  it.each([
    ["a forged owner reference to the operator's Job", "forged-ref", "train-1"],
    ["an owner reference to a Job that does not exist", "no-job", "missing"],
  ])(
    "sends a tenant's GPU pod with %s to the guard, which refuses it",
    async (_name, pod, jobName) => {
      const before = await guardDecisions();
      const body = makePod(pod, ns, {
        gpus: 1,
        job: { name: jobName, uid: "00000000-0000-4000-8000-000000000000" },
      });
      const r = await kubectl([...AS_ALICE, "create", "-f", "-"], YAML.stringify(body));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `admission webhook "${POD_GUARD}" denied the request: metadata.ownerReferences: Forbidden: the pod requests 1 nvidia.com/gpu but its Job ${jobName} does not exist`,
      );
      expect(await guardDecisions()).toBe(before + 1);
    },
  );

  it.each([
    ["more GPUs than the workload was admitted with", "train-2", { gpus: 2, owned: true }],
    ["no GPUWorkload owner", "rogue", { gpus: 1, owned: false }],
  ])(
    "gives a tenant no GPU pods from a Job with %s: the Job guard refuses the Job",
    async (_name, job, opts) => {
      const r = await kubectl(
        [...AS_ALICE, "create", "-f", "-", "-n", ns],
        YAML.stringify(gpuJob(job, opts)),
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`admission webhook "${JOB_GUARD}" denied the request`);
      expect(await podsOf(ns, job)).toEqual([]);
    },
  );
});

// Where the Job controller's identity is not configured (an empty list), its pods reach the
// guard, which checks the owner chain itself — the decision the exemption relies on the Job
// guard for.
describe("GPU pod guard without the Job controller exemption", () => {
  let bare: TestWebhook;
  let bareNs = "";
  let bareUid = "";

  beforeAll(async () => {
    bare = await startTestWebhook({ prefix: "pgx", only: [POD_GUARD], jobControllers: [] });
    bareNs = await createTenantNamespace(bare, bare.id);
    const w = await bare.client.create(
      Resources.GPUWorkload,
      makeWorkload("train", bareNs, { gpuType: "mi250x", count: 1 }),
    );
    bareUid = w.metadata?.uid ?? "";
    await waitForPodGuard(bare, bareNs);
  }, 120_000);

  afterAll(async () => {
    await bare?.stop();
    if (bareNs) await deleteNamespace(bareNs);
  });

  it("admits the pod of a Job the GPUWorkload owns, through the guard", async () => {
    const before = await decisions(bare, "gpu-pod-guard");
    await batch.createNamespacedJob({
      namespace: bareNs,
      body: gpuJob("train-1", { gpus: 1, owned: true }, bareUid),
    });
    const pods = await waitFor("the Job's pod", async () => {
      const list = await podsOf(bareNs, "train-1");
      return list.length > 0 ? list : undefined;
    });
    expect(pods[0]?.spec?.containers[0]?.resources?.limits?.["nvidia.com/gpu"]).toBe("1");
    expect(await decisions(bare, "gpu-pod-guard")).toBeGreaterThan(before);
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
    await batch.createNamespacedJob({ namespace: bareNs, body: gpuJob(job, opts, bareUid) });
    const events = await waitFor(`a FailedCreate event on ${job}`, async () => {
      const text = await jobEvents(bareNs, job);
      return text.includes(want) ? text : undefined;
    });
    expect(events).toContain(`admission webhook "${POD_GUARD}" denied the request`);
    expect(await podsOf(bareNs, job)).toEqual([]);
  });
});
