import { readFileSync } from "node:fs";
import { describe, expect, it } from "@jest/globals";
import YAML from "yaml";
import {
  GPUWorkloadSchema,
  TreatySchema,
  type GPUWorkload,
  type Treaty,
} from "../../crds/index.ts";
import { buildJob, jobName, MAX_JOB_NAME_LENGTH, trimToLabel } from "./index.ts";

const samples = new URL("../../config/samples/", import.meta.url);
const load = (file: string): unknown => YAML.parse(readFileSync(new URL(file, samples), "utf8"));

const UID = "6f1c1f0e-4d7e-4a57-9a43-1c0f2b2d7e11";
const pool: Treaty = TreatySchema.parse(load("treaty-in-cluster-a10g.yaml"));
const akash: Treaty = TreatySchema.parse(load("treaty-aurora-akash-001.yaml"));
const sampleWorkload = GPUWorkloadSchema.parse(load("gpuworkload-train-llama-lora.yaml"));
const workload: GPUWorkload = {
  ...sampleWorkload,
  metadata: {
    ...sampleWorkload.metadata,
    uid: UID,
    labels: { "vaultmesh.cloud/tenant": "acme" },
  },
};

describe("jobName", () => {
  const wl = (name: string, uid = UID): { metadata: { name: string; uid: string } } => ({
    metadata: { name, uid },
  });
  it.each<[string, { metadata: { name: string; uid: string } }, number, RegExp]>([
    ["a short name", wl("train"), 1, /^train-[0-9a-f]{8}-a1$/],
    ["dots become dashes", wl("train.v2"), 3, /^train-v2-[0-9a-f]{8}-a3$/],
    ["a long name is cut", wl("x".repeat(253)), 1000, /^x{48}-[0-9a-f]{8}-a1000$/],
    [
      "a cut never ends in a dash",
      wl("a".repeat(50) + "-" + "b".repeat(10)),
      1,
      /^a{50}-[0-9a-f]{8}-a1$/,
    ],
  ])("%s", (_what, w, attempt, wantPattern) => {
    const got = jobName(w, attempt);
    expect(got).toMatch(wantPattern);
    expect(got.length).toBeLessThanOrEqual(MAX_JOB_NAME_LENGTH);
  });

  it("is derived from (uid, attempt) only: same inputs, same name; new uid or attempt, new name", () => {
    const a1 = jobName(wl("train"), 1);
    expect(jobName(wl("train"), 1)).toBe(a1);
    expect(jobName(wl("train"), 2)).not.toBe(a1);
    expect(jobName(wl("train", "another-uid"), 1)).not.toBe(a1);
  });

  it.each<[string, { metadata: { name?: string; uid?: string } }, number, string]>([
    ["no uid", { metadata: { name: "train" } }, 1, "GPUWorkload has no metadata.uid"],
    ["attempt 0", wl("train"), 0, "attempt must be an integer in 1..1000, got 0"],
    ["a fractional attempt", wl("train"), 1.5, "attempt must be an integer in 1..1000, got 1.5"],
  ])("refuses %s", (_what, w, attempt, wantError) => {
    expect(() => jobName(w, attempt)).toThrow(wantError);
  });
});

describe("trimToLabel", () => {
  it.each<[string, number, string]>([
    ["short", 63, "short"],
    ["abc-def", 4, "abc"],
    ["abc.-_x", 6, "abc"],
  ])("trimToLabel(%p, %p) is %p", (value, max, want) => {
    expect(trimToLabel(value, max)).toBe(want);
  });
});

describe("buildJob", () => {
  const job = buildJob(workload, pool, 2, {
    placement: {
      treaty: "in-cluster-a10g",
      provider: "in-cluster",
      region: "local",
      pricePerHour: 0.6,
      score: 0.9,
    },
    podAnnotations: { "pod-complete.stage.kwok.x-k8s.io/delay": "1s" },
  });
  const wantLabels = {
    "vaultmesh.cloud/workload": "train-llama-lora",
    "vaultmesh.cloud/workload-uid": UID,
    "vaultmesh.cloud/tenant": "acme",
    "vaultmesh.cloud/treaty": "in-cluster-a10g",
    "vaultmesh.cloud/attempt": "2",
  };

  it("names, labels and owns the Job", () => {
    expect(job.metadata).toEqual({
      name: jobName(workload, 2),
      namespace: "tenant-acme",
      labels: wantLabels,
      annotations: {
        "vaultmesh.cloud/provider": "in-cluster",
        "vaultmesh.cloud/region": "local",
        "vaultmesh.cloud/price-per-hour": "0.6",
      },
      ownerReferences: [
        {
          apiVersion: "vaultmesh.cloud/v1alpha1",
          kind: "GPUWorkload",
          name: "train-llama-lora",
          uid: UID,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
  });

  it("runs once, within maxRuntimeSeconds, on the tainted GPU pool", () => {
    expect(job.spec?.backoffLimit).toBe(0);
    expect(job.spec?.activeDeadlineSeconds).toBe(3600);
    const pod = job.spec?.template;
    expect(pod?.metadata).toEqual({
      labels: wantLabels,
      annotations: { "pod-complete.stage.kwok.x-k8s.io/delay": "1s" },
    });
    expect(pod?.spec?.restartPolicy).toBe("Never");
    expect(pod?.spec?.automountServiceAccountToken).toBe(false);
    expect(pod?.spec?.nodeSelector).toEqual({ role: "gpu", "gpu-type": "a10g" });
    expect(pod?.spec?.tolerations).toEqual([
      { key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" },
    ]);
  });

  it("runs the template with the GPU and memory limits and the CPU and memory requests", () => {
    expect(job.spec?.template.spec?.containers).toEqual([
      {
        name: "workload",
        image: "ghcr.io/acme/llama-lora-train:1.4.0",
        command: ["python", "train.py"],
        args: ["--epochs", "3"],
        env: [{ name: "WANDB_MODE", value: "offline" }],
        resources: {
          limits: { "nvidia.com/gpu": "1", memory: "16Gi" },
          requests: { cpu: "4", memory: "16Gi" },
        },
      },
    ]);
  });

  it.each<
    [
      string,
      Partial<GPUWorkload["spec"]>,
      Partial<NonNullable<Treaty["spec"]["inCluster"]>>,
      (j: ReturnType<typeof buildJob>) => unknown,
      unknown,
    ]
  >([
    [
      "a taint without value → Exists",
      {},
      { taint: { key: "nvidia.com/gpu", effect: "NoSchedule" } },
      (j) => j.spec?.template.spec?.tolerations,
      [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
    ],
    [
      "no taint → no toleration",
      {},
      { taint: undefined },
      (j) => j.spec?.template.spec?.tolerations,
      [],
    ],
    [
      "4 GPUs of a custom resource",
      { gpu: { type: "a10g", count: 4 } },
      { gpuResourceName: "amd.com/gpu" },
      (j) => j.spec?.template.spec?.containers[0]?.resources?.limits,
      { "amd.com/gpu": "4", memory: "16Gi" },
    ],
    [
      "no runtime limit → no deadline",
      { maxRuntimeSeconds: undefined },
      {},
      (j) => j.spec?.activeDeadlineSeconds,
      undefined,
    ],
    [
      "a secret env var",
      {
        template: {
          image: "i",
          env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
        },
      },
      {},
      (j) => j.spec?.template.spec?.containers[0]?.env,
      [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
    ],
    [
      "no cpu or memory → no requests",
      { template: { image: "i" } },
      {},
      (j) => j.spec?.template.spec?.containers[0]?.resources,
      { limits: { "nvidia.com/gpu": "1" } },
    ],
  ])("builds %s", (_what, spec, inCluster, pick, want) => {
    const w = { ...workload, spec: { ...workload.spec, ...spec } };
    const t = {
      ...pool,
      spec: { ...pool.spec, inCluster: { ...pool.spec.inCluster!, ...inCluster } },
    };
    expect(pick(buildJob(w, t, 1))).toEqual(want);
  });

  it("is deterministic", () => {
    expect(buildJob(workload, pool, 1)).toEqual(buildJob(workload, pool, 1));
  });

  it.each<[string, () => unknown, string]>([
    [
      "an external treaty",
      () => buildJob(workload, akash, 1),
      "treaty aurora-akash-001 (provider akash) is not in-cluster: spec.inCluster is not set",
    ],
    [
      "a workload without namespace",
      () =>
        buildJob(
          { ...workload, metadata: { ...workload.metadata, namespace: undefined } },
          pool,
          1,
        ),
      "GPUWorkload has no metadata.namespace",
    ],
  ])("refuses %s", (_what, build, wantError) => {
    expect(build).toThrow(wantError);
  });
});
