// The size of the cluster's own GPU pool as the router judges it: which nodes belong to an
// in-cluster treaty's pool (every label of `inCluster.nodeSelector`, and the GPU type label),
// and the most GPUs one such node can hold (its allocatable `inCluster.gpuResourceName`). A
// workload asking more GPUs than any node of its GPU type holds can never be scheduled there:
// the router says so up front (IneligibleReason.ExceedsLargestNode) instead of placing a Job
// that waits as Unschedulable until failover (ADR 0098). Pure; the nodes come from the
// caller's informer cache.
import type { PoolNode, RoutableInClusterPool } from "./routing-types.ts";

/** The extended resource counting GPUs when a treaty does not name one. */
export const DEFAULT_GPU_RESOURCE = "nvidia.com/gpu";

/** Whether a node with `labels` belongs to `pool` (its GPU type aside). */
export function inPool(
  labels: Readonly<Record<string, string>> | undefined,
  pool: Pick<RoutableInClusterPool, "nodeSelector">,
): boolean {
  if (labels === undefined) return Object.keys(pool.nodeSelector).length === 0;
  for (const k in pool.nodeSelector) if (labels[k] !== pool.nodeSelector[k]) return false;
  return true;
}

/**
 * The most GPUs of type `gpuType` one node of `pool` holds (allocatable), or undefined when
 * no node of the pool carries that GPU type: an empty pool is not judged, since a cluster
 * autoscaler may add its nodes on demand. An allocatable value that is not a whole number
 * counts as unbounded (never judged smaller than it is).
 */
export function largestNodeGpus(
  nodes: readonly PoolNode[],
  pool: RoutableInClusterPool,
  gpuType: string,
): number | undefined {
  const resource = pool.gpuResourceName ?? DEFAULT_GPU_RESOURCE;
  let largest: number | undefined;
  for (const n of nodes) {
    const labels = n.metadata?.labels;
    if (labels?.[pool.gpuTypeLabel] !== gpuType || !inPool(labels, pool)) continue;
    const held = gpuCount(n.status?.allocatable?.[resource]);
    if (largest === undefined || held > largest) largest = held;
  }
  return largest;
}

/** A GPU count from a quantity string: 0 when absent, Infinity when not a whole number. */
export function gpuCount(quantity: string | undefined): number {
  if (quantity === undefined) return 0;
  return /^\d+$/.test(quantity) ? Number(quantity) : Infinity;
}

/** A cache's copy of a Node: what the router reads of it, and nothing else (poolNodeOf). */
// A type literal, not an interface, so that it fits a cache's KubeObject (index signature).
export type SlimNode = {
  metadata: { name?: string; labels?: Record<string, string> };
  status?: { allocatable?: Record<string, string> };
};

/**
 * A Node as the router reads it: name, labels and allocatable resources only. Informers pass
 * this as their transform, so a Node's cached copy drops its conditions, images and the
 * heartbeat-driven rest of its status.
 */
export function poolNodeOf(node: PoolNode): SlimNode {
  const m = node.metadata;
  const allocatable = node.status?.allocatable;
  return {
    metadata: {
      ...(m?.name === undefined ? {} : { name: m.name }),
      ...(m?.labels === undefined ? {} : { labels: m.labels }),
    },
    ...(allocatable === undefined ? {} : { status: { allocatable } }),
  };
}

/**
 * Whether a Node update can change what the router judges (its labels or allocatable
 * resources), as opposed to the heartbeat-driven rest of its status.
 */
export function poolNodeChanged(node: PoolNode, old: PoolNode | undefined): boolean {
  if (old === undefined) return true;
  return (
    !sameRecord(node.metadata?.labels, old.metadata?.labels) ||
    !sameRecord(node.status?.allocatable, old.status?.allocatable)
  );
}

function sameRecord(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
