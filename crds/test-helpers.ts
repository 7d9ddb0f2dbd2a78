// Helpers for the API's unit tests (test-only: not exported from index.ts): load the sample
// manifests, change one field by path, and render zod issue paths the way the apiserver names
// fields (spec.pricing[0].usdPerHour).
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import type { z } from "zod";
import { fieldPath } from "./domain/field-path.ts";

/** Directory of the sample manifests. */
export const SAMPLES_DIR = fileURLToPath(new URL("../config/samples/", import.meta.url));

/** The documented example of a completion Receipt (Receipts are not samples a user applies). */
export const RECEIPT_EXAMPLE = fileURLToPath(
  new URL("../docs/examples/receipt-workload-completed.yaml", import.meta.url),
);

/** A parsed manifest. */
export type Manifest = { kind: string; metadata: { name: string } } & Record<string, unknown>;

/** A sample manifest: its file name and parsed content. */
export interface Sample {
  readonly file: string;
  readonly object: Manifest;
}

/** Loads every VaultMesh sample manifest (not the kustomization, not core objects). */
export function loadSamples(): Sample[] {
  return readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .sort()
    .map((file) => ({
      file,
      object: YAML.parse(readFileSync(SAMPLES_DIR + file, "utf8")) as Manifest,
    }))
    .filter((s) => String(s.object.apiVersion).startsWith("vaultmesh.cloud/"));
}

/** Loads one sample by its metadata.name; a deep copy, free to change. */
export function sample(name: string): Manifest {
  const found = loadSamples().find((s) => s.object.metadata.name === name);
  if (found === undefined) throw new Error(`no sample named ${name}`);
  return structuredClone(found.object);
}

/** Value for {@link withField} that removes the field. */
export const REMOVE = Symbol("remove");

function parsePath(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) =>
    m[2] === undefined ? m[1]! : Number(m[2]),
  );
}

/**
 * Returns a copy of `object` with the field at `path` (`spec.pricing[0].usdPerHour`) set to
 * `value`, or removed when `value` is {@link REMOVE}; missing parents are created.
 */
export function withField(object: Manifest, path: string, value: unknown): Manifest {
  const copy = structuredClone(object);
  const keys = parsePath(path);
  let node = copy as Record<string | number, unknown>;
  for (const [i, key] of keys.slice(0, -1).entries()) {
    if (typeof node[key] !== "object" || node[key] === null) {
      node[key] = typeof keys[i + 1] === "number" ? [] : {};
    }
    node = node[key] as Record<string | number, unknown>;
  }
  const last = keys.at(-1)!;
  if (value === REMOVE) delete node[last];
  else node[last] = value;
  return copy;
}

/** Field paths and messages of a failed parse; empty when the value is valid. */
export function issues(schema: z.ZodType, value: unknown): { path: string; message: string }[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((i) => ({ path: fieldPath(i.path), message: i.message }));
}

/** A table row of a "refuses" test: what, field path, new value, and the path the error names. */
export type BadField = readonly [what: string, path: string, value: unknown, wantPath?: string];

/** The field paths a schema reports for `base` with one field changed. */
export function pathsOfBadField(
  schema: z.ZodType,
  base: Manifest,
  path: string,
  value: unknown,
): string[] {
  return issues(schema, withField(base, path, value)).map((i) => i.path);
}
