/**
 * Decides whether a server-side apply would change anything, so that reconciling an unchanged
 * Tenant makes no writes. The desired object is compared with the live one field by field:
 * every field we set must have the same value live; fields only the live object has (set by
 * the apiserver or other managers) are ignored, except in lists, which must match in length
 * (our lists are atomic or fully ours, so an extra entry is drift to correct).
 */

/** True when `desired`'s fields all hold the same values in `live`. */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (isEmpty(desired) && (live === undefined || live === null || isEmpty(live))) return true;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((d, i) => isSubset(d, live[i]))
    );
  }
  if (typeof desired === "object" && desired !== null) {
    if (typeof live !== "object" || live === null || Array.isArray(live)) return false;
    const l = live as Record<string, unknown>;
    return Object.entries(desired).every(([k, v]) => v === undefined || isSubset(v, l[k]));
  }
  return desired === live;
}

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

/**
 * True when applying `desired` would change `live` (absent, or a field differs). Status and
 * server-set metadata are never part of `desired`, so they are never compared.
 */
export function needsApply(desired: object, live: object | undefined): boolean {
  return live === undefined || !isSubset(desired, live);
}
