/**
 * Status writes guarded by resourceVersion: the whole status is replaced through the /status
 * subresource with the resourceVersion the reconcile read, so a write computed from a stale
 * view fails with 409 Conflict and the key is retried against the fresh object. A status that
 * did not change is not written at all (no write amplification on resync).
 */
import type { KubeClient, KubeObject, ResourceType } from "../../services/kube/index.ts";

/** Drops undefined members recursively, so the status is plain JSON. */
export function pruneUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * True when `a` and `b` serialise to the same JSON up to the order of object keys: members
 * whose value is undefined (or a function) are absent, `toJSON` is applied, non-finite numbers
 * and undefined array elements are `null` — what `isDeepStrictEqual(a, pruneUndefined(b))`
 * answered, without serialising and parsing the whole status on every reconcile (most
 * reconciles write nothing, issue 13).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return sameJson(asJson(a, false), asJson(b, false));
}

// A value as JSON.stringify sees it: `toJSON` applied, non-finite numbers as null; undefined
// for what it leaves out (undefined, functions, symbols) — as null inside an array.
function asJson(v: unknown, inArray: boolean): unknown {
  let x = v;
  if (
    x !== null &&
    typeof x === "object" &&
    typeof (x as { toJSON?: unknown }).toJSON === "function"
  ) {
    x = (x as { toJSON(): unknown }).toJSON();
  }
  if (typeof x === "number" && !Number.isFinite(x)) return null;
  if (x === undefined || typeof x === "function" || typeof x === "symbol") {
    return inArray ? null : undefined;
  }
  return x;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bs = b as unknown[];
    if (a.length !== bs.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!sameJson(asJson(a[i], true), asJson(bs[i], true))) return false;
    }
    return true;
  }
  return sameMembers(a as Record<string, unknown>, b as Record<string, unknown>);
}

// Objects: every member present in one is present and equal in the other. `for…in` rather
// than Object.keys: no array per object compared (plain JSON has no inherited members).
function sameMembers(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  let n = 0;
  for (const k in a) {
    const x = asJson(a[k], false);
    if (x === undefined) continue;
    n++;
    if (!Object.hasOwn(b, k) || !sameJson(x, asJson(b[k], false))) return false;
  }
  for (const k in b) if (asJson(b[k], false) !== undefined) n--;
  return n === 0;
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
  if (jsonEqual(obj.status, status)) return obj;
  // The body is JSON: undefined members are left out as pruneUndefined would.
  return await client.replaceStatus<T>(type, { ...obj, status });
}
