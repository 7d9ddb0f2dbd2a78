// GPUWorkload mutation: the tenant label and the plan's defaults for fields the user left out.
// Runs before schema validation, so it reads the raw object defensively and never fails: a
// malformed object gets no patch and is refused by the validating webhook with field errors.
import type { Tenant } from "../../crds/index.ts";
import type { WorkloadDefaults } from "../../services/tenant-stack/workload-defaults.ts";
import { TENANT_LABEL, tenantOfNamespace } from "../../crds/domain/index.ts";

/** One RFC 6902 JSON Patch operation (the subset mutations need). */
export type JsonPatchOp =
  | { readonly op: "add" | "replace"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string };

/** What the mutation decides on. */
export interface GPUWorkloadDefaultsInput {
  readonly object: unknown;
  readonly namespace: string;
  readonly tenant: Tenant | undefined;
  /** Defaults of the tenant's plan; undefined when there is no tenant. */
  readonly defaults: WorkloadDefaults | undefined;
}

/** Escapes one JSON Pointer token (RFC 6901): `~` → `~0`, `/` → `~1`. */
export function pointerToken(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The JSON Patch that labels the workload with its tenant and fills in the plan's defaults. */
export function defaultGPUWorkload(input: GPUWorkloadDefaultsInput): JsonPatchOp[] {
  const obj = input.object;
  if (!isObject(obj) || !isObject(obj.metadata)) return [];
  const ops: JsonPatchOp[] = [...tenantLabelOps(obj.metadata, input.namespace)];
  const d = input.defaults;
  if (d === undefined || !isObject(obj.spec)) return ops;
  const spec = obj.spec;
  if (spec.routing === undefined) {
    ops.push({ op: "add", path: "/spec/routing", value: { strategy: d.strategy } });
  } else if (isObject(spec.routing) && spec.routing.strategy === undefined) {
    ops.push({ op: "add", path: "/spec/routing/strategy", value: d.strategy });
  }
  const scalar = (key: "profile" | "priority" | "maxRuntimeSeconds", value: unknown): void => {
    if (spec[key] === undefined) ops.push({ op: "add", path: `/spec/${key}`, value });
  };
  scalar("profile", d.profile);
  scalar("priority", d.priority);
  scalar("maxRuntimeSeconds", d.maxRuntimeSeconds);
  return ops;
}

// The tenant label is set from the namespace, overwriting a wrong value: it must be truthful,
// since quota, billing and NetworkPolicies select on it.
function tenantLabelOps(metadata: Record<string, unknown>, namespace: string): JsonPatchOp[] {
  const tenant = tenantOfNamespace(namespace);
  if (tenant === undefined) return [];
  const labels = metadata.labels;
  if (!isObject(labels)) {
    return [{ op: "add", path: "/metadata/labels", value: { [TENANT_LABEL]: tenant } }];
  }
  if (labels[TENANT_LABEL] === tenant) return [];
  return [{ op: "add", path: `/metadata/labels/${pointerToken(TENANT_LABEL)}`, value: tenant }];
}
