// Treaty admission policy: the zod schema (the CRD's own source) plus the rules the CRD cannot
// express: governance for external providers, a resolvable vault-law reference, and warnings
// when an update lowers a quota below what the treaty already uses.
import {
  IN_CLUSTER_PROVIDER,
  TreatySchema,
  type Treaty,
  type TreatyStatus,
} from "../../crds/index.ts";
import { parseVaultLawRef } from "../../services/vault-law/policy-ref.ts";
import { parseWith, result, type FieldError, type PolicyResult } from "./field-errors.ts";

/** What the Treaty policy decides on. */
export interface TreatyPolicyInput {
  /** The object as submitted (unparsed). */
  readonly object: unknown;
  /** The stored object on UPDATE; undefined on CREATE. */
  readonly oldObject?: unknown;
  /** Current usage of the treaty (from its status, which the operator recomputes). */
  readonly usage?: Pick<TreatyStatus, "activeJobs" | "gpuHoursThisPeriod">;
  /** Today's date, `YYYY-MM-DD` (UTC), for the already-expired warning. */
  readonly today: string;
  /**
   * For an in-cluster treaty: the GPU types the nodes of its pool carry, each with the nodes
   * that carry it (nodes matching `inCluster.nodeSelector`, by `inCluster.gpuTypeLabel`).
   * Undefined when unknown.
   */
  readonly poolGpuTypes?: ReadonlyMap<string, readonly string[]>;
}

/** Validates a Treaty on CREATE or UPDATE: field errors deny, warnings are shown by kubectl. */
export function validateTreaty(input: TreatyPolicyInput): PolicyResult {
  const parsed = parseWith(TreatySchema, input.object);
  if (parsed.errors) return result(parsed.errors);
  const treaty = parsed.value;
  const errors = [...governanceErrors(treaty), ...vaultLawRefErrors(treaty)];
  const warnings = [
    ...endpointWarnings(treaty),
    ...quotaWarnings(treaty, input.usage),
    ...expiryWarnings(treaty, input.today, input.oldObject === undefined),
    ...poolWarnings(treaty, input.poolGpuTypes),
  ];
  return result(errors, warnings);
}

function governanceErrors(t: Treaty): FieldError[] {
  if (t.spec.provider === IN_CLUSTER_PROVIDER || t.spec.vaultLaw?.governance) return [];
  return [
    {
      field: "spec.vaultLaw.governance",
      message: `Required value: external provider ${t.spec.provider} needs a governance reference (the decision that approved the treaty, e.g. "DAO vote #AKASH-001")`,
    },
  ];
}

function vaultLawRefErrors(t: Treaty): FieldError[] {
  const ref = t.spec.vaultLaw?.policyRef;
  if (ref === undefined) return [];
  const parsed = parseVaultLawRef(ref);
  return parsed.error === undefined
    ? []
    : [{ field: "spec.vaultLaw.policyRef", message: `Invalid value: ${parsed.error}` }];
}

function endpointWarnings(t: Treaty): string[] {
  const out: string[] = [];
  if (t.spec.provider !== IN_CLUSTER_PROVIDER && t.spec.endpoint === undefined) {
    out.push(
      `spec.endpoint is not set: workloads routed to external provider ${t.spec.provider} cannot be deployed`,
    );
  }
  const ref = t.spec.vaultLaw?.policyRef;
  if (ref !== undefined && parseVaultLawRef(ref).kind === "external") {
    out.push(
      `spec.vaultLaw.policyRef ${ref} is not a configmap:// reference; admission cannot load it, so workloads are not admitted under this treaty`,
    );
  }
  return out;
}

function quotaWarnings(t: Treaty, usage: TreatyPolicyInput["usage"]): string[] {
  const out: string[] = [];
  const q = t.spec.quotas;
  if (q === undefined || usage === undefined) return out;
  if (
    q.maxConcurrentJobs !== undefined &&
    usage.activeJobs !== undefined &&
    q.maxConcurrentJobs < usage.activeJobs
  ) {
    out.push(
      `spec.quotas.maxConcurrentJobs ${q.maxConcurrentJobs} is below the ${usage.activeJobs} jobs running now; running jobs continue, no new ones start until usage drops`,
    );
  }
  if (
    q.maxGpuHoursPerMonth !== undefined &&
    usage.gpuHoursThisPeriod !== undefined &&
    q.maxGpuHoursPerMonth < usage.gpuHoursThisPeriod
  ) {
    out.push(
      `spec.quotas.maxGpuHoursPerMonth ${q.maxGpuHoursPerMonth} is below the ${round(usage.gpuHoursThisPeriod)} GPU-hours used this month; no new workloads are routed here until next month`,
    );
  }
  return out;
}

function expiryWarnings(t: Treaty, today: string, creating: boolean): string[] {
  const expiry = t.spec.expiryDate;
  if (!creating || expiry === undefined || expiry > today) return [];
  return [`spec.expiryDate ${expiry} is not after today (${today}): the treaty is already expired`];
}

// Pricing must cover what the pool offers, and what is priced should exist in the pool. Nodes
// come and go, so these are warnings, not denials.
function poolWarnings(t: Treaty, pool: TreatyPolicyInput["poolGpuTypes"]): string[] {
  if (t.spec.inCluster === undefined || pool === undefined) return [];
  if (pool.size === 0) {
    return ["spec.inCluster.nodeSelector matches no node with a GPU type label: the pool is empty"];
  }
  const priced = new Set(t.spec.pricing.map((p) => p.gpuType));
  const out: string[] = [];
  for (const [type, nodes] of pool) {
    if (priced.has(type as never)) continue;
    const some = nodes.slice(0, 3).join(", ") + (nodes.length > 3 ? ", …" : "");
    out.push(
      `spec.pricing has no price for ${type}, which nodes ${some} of the pool offer: no workload runs on them`,
    );
  }
  t.spec.pricing.forEach((p, i) => {
    if (!pool.has(p.gpuType)) {
      out.push(
        `spec.pricing[${i}]: no node of the pool offers ${p.gpuType} (label ${t.spec.inCluster?.gpuTypeLabel ?? ""})`,
      );
    }
  });
  return out;
}

const round = (n: number): number => Math.round(n * 100) / 100;
