/**
 * The desired Kubernetes state of a tenant, grouped by the status condition each group
 * reports under: Namespace (namespace, ServiceAccount, owner RBAC), Quota (ResourceQuota,
 * LimitRange) and Network (NetworkPolicies). Objects are listed in apply order.
 */
import {
  buildApiBinding,
  buildNamespace,
  buildOwnerBindings,
  buildOwnerRole,
  buildServiceAccount,
} from "./namespace.ts";
import { buildNetworkPolicies, type TenantNetworkConfig } from "./network.ts";
import { buildLimitRange, buildResourceQuota } from "./quota.ts";
import type { TenantRef } from "./tenant-ref.ts";
import type { WireObject } from "./wire.ts";

/** The tenant's Kubernetes objects by component. */
export interface DesiredTenantObjects {
  readonly namespace: readonly WireObject[];
  readonly quota: readonly WireObject[];
  readonly network: readonly WireObject[];
}

/** Builds every Kubernetes object of a tenant. */
export function desiredTenantObjects(
  t: TenantRef,
  network: TenantNetworkConfig,
): DesiredTenantObjects {
  return {
    namespace: [
      buildNamespace(t),
      buildServiceAccount(t),
      buildOwnerRole(t),
      ...buildOwnerBindings(t),
      buildApiBinding(t),
    ],
    quota: [buildResourceQuota(t), buildLimitRange(t)],
    network: buildNetworkPolicies(t.name, network),
  };
}
