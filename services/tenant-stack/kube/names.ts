/**
 * Names and labels of everything the Tenant controller creates in Kubernetes. Child names are
 * fixed per tenant (identity from inputs), so a retried apply always lands on the same object.
 */
import { TENANT_NAMESPACE_PREFIX } from "../../../crds/constants.ts";

/** Field manager of every server-side apply the operator makes. */
export const FIELD_MANAGER = "vaultmesh-operator";

/** Label carrying the tenant's name on its namespace and every child. */
export const TENANT_LABEL = "vaultmesh.cloud/tenant";
/** Standard managed-by label value. */
export const MANAGED_BY = "vaultmesh-operator";
/** Finalizer that holds a Tenant until its stack is torn down. */
export const TENANT_FINALIZER = "vaultmesh.cloud/tenant-teardown";

/** Names of the tenant's namespaced children. */
export const TenantObjectNames = {
  resourceQuota: "tenant-quota",
  limitRange: "tenant-limits",
  denyAll: "vaultmesh-default-deny",
  allowIngress: "vaultmesh-allow-ingress",
  allowEgress: "vaultmesh-allow-egress",
  serviceAccount: "tenant-workload",
  ownerRole: "vaultmesh-tenant-owner",
  adminBinding: "vaultmesh-tenant-admin",
  ownerBinding: "vaultmesh-tenant-owner",
  apiKeySecret: "vaultmesh-api-key",
  redisSecret: "vaultmesh-redis",
} as const;

/** The namespace of tenant `name`: `tenant-<name>`. */
export function tenantNamespace(name: string): string {
  return `${TENANT_NAMESPACE_PREFIX}${name}`;
}

/** Labels on every object the controller creates for tenant `name`. */
export function tenantLabels(name: string): Record<string, string> {
  return {
    [TENANT_LABEL]: name,
    "app.kubernetes.io/managed-by": MANAGED_BY,
    "app.kubernetes.io/part-of": "vaultmesh",
  };
}
