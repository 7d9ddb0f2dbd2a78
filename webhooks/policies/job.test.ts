import { describe, expect, it } from "@jest/globals";
import { controllerOf } from "../../test/builders/webhook-objects.ts";
import {
  gpuTemplateField,
  guardGpuJob,
  type GpuJobGuardInput,
  type JobLikeWithTemplate,
} from "./job.ts";

const OPERATOR = "system:serviceaccount:vaultmesh-system:vaultmesh-operator";
const train = controllerOf("GPUWorkload", "vaultmesh.cloud/v1alpha1", "train", "w-1");
const other = controllerOf("GPUWorkload", "vaultmesh.cloud/v1alpha1", "other", "w-2");

interface JobOpts {
  gpus?: number;
  initGpus?: number;
  requestsOnly?: boolean;
  tolerations?: { key?: string; operator?: string }[];
  owner?: ReturnType<typeof controllerOf>;
  labels?: Record<string, string>;
  parallelism?: number;
}

// A Job with one container (plus an init container when asked), as the guard reads it.
function job(o: JobOpts = {}): JobLikeWithTemplate {
  const gpuResources = (n: number): object =>
    o.requestsOnly
      ? { requests: { "nvidia.com/gpu": String(n) } }
      : { limits: { "nvidia.com/gpu": String(n) } };
  return {
    metadata: {
      name: "j",
      namespace: "tenant-acme",
      ...(o.owner ? { ownerReferences: [o.owner] } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
    },
    spec: {
      parallelism: o.parallelism ?? 1,
      template: {
        spec: {
          containers: [
            { name: "sidecar", resources: { limits: { cpu: "1" } } },
            { name: "main", ...(o.gpus ? { resources: gpuResources(o.gpus) } : {}) },
          ],
          ...(o.initGpus
            ? { initContainers: [{ name: "init", resources: gpuResources(o.initGpus) }] }
            : {}),
          ...(o.tolerations ? { tolerations: o.tolerations } : {}),
        },
      },
    },
  };
}

const gpuTol = { key: "nvidia.com/gpu", operator: "Exists" };

describe("gpuTemplateField", () => {
  it.each<[string, JobLikeWithTemplate, string | undefined]>([
    ["a CPU Job", job(), undefined],
    ["a toleration of another taint", job({ tolerations: [{ key: "spot" }] }), undefined],
    [
      "a GPU limit",
      job({ gpus: 2 }),
      "spec.template.spec.containers[1].resources.limits[nvidia.com/gpu]",
    ],
    [
      "a GPU request",
      job({ gpus: 1, requestsOnly: true }),
      "spec.template.spec.containers[1].resources.requests[nvidia.com/gpu]",
    ],
    [
      "an init container's GPUs",
      job({ initGpus: 1 }),
      "spec.template.spec.initContainers[0].resources.limits[nvidia.com/gpu]",
    ],
    [
      "the GPU toleration",
      job({ tolerations: [{ key: "spot" }, gpuTol] }),
      "spec.template.spec.tolerations[1]",
    ],
    [
      "a tolerate-everything toleration",
      job({ tolerations: [{ operator: "Exists" }] }),
      "spec.template.spec.tolerations[0]",
    ],
    ["a zero GPU limit", job({ gpus: 0 }), undefined],
  ])("%s", (_name, j, wantField) => {
    expect(gpuTemplateField(j)?.field).toBe(wantField);
  });
});

const base = { username: "alice", creators: [OPERATOR] } as const;
const create = (j: JobLikeWithTemplate, username = "alice"): GpuJobGuardInput => ({
  ...base,
  username,
  operation: "CREATE",
  job: j,
});
const update = (
  oldJob: JobLikeWithTemplate,
  j: JobLikeWithTemplate,
  username = "alice",
): GpuJobGuardInput => ({ ...base, username, operation: "UPDATE", job: j, oldJob });

describe("guardGpuJob", () => {
  it.each<[string, GpuJobGuardInput, { field: string; message: string }[]]>([
    ["a CPU Job by a tenant", create(job({ owner: train })), []],
    ["a GPU Job by the operator", create(job({ gpus: 1, owner: train }), OPERATOR), []],
    [
      "a forged GPU Job by a tenant",
      create(job({ tolerations: [gpuTol], owner: train })),
      [
        {
          field: "spec.template.spec.tolerations[0]",
          message:
            "Forbidden: the Job's pods would tolerate the GPU node taint nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload (alice may not create GPU Jobs): create a GPUWorkload instead",
        },
      ],
    ],
    [
      "a GPU Job without owner by a tenant",
      create(job({ gpus: 2 })),
      [
        {
          field: "spec.template.spec.containers[1].resources.limits[nvidia.com/gpu]",
          message:
            "Forbidden: the Job's pods would request 2 nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload (alice may not create GPU Jobs): create a GPUWorkload instead",
        },
      ],
    ],
    [
      "a GPU Job by an anonymous request",
      create(job({ gpus: 1 }), ""),
      [
        {
          field: "spec.template.spec.containers[1].resources.limits[nvidia.com/gpu]",
          message:
            "Forbidden: the Job's pods would request 1 nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload (an anonymous user may not create GPU Jobs): create a GPUWorkload instead",
        },
      ],
    ],
    [
      "a tenant labelling the operator's GPU Job",
      update(job({ gpus: 1, owner: train }), job({ gpus: 1, owner: train, labels: { a: "b" } })),
      [],
    ],
    [
      "a tenant removing the GPUWorkload as controller",
      update(job({ gpus: 1, owner: train }), job({ gpus: 1 })),
      [],
    ],
    [
      "a tenant making a GPUWorkload the controller of a GPU Job",
      update(job({ gpus: 1 }), job({ gpus: 1, owner: train })),
      [
        {
          field: "metadata.ownerReferences",
          message:
            "Forbidden: alice may not make GPUWorkload train the controller of a Job whose pods request 1 nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload",
        },
      ],
    ],
    [
      "a tenant pointing a GPU Job at another GPUWorkload",
      update(job({ gpus: 1, owner: train }), job({ gpus: 1, owner: other })),
      [
        {
          field: "metadata.ownerReferences",
          message:
            "Forbidden: alice may not make GPUWorkload other the controller of a Job whose pods request 1 nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload",
        },
      ],
    ],
    [
      "a tenant raising a GPU Job's parallelism",
      update(job({ gpus: 1, owner: train }), job({ gpus: 1, owner: train, parallelism: 8 })),
      [
        {
          field: "spec.parallelism",
          message:
            "Forbidden: alice may not change the spec of a Job whose pods request 1 nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload",
        },
      ],
    ],
    [
      "a tenant adding the GPU toleration to a suspended CPU Job",
      update(job({ owner: train }), job({ owner: train, tolerations: [gpuTol] })),
      [
        {
          field: "spec.template.spec.tolerations[0]",
          message:
            "Forbidden: the Job's pods would tolerate the GPU node taint nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload (alice may not turn a Job into a GPU Job): create a GPUWorkload instead",
        },
      ],
    ],
    [
      "the operator re-parenting and resizing its GPU Job",
      update(
        job({ gpus: 1, owner: train }),
        job({ gpus: 1, owner: other, parallelism: 2 }),
        OPERATOR,
      ),
      [],
    ],
  ])("%s", (_name, input, wantErrors) => {
    expect(guardGpuJob(input).errors).toEqual(wantErrors);
  });

  // The Job guard's matchCondition `not-gpu-job-creator` skips the webhook for these users
  // (ADR 0101): sound only while the policy allows every request of theirs, whatever it holds.
  it.each<[string, GpuJobGuardInput]>([
    ["a forged GPU Job", create(job({ tolerations: [gpuTol], owner: train }))],
    ["an unowned GPU Job", create(job({ gpus: 8 }))],
    ["turning a CPU Job into a GPU one", update(job({ owner: train }), job({ gpus: 1 }))],
    [
      "re-parenting and resizing a GPU Job",
      update(job({ gpus: 1, owner: train }), job({ gpus: 2, owner: other, parallelism: 8 })),
    ],
    ["a DELETE", { ...create(job({ gpus: 1 })), operation: "DELETE" }],
  ])("allows every request of a creator, whatever the Job: %s", (_name, input) => {
    for (const creators of [[OPERATOR], ["ci", OPERATOR]]) {
      expect(guardGpuJob({ ...input, username: OPERATOR, creators }).errors).toEqual([]);
    }
  });

  it("uses the configured creators, resources and taint keys", () => {
    const amd: JobLikeWithTemplate = {
      spec: {
        template: {
          spec: { containers: [{ resources: { limits: { "amd.com/gpu": 1 } } }] },
        },
      },
    };
    const cfg = { gpuResources: ["amd.com/gpu"], gpuTaintKeys: ["amd.com/gpu"] };
    expect(guardGpuJob({ ...create(amd), ...cfg }).errors).toHaveLength(1);
    expect(guardGpuJob({ ...create(amd), ...cfg, creators: ["alice"] }).errors).toEqual([]);
    expect(guardGpuJob(create(amd)).errors).toEqual([]);
  });
});
