/**
 * Status writes guarded by resourceVersion: the whole status is replaced through the /status
 * subresource with the resourceVersion the reconcile read, so a write computed from a stale
 * view fails with 409 Conflict and the key is retried against the fresh object. A status that
 * did not change is not written at all (no write amplification on resync).
 */
import { isDeepStrictEqual } from "node:util";
import type { KubeClient, KubeObject, ResourceType } from "../../services/kube/index.ts";

/** Drops undefined members recursively, so the status is plain JSON. */
export function pruneUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * Writes `status` onto `obj` unless it equals the current one. Returns the object as written
 * (or `obj` when nothing changed). Throws KubeApiError 409 when `obj` is stale.
 */
export async function writeStatus<T extends KubeObject & { status?: unknown }>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  status: NonNullable<T["status"]>,
): Promise<T> {
  const next = pruneUndefined(status);
  if (isDeepStrictEqual(obj.status, next)) return obj;
  return await client.replaceStatus<T>(type, { ...obj, status: next });
}
