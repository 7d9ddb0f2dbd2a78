/**
 * Status writes guarded by resourceVersion: the whole status is replaced through the /status
 * subresource with the resourceVersion the reconcile read, so a write computed from a stale
 * view fails with 409 Conflict and the key is retried against the fresh object. A status that
 * did not change is not written at all (no write amplification on resync).
 */
import type { KubeClient, KubeObject, ResourceType } from "../../services/kube/index.ts";

/** Structural equality of JSON values, insensitive to object key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

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
  if (jsonEqual(obj.status, next)) return obj;
  return await client.replaceStatus<T>(type, { ...obj, status: next });
}
