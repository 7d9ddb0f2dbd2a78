/**
 * Fluent builders for VaultMesh test objects (kueue-style):
 *
 *   const t = treaty("pool").inCluster("a10g", 0.6).maxConcurrentJobs(2).obj();
 *   const w = gpuWorkload("train", ns).gpu("a10g", 1).completeAfter("2s").obj();
 */
import type { GPUWorkload, Treaty } from "../../crds/index.ts";
import { API_VERSION } from "../../crds/index.ts";

type DeepMutable<T> = { -readonly [K in keyof T]: DeepMutable<T[K]> };

/** Builds a Treaty. */
export class TreatyBuilder {
  private readonly t: DeepMutable<Treaty>;
  constructor(name: string) {
    this.t = {
      apiVersion: API_VERSION,
      kind: "Treaty",
      metadata: { name },
      spec: {
        provider: "in-cluster",
        regions: ["local"],
        pricing: [{ gpuType: "a10g", usdPerHour: 0.6 }],
        reputationFloor: 0,
        suspended: false,
      },
    };
  }
  /** The cluster's GPU pool (role=gpu, gpu-type label, nvidia.com/gpu taint) at `usd`/GPU-hour. */
  inCluster(gpuType: Treaty["spec"]["pricing"][number]["gpuType"] = "a10g", usd = 0.6): this {
    this.t.spec.provider = "in-cluster";
    this.t.spec.pricing = [{ gpuType, usdPerHour: usd }];
    this.t.spec.inCluster = {
      nodeSelector: { role: "gpu" },
      gpuTypeLabel: "gpu-type",
      taint: { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" },
      gpuResourceName: "nvidia.com/gpu",
    };
    return this;
  }
  /** An external provider treaty with an endpoint. */
  external(provider: string, endpoint: string, usd = 0.5): this {
    this.t.spec.provider = provider;
    this.t.spec.endpoint = endpoint;
    this.t.spec.pricing = [{ gpuType: "a10g", usdPerHour: usd }];
    delete this.t.spec.inCluster;
    return this;
  }
  regions(...r: string[]): this {
    this.t.spec.regions = r;
    return this;
  }
  maxConcurrentJobs(n: number): this {
    this.t.spec.quotas = { ...(this.t.spec.quotas ?? {}), maxConcurrentJobs: n };
    return this;
  }
  suspended(s = true): this {
    this.t.spec.suspended = s;
    return this;
  }
  obj(): Treaty {
    return structuredClone(this.t) as Treaty;
  }
}

/** Builds a GPUWorkload. */
export class GPUWorkloadBuilder {
  private readonly w: DeepMutable<GPUWorkload>;
  constructor(name: string, namespace: string) {
    this.w = {
      apiVersion: API_VERSION,
      kind: "GPUWorkload",
      metadata: { name, namespace, annotations: {} },
      spec: {
        gpu: { type: "a10g", count: 1 },
        template: { image: "registry.example/train:1" },
        routing: { strategy: "balanced" },
        profile: "batch",
        maxRuntimeSeconds: 3600,
      },
    };
  }
  gpu(type: GPUWorkload["spec"]["gpu"]["type"], count = 1): this {
    this.w.spec.gpu = { type, count };
    return this;
  }
  strategy(s: "balanced" | "cheapest" | "fastest"): this {
    this.w.spec.routing.strategy = s;
    return this;
  }
  treatyRef(name: string): this {
    this.w.spec.routing.treatyRef = { name };
    return this;
  }
  /** How long kwok keeps the pod running (its pod-complete stage delay, e.g. "2s"). */
  completeAfter(delay: string): this {
    this.w.metadata.annotations = {
      ...(this.w.metadata.annotations ?? {}),
      "pod-complete.stage.kwok.x-k8s.io/delay": delay,
    };
    return this;
  }
  obj(): GPUWorkload {
    return structuredClone(this.w) as GPUWorkload;
  }
}

/** Starts a Treaty builder. */
export const treaty = (name: string): TreatyBuilder => new TreatyBuilder(name);
/** Starts a GPUWorkload builder. */
export const gpuWorkload = (name: string, namespace: string): GPUWorkloadBuilder =>
  new GPUWorkloadBuilder(name, namespace);
