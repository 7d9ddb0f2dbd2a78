import { describe, expect, it } from "@jest/globals";
import { makeJob, makePod } from "../../test/builders/webhook-objects.ts";
import { guardGpuPod, podGpuUse, type GpuPodGuardInput, type PodLike } from "./pod.ts";

const NS = "tenant-acme";
const workload = { metadata: { name: "train", uid: "w-1" }, spec: { gpu: { count: 2 } } };
const job = makeJob("train-1", NS, "j-1", { name: "train", uid: "w-1" });
const jobRef = { name: "train-1", uid: "j-1" };

describe("podGpuUse", () => {
  it.each<[string, PodLike, { gpus: number; toleratesGpuTaint: boolean }]>([
    ["a CPU pod", makePod("p", NS), { gpus: 0, toleratesGpuTaint: false }],
    ["a GPU limit", makePod("p", NS, { gpus: 2 }), { gpus: 2, toleratesGpuTaint: false }],
    [
      "a toleration only",
      makePod("p", NS, { tolerateGpu: true }),
      { gpus: 0, toleratesGpuTaint: true },
    ],
    [
      "a tolerate-everything toleration",
      { spec: { containers: [], tolerations: [{ operator: "Exists" }] } },
      { gpus: 0, toleratesGpuTaint: true },
    ],
    [
      "an init container asking for more",
      {
        spec: {
          containers: [{ resources: { requests: { "nvidia.com/gpu": 1 } } }],
          initContainers: [{ resources: { limits: { "nvidia.com/gpu": "4" } } }],
        },
      },
      { gpus: 4, toleratesGpuTaint: false },
    ],
    [
      "a malformed quantity counts as one",
      { spec: { containers: [{ resources: { limits: { "nvidia.com/gpu": "lots" } } }] } },
      { gpus: 1, toleratesGpuTaint: false },
    ],
  ])("%s", (_name, pod, want) => {
    expect(podGpuUse(pod)).toEqual(want);
  });
});

describe("guardGpuPod", () => {
  it.each<[string, GpuPodGuardInput, string | undefined]>([
    ["a CPU pod without owner", { pod: makePod("p", NS) }, undefined],
    [
      "a GPU pod of a GPUWorkload's Job",
      {
        pod: makePod("p", NS, { gpus: 2, tolerateGpu: true, job: jobRef }),
        job,
        workload,
      },
      undefined,
    ],
    ["a bare GPU pod", { pod: makePod("p", NS, { gpus: 1 }) }, "is not controlled by a Job"],
    [
      "a bare pod tolerating the GPU taint",
      { pod: makePod("p", NS, { tolerateGpu: true }) },
      "tolerates the GPU node taint but is not controlled by a Job",
    ],
    [
      "a Job that is not in the cache",
      { pod: makePod("p", NS, { gpus: 1, job: jobRef }) },
      "its Job train-1 does not exist",
    ],
    [
      "a Job with another uid",
      {
        pod: makePod("p", NS, { gpus: 1, job: jobRef }),
        job: makeJob("train-1", NS, "j-2", { name: "train", uid: "w-1" }),
      },
      "does not exist",
    ],
    [
      "a Job nobody owns",
      {
        pod: makePod("p", NS, { gpus: 1, job: jobRef }),
        job: makeJob("train-1", NS, "j-1"),
      },
      "is not owned by a GPUWorkload",
    ],
    [
      "a GPUWorkload that is gone",
      { pod: makePod("p", NS, { gpus: 1, job: jobRef }), job },
      "GPUWorkload train of its Job does not exist",
    ],
    [
      "more GPUs than admitted",
      { pod: makePod("p", NS, { gpus: 3, job: jobRef }), job, workload },
      "admitted with 2",
    ],
  ])("%s", (_name, input, wantMessage) => {
    const v = guardGpuPod(input);
    if (wantMessage === undefined) expect(v.denied).toBeUndefined();
    else expect(v.denied?.message).toContain(wantMessage);
  });
});
