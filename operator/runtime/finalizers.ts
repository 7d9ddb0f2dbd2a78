/**
 * Finalizers, added and removed with a merge patch that carries the resourceVersion we read:
 * the write fails with 409 Conflict when the object changed meanwhile, so a concurrent
 * writer's finalizer list is never overwritten.
 */
import type { KubeClient, KubeObject, ResourceType } from "../../services/kube/index.ts";

/** True when `obj` carries `finalizer`. */
export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** Adds `finalizer` unless present; returns the updated object (or `obj` when unchanged). */
export async function ensureFinalizer<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const m = obj.metadata ?? {};
  return await client.patch<T>(
    type,
    { name: m.name ?? "", namespace: m.namespace },
    {
      metadata: {
        resourceVersion: m.resourceVersion,
        finalizers: [...(m.finalizers ?? []), finalizer],
      },
    },
  );
}

/** Removes `finalizer` if present; returns the updated object (or `obj` when unchanged). */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (!hasFinalizer(obj, finalizer)) return obj;
  const m = obj.metadata ?? {};
  return await client.patch<T>(
    type,
    { name: m.name ?? "", namespace: m.namespace },
    {
      metadata: {
        resourceVersion: m.resourceVersion,
        finalizers: (m.finalizers ?? []).filter((f) => f !== finalizer),
      },
    },
  );
}
