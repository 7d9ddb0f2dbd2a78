/**
 * Names and labels of everything the Tenant controller creates in Kubernetes. Child names are
 * fixed per tenant (identity from inputs), so a retried apply always lands on the same object.
 */
import { TENANT_LABEL } from "../../../crds/domain/labels.ts";

export { TENANT_LABEL };
export { tenantNamespace } from "../../../crds/domain/tenancy.ts";

/** Field manager of every server-side apply the operator makes. */
export const FIELD_MANAGER = "vaultmesh-operator";

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
  apiBinding: "vaultmesh-tenant-api",
  apiKeySecret: "vaultmesh-api-key",
  redisSecret: "vaultmesh-redis",
} as const;

/** Labels on every object the controller creates for tenant `name`. */
export function tenantLabels(name: string): Record<string, string> {
  return {
    [TENANT_LABEL]: name,
    "app.kubernetes.io/managed-by": MANAGED_BY,
    "app.kubernetes.io/part-of": "vaultmesh",
  };
}

/**
 * The identity the tenant API (services/bridge) impersonates for tenant `name`: a user no
 * person holds and a group bound to the owner Role in the tenant's namespace only (ADR 0121).
 */
export function tenantApiIdentity(name: string): { readonly user: string; readonly group: string } {
  return { user: `vaultmesh:tenant-api:${name}`, group: `vaultmesh:tenant:${name}` };
}
