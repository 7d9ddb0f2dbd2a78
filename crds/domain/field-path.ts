/** Field paths in the apiserver's notation, as error messages name them. */

/**
 * Renders a path (a zod issue path) as a field path under `prefix`:
 * `["spec", "pricing", 0, "usdPerHour"]` → `spec.pricing[0].usdPerHour`.
 */
export function fieldPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}
