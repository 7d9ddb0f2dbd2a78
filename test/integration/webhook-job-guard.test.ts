// ADR 0049: the GPU Job guard against the real apiserver. In a tenant namespace only the
// operator's identity creates GPU Jobs (or changes their spec or controller); a tenant forging a
// Job owned by an admitted GPUWorkload is refused with the reason; CPU Jobs, metadata-only
// updates, non-tenant namespaces and the operator's own requests (ADR 0101: the guard allows
// them all, so a matchCondition skips them) never reach the webhook. The allowed identity of this
// file's server is the test client's own (the harness kubeconfig's admin user); the tenant is
// that admin impersonating alice.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import * as k8s from "@kubernetes/client-node";
import YAML from "yaml";
import { Resources } from "../../services/kube/index.ts";
import { makeWorkload } from "../builders/webhook-objects.ts";
import { kubeConfig, kubectl, waitFor, type KubectlResult } from "../harness/kube.ts";
import {
  createTenantNamespace,
  deleteNamespace,
  startTestWebhook,
  type TestWebhook,
} from "../harness/webhook.ts";
import { GPU_TOLERATION, workloadControllerRef } from "../harness/gpu-fixtures.ts";

const GUARD = "jobs.gpu-guard.vaultmesh.cloud";
const AS_ALICE = ["--as=alice", "--as-group=system:authenticated"];

let hook: TestWebhook;
let admin = "";
let ns = "";
let plain = "";
let workloadUid = "";

interface JobOpts {
  gpus?: number;
  tolerateGpu?: boolean;
  owned?: boolean;
}

// A suspended Job (its pods never matter here), optionally GPU and owned by GPUWorkload train.
function job(name: string, namespace: string, o: JobOpts = {}): object {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace,
      ...(o.owned
        ? {
            ownerReferences: [workloadControllerRef(workloadUid)],
          }
        : {}),
    },
    spec: {
      suspend: true,
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: "Never",
          ...(o.tolerateGpu
            ? {
                tolerations: [GPU_TOLERATION],
              }
            : {}),
          containers: [
            {
              name: "train",
              image: "registry.example/train:1",
              ...(o.gpus ? { resources: { limits: { "nvidia.com/gpu": String(o.gpus) } } } : {}),
            },
          ],
        },
      },
    },
  };
}

const create = async (obj: object, as: readonly string[] = []): Promise<KubectlResult> =>
  await kubectl([...as, "create", "-f", "-"], YAML.stringify(obj));

const patch = async (
  name: string,
  body: object,
  as: readonly string[] = AS_ALICE,
): Promise<KubectlResult> =>
  await kubectl([
    ...as,
    "patch",
    "job",
    name,
    "-n",
    ns,
    "--type=merge",
    "-p",
    JSON.stringify(body),
  ]);

async function exists(name: string, namespace: string): Promise<boolean> {
  const r = await kubectl(["get", "job", name, "-n", namespace, "-o", "name"]);
  return r.code === 0;
}

// The guard's decisions so far; `decision` narrows to allowed or denied.
async function guardDecisions(decision?: "allowed" | "denied"): Promise<number> {
  const text = (await hook.server.app.inject({ url: "/metrics" })).body;
  return text
    .split("\n")
    .filter((l) => l.startsWith('vaultmesh_webhook_decisions_total{policy="gpu-job-guard"'))
    .filter((l) => decision === undefined || l.includes(`decision="${decision}"`))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

// Lets alice create and change Jobs in `namespace` (RBAC is on in the test cluster).
async function grantJobsToAlice(namespace: string): Promise<void> {
  const rbac = [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "jobs", namespace },
      rules: [
        {
          apiGroups: ["batch"],
          resources: ["jobs"],
          verbs: ["create", "get", "list", "update", "patch"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "alice-jobs", namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "jobs" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }],
    },
  ];
  const r = await kubectl(["apply", "-f", "-"], rbac.map((o) => YAML.stringify(o)).join("---\n"));
  expect(r.stderr).toBe("");
}

beforeAll(async () => {
  const whoami = await kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
  admin = whoami.stdout.trim();
  expect(admin).not.toBe("");
  expect(admin).not.toBe("alice");
  hook = await startTestWebhook({
    prefix: "jg",
    only: [GUARD],
    deps: { config: { gpuJobCreators: [admin] } },
  });
  ns = await createTenantNamespace(hook, hook.id);
  // In this file's scope but not a tenant's: the guard's namespaceSelector must skip it.
  plain = `${hook.id}-plain`;
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({
    body: { metadata: { name: plain, labels: { "vaultmesh.cloud/test": "true", ...hook.labels } } },
  });
  await grantJobsToAlice(ns);
  await grantJobsToAlice(plain);
  // No GPUWorkload webhooks in this file's scope: the workload only has to exist as an owner.
  const w = await hook.client.create(
    Resources.GPUWorkload,
    makeWorkload("train", ns, { gpuType: "mi250x", count: 1 }),
  );
  workloadUid = w.metadata?.uid ?? "";
  await waitFor("the GPU Job guard to be called for alice", async () => {
    const r = await kubectl(
      [...AS_ALICE, "create", "-f", "-", "--dry-run=server"],
      YAML.stringify(job("probe", ns, { gpus: 1 })),
    );
    return r.stderr.includes(`admission webhook "${GUARD}" denied the request`);
  });
}, 120_000);

afterAll(async () => {
  await hook?.stop();
  if (ns) await deleteNamespace(ns);
  if (plain) await deleteNamespace(plain);
});

describe("GPU Job guard", () => {
  it("refuses a forged GPU Job created by a tenant, with the reason intact", async () => {
    const r = await create(job("forged", ns, { tolerateGpu: true, owned: true }), AS_ALICE);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `admission webhook "${GUARD}" denied the request: spec.template.spec.tolerations[0]: Forbidden: the Job's pods would tolerate the GPU node taint nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload (alice may not create GPU Jobs): create a GPUWorkload instead`,
    );
    expect(await exists("forged", ns)).toBe(false);
  });

  it("refuses a tenant's Job requesting GPUs, naming the container's resource", async () => {
    const r = await create(job("greedy", ns, { gpus: 2, owned: true }), AS_ALICE);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "spec.template.spec.containers[0].resources.limits[nvidia.com/gpu]: Forbidden: the Job's pods would request 2 nvidia.com/gpu",
    );
  });

  it("admits the same Job from the operator's identity without calling the webhook", async () => {
    const before = await guardDecisions();
    const r = await create(job("forged", ns, { tolerateGpu: true, owned: true }));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await exists("forged", ns)).toBe(true);
    expect(await guardDecisions()).toBe(before);
  });

  it("admits a tenant's CPU-only Job without calling the webhook", async () => {
    const before = await guardDecisions();
    const r = await create(job("cpu", ns, { owned: true }), AS_ALICE);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await guardDecisions()).toBe(before);
  });

  it("leaves Jobs outside tenant namespaces alone", async () => {
    const before = await guardDecisions();
    const r = await create(job("forged", plain, { tolerateGpu: true, gpus: 1 }), AS_ALICE);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await guardDecisions()).toBe(before);
  });
});

describe("updates of GPU Jobs by a tenant", () => {
  it("refuses a change of the spec (more pods on the same workload)", async () => {
    const r = await patch("forged", { spec: { parallelism: 8 } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `admission webhook "${GUARD}" denied the request: spec.parallelism: Forbidden: alice may not change the spec of a Job whose pods tolerate the GPU node taint nvidia.com/gpu`,
    );
  });

  it("refuses making a GPUWorkload the controller of a GPU Job", async () => {
    expect((await create(job("unowned", ns, { gpus: 1 }))).code).toBe(0);
    const r = await patch("unowned", {
      metadata: {
        ownerReferences: [workloadControllerRef(workloadUid)],
      },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "metadata.ownerReferences: Forbidden: alice may not make GPUWorkload train the controller of a Job whose pods request 1 nvidia.com/gpu",
    );
  });

  it("refuses turning a suspended CPU Job into a GPU one", async () => {
    const r = await patch("cpu", {
      spec: {
        template: {
          spec: { tolerations: [{ key: "nvidia.com/gpu", operator: "Exists" }] },
        },
      },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "spec.template.spec.tolerations[0]: Forbidden: the Job's pods would tolerate the GPU node taint nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload (alice may not turn a Job into a GPU Job)",
    );
  });

  it("lets the operator change the spec without calling the webhook", async () => {
    const before = await guardDecisions();
    const r = await patch("forged", { spec: { activeDeadlineSeconds: 600 } }, []);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await guardDecisions()).toBe(before);
  });

  it("admits a label change without calling the webhook", async () => {
    const before = await guardDecisions();
    const r = await kubectl([...AS_ALICE, "label", "job", "forged", "-n", ns, "team=ml"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await guardDecisions()).toBe(before);
  });
});

describe("with the webhook server stopped", () => {
  beforeAll(async () => {
    await hook.stopServer();
  });

  it("refuses a tenant's new GPU Jobs (fail closed)", async () => {
    const r = await create(job("during-outage", ns, { gpus: 1, owned: true }), AS_ALICE);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`failed calling webhook "${GUARD}"`);
  });

  it("admits the operator's GPU Jobs, which never call it (ADR 0101)", async () => {
    const r = await create(job("operator-during-outage", ns, { gpus: 1, owned: true }));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("admits CPU Jobs and metadata-only updates of GPU Jobs", async () => {
    expect((await create(job("cpu-during-outage", ns), AS_ALICE)).code).toBe(0);
    const r = await kubectl(["label", "job", "forged", "-n", ns, "during-outage=yes"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
