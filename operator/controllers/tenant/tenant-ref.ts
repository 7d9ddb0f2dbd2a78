/** Adapts a Tenant object to the builders' input. */
import type { Tenant } from "../../../crds/index.ts";
import type { TenantRef } from "../../../services/tenant-stack/kube/tenant-ref.ts";

/** The builders' view of a Tenant. */
export function tenantRefOf(t: Tenant): TenantRef {
  return { name: t.metadata.name ?? "", uid: t.metadata.uid ?? "", spec: t.spec };
}
