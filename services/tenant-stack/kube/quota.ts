/** Builds the tenant's ResourceQuota and LimitRange from its plan and overrides. */
import type { WireObject } from "./wire.ts";
import { effectiveLimits } from "../plans.ts";
import { TenantObjectNames, tenantLabels, tenantNamespace } from "./names.ts";
import type { TenantRef } from "./tenant-ref.ts";

/** Extended resource name of NVIDIA GPUs (the device plugin's, and the GPU pool's). */
export const GPU_RESOURCE = "nvidia.com/gpu";

/**
 * Builds the ResourceQuota: CPU, memory and GPU requests and pod count, summed over the whole
 * namespace so the limit holds across all of the tenant's workloads.
 */
export function buildResourceQuota(t: TenantRef): WireObject {
  const l = effectiveLimits(t.spec);
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: {
      name: TenantObjectNames.resourceQuota,
      namespace: tenantNamespace(t.name),
      labels: tenantLabels(t.name),
    },
    spec: {
      hard: {
        "requests.cpu": l.cpu,
        "requests.memory": l.memory,
        pods: String(l.pods),
        [`requests.${GPU_RESOURCE}`]: String(l.maxGpus),
      },
    },
  };
}

/**
 * Builds the LimitRange that gives containers without requests the plan's defaults; without it
 * the quota would refuse every such pod.
 */
export function buildLimitRange(t: TenantRef): WireObject {
  const l = effectiveLimits(t.spec);
  return {
    apiVersion: "v1",
    kind: "LimitRange",
    metadata: {
      name: TenantObjectNames.limitRange,
      namespace: tenantNamespace(t.name),
      labels: tenantLabels(t.name),
    },
    spec: {
      limits: [
        {
          type: "Container",
          defaultRequest: { cpu: l.defaultCpuRequest, memory: l.defaultMemory },
          default: { memory: l.defaultMemory },
        },
      ],
    },
  };
}
