// The fluent GPUWorkload builder: `gpuWorkload("train", ns).gpu("a10g", 1).completeAfter("2s").obj()`.
// It starts as a one-a10g batch workload running registry.example/train:1 for at most an hour.
import type { GPUWorkload, GPUWorkloadSpec, GPUWorkloadStatus } from "../../crds/index.ts";
import { API_VERSION } from "../../crds/index.ts";
import { copy, ObjectBuilder } from "./builder.ts";

/** kwok's annotation: how long a pod stays Running before it completes. */
export const KWOK_COMPLETE_DELAY = "pod-complete.stage.kwok.x-k8s.io/delay";

/** Builds a GPUWorkload. */
export class GPUWorkloadBuilder extends ObjectBuilder<GPUWorkload> {
  constructor(name: string, namespace: string) {
    super({
      apiVersion: API_VERSION,
      kind: "GPUWorkload",
      metadata: { name, namespace },
      spec: {
        gpu: { type: "a10g", count: 1 },
        template: { image: "registry.example/train:1" },
        routing: { strategy: "balanced" },
        profile: "batch",
        maxRuntimeSeconds: 3600,
      },
    });
  }
  gpu(type: GPUWorkloadSpec["gpu"]["type"], count = 1): this {
    this.o.spec.gpu = { type, count };
    return this;
  }
  image(image: string): this {
    this.o.spec.template.image = image;
    return this;
  }
  strategy(s: "balanced" | "cheapest" | "fastest"): this {
    this.o.spec.routing.strategy = s;
    return this;
  }
  treatyRef(name: string): this {
    this.o.spec.routing.treatyRef = { name };
    return this;
  }
  allowedProviders(...p: string[]): this {
    this.o.spec.routing.allowedProviders = p;
    return this;
  }
  regions(...r: string[]): this {
    this.o.spec.regions = r;
    return this;
  }
  maxPricePerHour(usd: number): this {
    this.o.spec.maxPricePerHour = usd;
    return this;
  }
  /** The runtime limit; `undefined` leaves it unset (for the plan's default to apply). */
  maxRuntimeSeconds(s: number | undefined): this {
    if (s === undefined) delete this.o.spec.maxRuntimeSeconds;
    else this.o.spec.maxRuntimeSeconds = s;
    return this;
  }
  /** How long kwok keeps the pod running (its pod-complete stage delay, e.g. "2s"). */
  completeAfter(delay: string): this {
    return this.annotations({ [KWOK_COMPLETE_DELAY]: delay });
  }
  /** Sets the status (as the operator would have written it). */
  status(s: GPUWorkloadStatus): this {
    this.o.status = copy(s);
    return this;
  }
  /** Marks it finished: `Complete=True Succeeded`. */
  finished(at = "2026-01-01T00:00:00Z"): this {
    return this.status({
      conditions: [
        {
          type: "Complete",
          status: "True",
          reason: "Succeeded",
          message: "",
          lastTransitionTime: at,
        },
      ],
    });
  }
}

/** Starts a GPUWorkload builder. */
export const gpuWorkload = (name: string, namespace: string): GPUWorkloadBuilder =>
  new GPUWorkloadBuilder(name, namespace);
