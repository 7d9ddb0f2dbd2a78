// Tenant admission policy: the schema and cross-object warnings — allowed treaties that do not
// exist, a plan or quota lowered below what the tenant uses now, and a suspension that is
// about to stop running workloads.
import { TenantSchema, type Tenant } from "../../crds/index.ts";
import { parseWith, result, type PolicyResult } from "./field-errors.ts";
import type { TenantGpuUsage } from "../../crds/domain/index.ts";

/** What the Tenant policy decides on. */
export interface TenantPolicyInput {
  readonly object: unknown;
  /** The stored object on UPDATE; undefined on CREATE. */
  readonly oldObject?: unknown;
  /** Names of the Treaties that exist. */
  readonly treatyNames: ReadonlySet<string>;
  /** The tenant's current usage, when known. */
  readonly usage?: TenantGpuUsage;
  /** The tenant's GPU limit under the submitted spec (plan plus overrides). */
  readonly maxGpus?: number;
}

/** Validates a Tenant on CREATE or UPDATE. */
export function validateTenant(input: TenantPolicyInput): PolicyResult {
  const parsed = parseWith(TenantSchema, input.object);
  if (parsed.errors) return result(parsed.errors);
  const t = parsed.value;
  const warnings: string[] = [];
  (t.spec.allowedTreaties ?? []).forEach((name, i) => {
    if (!input.treatyNames.has(name)) {
      warnings.push(`spec.allowedTreaties[${i}]: treaty ${name} does not exist (yet)`);
    }
  });
  const { usage, maxGpus } = input;
  if (usage !== undefined && maxGpus !== undefined && usage.gpusInUse > maxGpus) {
    warnings.push(
      `tenant ${t.metadata.name ?? ""} uses ${usage.gpusInUse} GPUs, above the new limit of ${maxGpus}; running workloads continue, new ones are refused`,
    );
  }
  if (t.spec.suspended && !wasSuspended(input.oldObject)) {
    warnings.push(
      `suspending tenant ${t.metadata.name ?? ""}: new workloads are refused and running ones are stopped`,
    );
  }
  return result([], warnings);
}

function wasSuspended(old: unknown): boolean {
  return (old as Partial<Tenant> | undefined)?.spec?.suspended === true;
}
