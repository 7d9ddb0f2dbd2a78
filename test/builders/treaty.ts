// The fluent Treaty builder: `treaty("pool").inCluster("a10g", 0.6).maxConcurrentJobs(2).obj()`.
// It starts as a valid in-cluster treaty serving a10g at $0.60/GPU-hour in region `local`, so a
// test names only what it is about.
import type { Condition, Treaty, TreatySpec, TreatyStatus } from "../../crds/index.ts";
import { API_VERSION } from "../../crds/index.ts";
import { copy, ObjectBuilder } from "./builder.ts";

/** A GPU type a treaty prices. */
export type GpuType = Treaty["spec"]["pricing"][number]["gpuType"];

/** The cluster's GPU pool as every test cluster has it: role=gpu nodes, tainted, gpu-type label. */
export const TEST_GPU_POOL: NonNullable<TreatySpec["inCluster"]> = {
  nodeSelector: { role: "gpu" },
  gpuTypeLabel: "gpu-type",
  taint: { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" },
  gpuResourceName: "nvidia.com/gpu",
};

/** Builds a Treaty. */
export class TreatyBuilder extends ObjectBuilder<Treaty> {
  constructor(name: string) {
    super({
      apiVersion: API_VERSION,
      kind: "Treaty",
      metadata: { name },
      spec: {
        provider: "in-cluster",
        regions: ["local"],
        pricing: [{ gpuType: "a10g", usdPerHour: 0.6 }],
        reputationFloor: 0,
        suspended: false,
        inCluster: copy(TEST_GPU_POOL),
      },
    });
  }
  /** The cluster's GPU pool (role=gpu, gpu-type label, nvidia.com/gpu taint) at `usd`/GPU-hour. */
  inCluster(gpuType: GpuType = "a10g", usd = 0.6): this {
    this.o.spec.provider = "in-cluster";
    this.o.spec.pricing = [{ gpuType, usdPerHour: usd }];
    this.o.spec.inCluster = copy(TEST_GPU_POOL);
    delete this.o.spec.endpoint;
    return this;
  }
  /** Adds node-selector labels to the in-cluster pool (e.g. one benchmark's own nodes). */
  nodeSelector(labels: Record<string, string>): this {
    const pool = this.o.spec.inCluster ?? copy(TEST_GPU_POOL);
    pool.nodeSelector = { ...pool.nodeSelector, ...labels };
    this.o.spec.inCluster = pool;
    return this;
  }
  /** An external provider treaty with an endpoint, serving a10g at `usd`/GPU-hour. */
  external(provider: string, endpoint: string, usd = 0.5): this {
    this.provider(provider);
    this.o.spec.endpoint = endpoint;
    this.o.spec.pricing = [{ gpuType: "a10g", usdPerHour: usd }];
    return this;
  }
  /** The provider; `in-cluster` brings the test GPU pool, any other drops it. */
  provider(p: string): this {
    this.o.spec.provider = p;
    if (p === "in-cluster") this.o.spec.inCluster ??= copy(TEST_GPU_POOL);
    else delete this.o.spec.inCluster;
    return this;
  }
  /** The provider's endpoint (external treaties). */
  endpoint(url: string): this {
    this.o.spec.endpoint = url;
    return this;
  }
  regions(...r: string[]): this {
    this.o.spec.regions = r;
    return this;
  }
  /** Replaces the price list. */
  pricing(...p: { gpuType: GpuType; usdPerHour: number }[]): this {
    this.o.spec.pricing = p.map((x) => ({ ...x }));
    return this;
  }
  slo(slo: NonNullable<TreatySpec["slo"]>): this {
    this.o.spec.slo = { ...slo };
    return this;
  }
  /** Replaces the quotas. */
  quotas(q: NonNullable<TreatySpec["quotas"]>): this {
    this.o.spec.quotas = { ...q };
    return this;
  }
  maxConcurrentJobs(n: number): this {
    this.o.spec.quotas = { ...(this.o.spec.quotas ?? {}), maxConcurrentJobs: n };
    return this;
  }
  reputationFloor(f: number): this {
    this.o.spec.reputationFloor = f;
    return this;
  }
  effectiveDate(d: string): this {
    this.o.spec.effectiveDate = d;
    return this;
  }
  expiryDate(d: string): this {
    this.o.spec.expiryDate = d;
    return this;
  }
  vaultLaw(v: NonNullable<TreatySpec["vaultLaw"]>): this {
    this.o.spec.vaultLaw = { ...v };
    return this;
  }
  suspended(s = true): this {
    this.o.spec.suspended = s;
    return this;
  }
  /** Merges `s` over the status (as the operator would have written it). */
  status(s: TreatyStatus): this {
    this.o.status = { ...(this.o.status ?? {}), ...copy(s) };
    return this;
  }
  /** Ready=True InForce, Degraded=False, Expired=False: routable, as the Treaty controller says. */
  ready(at = "2026-01-01T00:00:00Z"): this {
    const c = (type: string, status: "True" | "False", reason: string): Condition => ({
      type,
      status,
      reason,
      message: "",
      lastTransitionTime: at,
    });
    return this.status({
      conditions: [
        c("Ready", "True", "InForce"),
        c("Degraded", "False", "SloMet"),
        c("Expired", "False", "InForce"),
      ],
    });
  }
}

/** Starts a Treaty builder. */
export const treaty = (name: string): TreatyBuilder => new TreatyBuilder(name);
