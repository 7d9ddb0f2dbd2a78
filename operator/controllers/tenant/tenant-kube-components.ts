/**
 * The Kubernetes components of a tenant: Namespace (namespace, workload ServiceAccount, owner
 * RBAC), Quota (ResourceQuota, LimitRange) and Network (NetworkPolicies).
 */
import { TenantComponentReason } from "../../../crds/constants.ts";
import { tenantRefOf } from "./tenant-ref.ts";
import { desiredTenantObjects } from "../../../services/tenant-stack/kube/desired.ts";
import { failure, type ComponentResult, type TenantContext } from "./tenant-context.ts";

/** The desired objects of `ctx`'s tenant. */
export function desired(ctx: TenantContext): ReturnType<typeof desiredTenantObjects> {
  return desiredTenantObjects(tenantRefOf(ctx.tenant), ctx.settings.network);
}

/** Namespace: the namespace itself, then the ServiceAccount and the owners' RBAC in it. */
export async function reconcileNamespace(ctx: TenantContext): Promise<ComponentResult> {
  const live = ctx.applier.cached("Namespace", ctx.namespace);
  if (live?.metadata?.deletionTimestamp) {
    // Someone deleted the namespace: wait until it is gone, then it is created afresh.
    return {
      outcome: {
        status: "False",
        reason: TenantComponentReason.NamespaceTerminating,
        message: `namespace ${ctx.namespace} is being deleted; it is recreated once gone`,
      },
      requeueAfterMs: 2000,
    };
  }
  try {
    await ctx.applier.ensureAll(desired(ctx).namespace);
    return {
      outcome: {
        status: "True",
        reason: TenantComponentReason.Provisioned,
        message: `namespace ${ctx.namespace} with its ServiceAccount and owner RBAC`,
      },
      observed: { namespace: ctx.namespace },
    };
  } catch (err) {
    return failure(ctx, TenantComponentReason.ApplyFailed, err);
  }
}

/** Quota: ResourceQuota and LimitRange from the plan and the tenant's overrides. */
export async function reconcileQuota(ctx: TenantContext): Promise<ComponentResult> {
  try {
    await ctx.applier.ensureAll(desired(ctx).quota);
    return {
      outcome: {
        status: "True",
        reason: TenantComponentReason.Enforced,
        message: `ResourceQuota and LimitRange of plan ${ctx.tenant.spec.plan} applied`,
      },
    };
  } catch (err) {
    return failure(ctx, TenantComponentReason.ApplyFailed, err);
  }
}

/** Network: default-deny plus the allowed paths. */
export async function reconcileNetwork(ctx: TenantContext): Promise<ComponentResult> {
  try {
    await ctx.applier.ensureAll(desired(ctx).network);
    return {
      outcome: {
        status: "True",
        reason: TenantComponentReason.Isolated,
        message: "default-deny NetworkPolicies with same-namespace, platform and DNS paths",
      },
    };
  } catch (err) {
    return failure(ctx, TenantComponentReason.ApplyFailed, err);
  }
}

/** The outcome of components that need the namespace while it is not there. */
export function waitingForNamespace(): ComponentResult {
  return {
    outcome: {
      status: "Unknown",
      reason: TenantComponentReason.WaitingForNamespace,
      message: "waiting for the tenant namespace",
    },
  };
}
