// GPUWorkload admission policy: the schema, then everything that needs the tenant — it exists,
// is Ready and not suspended; the request fits its GPU quota given current usage; regions and
// the pinned treaty are allowed — and the vault-law verdicts of the treaties it may run under.
// A denial lists every reason at once, each naming its field.
import { isDeepStrictEqual } from "node:util";
import {
  GPUWorkloadSchema,
  TENANT_NAMESPACE_PREFIX,
  TenantConditionType,
  type GPUWorkload,
  type GPUWorkloadSpec,
  type Tenant,
  type Treaty,
} from "../../crds/index.ts";
import type { VaultLawVerdict } from "../../services/vault-law/evaluator.ts";
import { findCondition, tenantOfNamespace, type TenantGpuUsage } from "../../crds/domain/index.ts";
import { parseWith, result, type FieldError, type PolicyResult } from "./field-errors.ts";

/** The quota numbers a tenant's plan (with its overrides) grants. */
export interface TenantGpuLimits {
  readonly maxGpus: number;
  readonly maxConcurrentWorkloads: number;
  /** Longest `spec.maxRuntimeSeconds` the plan allows. */
  readonly maxRuntimeSeconds: number;
}

/** One treaty's vault-law verdict for this workload. */
export interface TreatyVaultLawVerdict {
  readonly treaty: string;
  readonly verdict: VaultLawVerdict;
}

/** What the GPUWorkload policy decides on. */
export interface GPUWorkloadPolicyInput {
  readonly object: unknown;
  /** The stored object on UPDATE; undefined on CREATE. */
  readonly oldObject?: unknown;
  /** Namespace of the request. */
  readonly namespace: string;
  /** The tenant owning the namespace, when it exists. */
  readonly tenant: Tenant | undefined;
  /** The tenant's effective limits; undefined when there is no tenant. */
  readonly limits: TenantGpuLimits | undefined;
  /** The tenant's usage, not counting this workload. */
  readonly usage: TenantGpuUsage;
  /** Every Treaty the cache knows. */
  readonly treaties: readonly Treaty[];
  /** vault-law verdicts for the candidates {@link vaultLawCandidates} returned. */
  readonly vaultLaw: readonly TreatyVaultLawVerdict[];
  /** Today's date, `YYYY-MM-DD` (UTC). */
  readonly today: string;
}

/**
 * The treaties whose vault-law must be consulted: the pinned treaty, or else every treaty the
 * workload could statically be routed to (prices its GPU type, serves an allowed region, is
 * allowed by the tenant and the workload, within its price cap, not expired).
 */
export function vaultLawCandidates(
  spec: GPUWorkloadSpec,
  tenant: Tenant | undefined,
  treaties: readonly Treaty[],
  today: string,
): Treaty[] {
  const pinned = spec.routing.treatyRef?.name;
  if (pinned !== undefined) return treaties.filter((t) => t.metadata.name === pinned);
  return treaties.filter((t) => staticMismatches(spec, tenant, t, today).length === 0);
}

/** Validates a GPUWorkload on CREATE or UPDATE. */
export function validateGPUWorkload(input: GPUWorkloadPolicyInput): PolicyResult {
  const tenantName = tenantOfNamespace(input.namespace);
  if (tenantName === undefined) {
    return result([
      {
        field: "metadata.namespace",
        message: `Invalid value: ${JSON.stringify(input.namespace)}: GPUWorkloads live in tenant namespaces (${TENANT_NAMESPACE_PREFIX}<tenant>)`,
      },
    ]);
  }
  const parsed = parseWith(GPUWorkloadSchema, input.object);
  if (parsed.errors) return result(parsed.errors);
  const w = parsed.value;
  if (input.oldObject !== undefined && !specChanged(input.oldObject, input.object)) {
    // Metadata-only updates (finalizers, labels) pass even for a suspended tenant: the operator
    // must be able to clean up.
    return result([]);
  }
  const tenantErrors = tenantStateErrors(tenantName, input.tenant);
  if (tenantErrors.length > 0 || input.tenant === undefined) return result(tenantErrors);
  const creating = input.oldObject === undefined;
  const errors: FieldError[] = [
    ...quotaErrors(w.spec, input, creating),
    ...regionErrors(w.spec, input.tenant),
    ...pinnedTreatyErrors(w.spec, input.tenant, input.treaties, input.today),
  ];
  const vault = vaultLawFindings(w.spec, input);
  return result([...errors, ...vault.errors], [...vault.warnings, ...candidateWarnings(w, input)]);
}

function specChanged(oldObject: unknown, object: unknown): boolean {
  const spec = (o: unknown): unknown => (o as { spec?: unknown } | null)?.spec;
  return !isDeepStrictEqual(spec(oldObject), spec(object));
}

function tenantStateErrors(name: string, tenant: Tenant | undefined): FieldError[] {
  const field = "metadata.namespace";
  if (tenant === undefined) {
    return [{ field, message: `Not found: tenant ${name} does not exist` }];
  }
  if (tenant.spec.suspended) {
    return [{ field, message: `Forbidden: tenant ${name} is suspended` }];
  }
  const ready = findCondition(tenant.status?.conditions, TenantConditionType.Ready);
  if (ready?.status !== "True") {
    const why = ready ? `${ready.reason}: ${ready.message}` : "no Ready condition yet";
    return [{ field, message: `Forbidden: tenant ${name} is not Ready (${why})` }];
  }
  return [];
}

/**
 * The tenant-quota denials of a workload (GPUs, concurrent workloads, runtime) given the
 * tenant's limits and usage; exported for the routing war-game's admission (wargame/).
 */
export function quotaErrors(
  spec: GPUWorkloadSpec,
  input: Pick<GPUWorkloadPolicyInput, "limits" | "usage" | "tenant">,
  creating: boolean,
): FieldError[] {
  const { limits, usage } = input;
  if (limits === undefined) return [];
  const plan = input.tenant?.spec.plan ?? "";
  const tenant = input.tenant?.metadata.name ?? "";
  const errors: FieldError[] = [];
  if (usage.gpusInUse + spec.gpu.count > limits.maxGpus) {
    errors.push({
      field: "spec.gpu.count",
      message: `Forbidden: requests ${spec.gpu.count} GPUs but tenant ${tenant} already uses ${usage.gpusInUse} of its ${limits.maxGpus} (plan ${plan}); ${Math.max(0, limits.maxGpus - usage.gpusInUse)} available`,
    });
  }
  if (creating && usage.activeWorkloads + 1 > limits.maxConcurrentWorkloads) {
    errors.push({
      field: "metadata.name",
      message: `Forbidden: tenant ${tenant} already runs ${usage.activeWorkloads} of its ${limits.maxConcurrentWorkloads} concurrent workloads (plan ${plan})`,
    });
  }
  if (spec.maxRuntimeSeconds !== undefined && spec.maxRuntimeSeconds > limits.maxRuntimeSeconds) {
    errors.push({
      field: "spec.maxRuntimeSeconds",
      message: `Invalid value: ${spec.maxRuntimeSeconds}: plan ${plan} allows at most ${limits.maxRuntimeSeconds} seconds`,
    });
  }
  return errors;
}

function regionErrors(spec: GPUWorkloadSpec, tenant: Tenant): FieldError[] {
  const allowed = tenant.spec.allowedRegions;
  if (allowed === undefined || spec.regions === undefined) return [];
  const errors: FieldError[] = [];
  spec.regions.forEach((r, i) => {
    if (!allowed.includes(r)) {
      errors.push({
        field: `spec.regions[${i}]`,
        message: `Forbidden: region ${r} is not allowed for tenant ${tenant.metadata.name} (allowed: ${allowed.join(", ")})`,
      });
    }
  });
  return errors;
}

function pinnedTreatyErrors(
  spec: GPUWorkloadSpec,
  tenant: Tenant,
  treaties: readonly Treaty[],
  today: string,
): FieldError[] {
  const name = spec.routing.treatyRef?.name;
  if (name === undefined) return [];
  const field = "spec.routing.treatyRef.name";
  const treaty = treaties.find((t) => t.metadata.name === name);
  if (treaty === undefined) return [{ field, message: `Not found: treaty ${name} does not exist` }];
  return staticMismatches(spec, tenant, treaty, today).map((m) => ({
    field,
    message: `Forbidden: treaty ${name} ${m}`,
  }));
}

// Why `treaty` can never serve the workload, whatever its live state: one phrase per reason.
function staticMismatches(
  spec: GPUWorkloadSpec,
  tenant: Tenant | undefined,
  treaty: Treaty,
  today: string,
): string[] {
  const out: string[] = [];
  const name = treaty.metadata.name ?? "";
  const allowedTreaties = tenant?.spec.allowedTreaties;
  if (allowedTreaties !== undefined && !allowedTreaties.includes(name)) {
    out.push(`is not in tenant ${tenant?.metadata.name ?? ""}'s allowedTreaties`);
  }
  const price = treaty.spec.pricing.find((p) => p.gpuType === spec.gpu.type)?.usdPerHour;
  if (price === undefined) out.push(`does not offer GPU type ${spec.gpu.type}`);
  else if (spec.maxPricePerHour !== undefined && price > spec.maxPricePerHour) {
    out.push(
      `prices ${spec.gpu.type} at ${price} USD/h, above maxPricePerHour ${spec.maxPricePerHour}`,
    );
  }
  const regions = regionsFor(spec, tenant);
  if (regions !== undefined && !treaty.spec.regions.some((r) => regions.includes(r))) {
    out.push(`serves none of the regions ${regions.join(", ") || "(none allowed)"}`);
  }
  const providers = spec.routing.allowedProviders;
  if (providers !== undefined && !providers.includes(treaty.spec.provider)) {
    out.push(`has provider ${treaty.spec.provider}, not one of allowedProviders`);
  }
  if (treaty.spec.expiryDate !== undefined && treaty.spec.expiryDate <= today) {
    out.push(`expired on ${treaty.spec.expiryDate}`);
  }
  return out;
}

// The regions the workload may run in: its own list, narrowed by the tenant's allow-list.
function regionsFor(spec: GPUWorkloadSpec, tenant: Tenant | undefined): string[] | undefined {
  const allowed = tenant?.spec.allowedRegions;
  if (spec.regions === undefined) return allowed === undefined ? undefined : [...allowed];
  return allowed === undefined
    ? [...spec.regions]
    : spec.regions.filter((r) => allowed.includes(r));
}

function vaultLawFindings(
  spec: GPUWorkloadSpec,
  input: GPUWorkloadPolicyInput,
): { errors: FieldError[]; warnings: string[] } {
  const pinned = spec.routing.treatyRef?.name;
  const denials = input.vaultLaw.map((v) => ({ treaty: v.treaty, reasons: vaultLawReasons(v) }));
  const denying = denials.filter((d) => d.reasons.length > 0);
  const phrase = (d: { treaty: string; reasons: string[] }): string[] =>
    d.reasons.map((r) => `vault-law of treaty ${d.treaty}: ${r}`);
  if (pinned !== undefined) {
    return {
      errors: denying.flatMap(phrase).map((message) => ({
        field: "spec.routing.treatyRef.name",
        message: `Forbidden: ${message}`,
      })),
      warnings: [],
    };
  }
  const candidates = vaultLawCandidates(spec, input.tenant, input.treaties, input.today);
  if (denying.length > 0 && denying.length === candidates.length) {
    // Every treaty the workload could run under refuses it: nowhere left to route it.
    return {
      errors: denying
        .flatMap(phrase)
        .map((message) => ({ field: "spec", message: `Forbidden: ${message}` })),
      warnings: [],
    };
  }
  return { errors: [], warnings: denying.flatMap(phrase) };
}

function vaultLawReasons(v: TreatyVaultLawVerdict): string[] {
  if (!v.verdict.ok) return [`cannot be evaluated (${v.verdict.error}); refusing`];
  return [...v.verdict.reasons];
}

function candidateWarnings(w: GPUWorkload, input: GPUWorkloadPolicyInput): string[] {
  if (w.spec.routing.treatyRef !== undefined) return [];
  const candidates = vaultLawCandidates(w.spec, input.tenant, input.treaties, input.today);
  if (candidates.length > 0) return [];
  return [
    `no treaty offers ${w.spec.gpu.type} within this workload's regions, providers and price now; it waits until one does`,
  ];
}
