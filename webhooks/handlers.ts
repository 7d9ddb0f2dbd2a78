// Adapters between admission requests and the pure policies: each reads what its policy needs
// from the lookups (tenant, treaties, usage, owner chain, vault-law verdicts), calls the policy
// and turns the PolicyResult into an AdmissionDecision. No rule lives here.
import type { GPUWorkload, Tenant, Treaty } from "../crds/index.ts";
import { tenantGpuUsage, tenantNamespace, tenantOfNamespace } from "../crds/domain/index.ts";
import type { VaultLawEvaluator, VaultLawInput } from "../services/vault-law/evaluator.ts";
import { effectiveLimits } from "../services/tenant-stack/plans.ts";
import { WORKLOAD_DEFAULTS } from "../services/tenant-stack/workload-defaults.ts";
import type { AdmissionDecision, AdmissionRequest } from "./admission.ts";
import type { AdmissionLookups, WebhookConfig } from "./deps.ts";
import type { PolicyResult } from "./policies/field-errors.ts";
import { validateFederationPeer } from "./policies/federationpeer.ts";
import {
  validateGPUWorkload,
  vaultLawCandidates,
  type TenantGpuLimits,
  type TreatyVaultLawVerdict,
} from "./policies/gpuworkload.ts";
import { defaultGPUWorkload } from "./policies/gpuworkload-defaults.ts";
import { guardGpuJob } from "./policies/job.ts";
import { controllerRef, guardGpuPod, podGpuUse, type PodLike } from "./policies/pod.ts";
import { validateReceipt } from "./policies/receipt.ts";
import { validateTenant } from "./policies/tenant.ts";
import { validateTreaty } from "./policies/treaty.ts";
import { GPUWorkloadSchema } from "../crds/index.ts";
import { inPool } from "../services/routing/index.ts";

/** What every handler gets besides the request. */
export interface HandlerContext {
  readonly lookups: AdmissionLookups;
  readonly config: WebhookConfig;
  readonly vaultLaw: VaultLawEvaluator;
  /** The time of the decision. */
  readonly now: Date;
}

/** Turns one admission request into a decision. */
export type AdmissionHandler = (
  req: AdmissionRequest,
  ctx: HandlerContext,
) => Promise<AdmissionDecision>;

/** Maps a policy verdict to an admission decision. */
export function decide(r: PolicyResult): AdmissionDecision {
  return r.errors.length > 0
    ? { allowed: false, errors: r.errors, warnings: r.warnings }
    : { allowed: true, warnings: r.warnings };
}

const today = (now: Date): string => now.toISOString().slice(0, 10);

/** Treaty: the schema, governance, vault-law reference; usage and pool warnings. */
export const treatyHandler: AdmissionHandler = async (req, ctx) => {
  // The status of the stored object is the operator's latest usage figure for the treaty.
  const status = (req.oldObject as Partial<Treaty> | undefined)?.status;
  return decide(
    validateTreaty({
      object: req.object,
      oldObject: req.oldObject ?? undefined,
      usage: status,
      today: today(ctx.now),
      poolGpuTypes: await poolGpuTypes(req.object, ctx),
    }),
  );
};

// The GPU types the nodes selected by an in-cluster treaty carry, with those nodes.
async function poolGpuTypes(
  object: unknown,
  ctx: HandlerContext,
): Promise<Map<string, string[]> | undefined> {
  const pool = (object as Partial<Treaty> | undefined)?.spec?.inCluster;
  if (pool?.nodeSelector === undefined || ctx.lookups.listNodes === undefined) return undefined;
  const out = new Map<string, string[]>();
  for (const n of await ctx.lookups.listNodes()) {
    const labels = n.metadata?.labels ?? {};
    const type = labels[pool.gpuTypeLabel];
    // The pool's membership rule is the router's (services/routing/pool-capacity.ts).
    if (type === undefined || !inPool(labels, pool)) continue;
    out.set(type, [...(out.get(type) ?? []), n.metadata?.name ?? ""]);
  }
  return out;
}

/** Tenant: the schema; warnings for unknown allowed treaties, limits below usage, suspension. */
export const tenantHandler: AdmissionHandler = async (req, ctx) => {
  const treaties = await ctx.lookups.listTreaties();
  const obj = req.object as Partial<Tenant> | undefined;
  const name = obj?.metadata?.name ?? req.name ?? "";
  const workloads = await ctx.lookups.listWorkloads(tenantNamespace(name));
  let maxGpus: number | undefined;
  try {
    maxGpus = obj?.spec ? effectiveLimits(obj.spec).maxGpus : undefined;
  } catch {
    maxGpus = undefined; // an invalid plan is reported by the schema check
  }
  return decide(
    validateTenant({
      object: req.object,
      oldObject: req.oldObject ?? undefined,
      treatyNames: new Set(treaties.map((t) => t.metadata.name ?? "")),
      usage: tenantGpuUsage(workloads),
      maxGpus,
    }),
  );
};

/** Receipt: schema and digest on CREATE, immutable spec on UPDATE, DELETE only by the operator. */
export const receiptHandler: AdmissionHandler = async (req, ctx) =>
  Promise.resolve(
    decide(
      validateReceipt({
        operation: req.operation,
        object: req.object,
        oldObject: req.oldObject,
        username: req.userInfo.username ?? "",
        deleters: [ctx.config.operatorServiceAccount, ...ctx.config.receiptDeleters],
      }),
    ),
  );

/** FederationPeer: the schema, parseable trust-anchor keys and CA bundle. */
export const federationPeerHandler: AdmissionHandler = async (req) =>
  Promise.resolve(decide(validateFederationPeer({ object: req.object })));

async function tenantOf(req: AdmissionRequest, ctx: HandlerContext): Promise<Tenant | undefined> {
  const name = tenantOfNamespace(req.namespace ?? "");
  return name === undefined ? undefined : await ctx.lookups.getTenant(name);
}

/** The tenant's GPU quota limits (its plan with overrides); undefined without a tenant. */
export function limitsOf(tenant: Pick<Tenant, "spec"> | undefined): TenantGpuLimits | undefined {
  if (tenant === undefined) return undefined;
  const limits = effectiveLimits(tenant.spec);
  return {
    maxGpus: limits.maxGpus,
    maxConcurrentWorkloads: limits.maxConcurrentWorkloads,
    maxRuntimeSeconds: WORKLOAD_DEFAULTS[tenant.spec.plan].maxRuntimeSecondsLimit,
  };
}

/** GPUWorkload validation: tenant state, quota, regions, pinned treaty, vault-law. */
export const gpuWorkloadValidateHandler: AdmissionHandler = async (req, ctx) => {
  const namespace = req.namespace ?? "";
  const [tenant, treaties, workloads] = await Promise.all([
    tenantOf(req, ctx),
    ctx.lookups.listTreaties(),
    ctx.lookups.listWorkloads(namespace),
  ]);
  const self = (req.object as Partial<GPUWorkload> | undefined)?.metadata;
  const usage = tenantGpuUsage(
    workloads.filter((w) => w.metadata.name !== self?.name),
    self?.uid,
  );
  const vaultLaw = await vaultLawVerdicts(req, tenant, treaties, ctx);
  return decide(
    validateGPUWorkload({
      object: req.object,
      oldObject: req.oldObject ?? undefined,
      namespace,
      tenant,
      limits: limitsOf(tenant),
      usage,
      treaties,
      vaultLaw,
      today: today(ctx.now),
    }),
  );
};

// Evaluates the vault-law of every treaty the workload could run under. Skipped for objects
// the schema refuses (the policy reports those) and for metadata-only updates.
async function vaultLawVerdicts(
  req: AdmissionRequest,
  tenant: Tenant | undefined,
  treaties: readonly Treaty[],
  ctx: HandlerContext,
): Promise<TreatyVaultLawVerdict[]> {
  if (tenant === undefined) return [];
  const parsed = GPUWorkloadSchema.safeParse(req.object);
  if (!parsed.success) return [];
  const w = parsed.data;
  const candidates = vaultLawCandidates(w.spec, tenant, treaties, today(ctx.now));
  const governed = candidates.filter((t) => t.spec.vaultLaw?.policyRef !== undefined);
  return Promise.all(
    governed.map(async (t) => {
      const vl = t.spec.vaultLaw as { policyRef: string; policyDigest?: string };
      const input: VaultLawInput = {
        workload: {
          namespace: req.namespace ?? "",
          name: w.metadata.name ?? req.name ?? "",
          gpu: w.spec.gpu,
          regions: w.spec.regions,
          maxRuntimeSeconds: w.spec.maxRuntimeSeconds,
          priority: w.spec.priority,
          profile: w.spec.profile,
          maxPricePerHour: w.spec.maxPricePerHour,
        },
        tenant: { name: tenant.metadata.name ?? "", plan: tenant.spec.plan },
        treaty: {
          name: t.metadata.name ?? "",
          provider: t.spec.provider,
          regions: t.spec.regions,
          treatyId: t.spec.treatyId,
        },
      };
      return { treaty: t.metadata.name ?? "", verdict: await ctx.vaultLaw.evaluate(vl, input) };
    }),
  );
}

/** GPUWorkload mutation: tenant label and the plan's defaults. */
export const gpuWorkloadMutateHandler: AdmissionHandler = async (req, ctx) => {
  const tenant = await tenantOf(req, ctx);
  const patch = defaultGPUWorkload({
    object: req.object,
    namespace: req.namespace ?? "",
    tenant,
    defaults: tenant ? WORKLOAD_DEFAULTS[tenant.spec.plan] : undefined,
  });
  return { allowed: true, patch };
};

/** The GPU pod guard: GPU pods only as pods of a GPUWorkload's Job. */
export const gpuPodGuardHandler: AdmissionHandler = async (req, ctx) => {
  const pod = (req.object ?? {}) as PodLike;
  const { gpuResources, gpuTaintKeys } = ctx.config;
  const use = podGpuUse(pod, gpuResources, gpuTaintKeys);
  if (use.gpus === 0 && !use.toleratesGpuTaint) return { allowed: true };
  const namespace = req.namespace ?? "";
  const jobRef = controllerRef(pod.metadata);
  const job =
    jobRef?.kind === "Job" && jobRef.name
      ? await ctx.lookups.getJob(namespace, jobRef.name)
      : undefined;
  const wRef = controllerRef(job?.metadata);
  const workload =
    wRef?.kind === "GPUWorkload" && wRef.name
      ? await ctx.lookups.getWorkload(namespace, wRef.name)
      : undefined;
  const verdict = guardGpuPod({ pod, gpuResources, gpuTaintKeys, job, workload });
  return verdict.denied ? { allowed: false, errors: [verdict.denied] } : { allowed: true };
};

/** The GPU Job guard: GPU Jobs are created and changed only by the operator's identities. */
export const gpuJobGuardHandler: AdmissionHandler = async (req, ctx) =>
  Promise.resolve(
    decide(
      guardGpuJob({
        operation: req.operation,
        job: req.object ?? {},
        oldJob: req.oldObject ?? undefined,
        username: req.userInfo.username ?? "",
        creators: ctx.config.gpuJobCreators,
        gpuResources: ctx.config.gpuResources,
        gpuTaintKeys: ctx.config.gpuTaintKeys,
      }),
    ),
  );
