/**
 * Workload activity and the GPUs a tenant holds: the one definition the Tenant status and the
 * admission quota check both use, so what `kubectl get tenant` shows is what admission counts.
 */
import { findCondition, isTrue } from "./conditions.ts";
import { GPUWorkloadConditionType } from "../constants.ts";
import type { GPUWorkload } from "../gpuworkload.ts";

type Conditioned = Pick<GPUWorkload, "metadata" | "status">;

/** Whether a workload holds GPUs: not Complete, not Failed and not being deleted. */
export function workloadIsActive(w: Conditioned): boolean {
  if (w.metadata.deletionTimestamp) return false;
  const conditions = w.status?.conditions;
  return !(
    isTrue(conditions, GPUWorkloadConditionType.Complete) ||
    isTrue(conditions, GPUWorkloadConditionType.Failed)
  );
}

/** True when the workload waits for a treaty (its Routed condition is False). */
export function workloadIsWaiting(w: Pick<GPUWorkload, "status">): boolean {
  return findCondition(w.status?.conditions, GPUWorkloadConditionType.Routed)?.status === "False";
}

/** What a tenant uses now: its active GPUWorkloads and the GPUs they request. */
export interface TenantGpuUsage {
  readonly gpusInUse: number;
  readonly activeWorkloads: number;
}

/** Sums the GPUs and workloads of the active workloads among `workloads`, leaving out `excludeUid`. */
export function tenantGpuUsage(
  workloads: readonly Pick<GPUWorkload, "metadata" | "spec" | "status">[],
  excludeUid?: string,
): TenantGpuUsage {
  let gpusInUse = 0;
  let activeWorkloads = 0;
  for (const w of workloads) {
    if (!workloadIsActive(w) || (excludeUid !== undefined && w.metadata.uid === excludeUid)) {
      continue;
    }
    gpusInUse += w.spec?.gpu?.count ?? 0;
    activeWorkloads++;
  }
  return { gpusInUse, activeWorkloads };
}
