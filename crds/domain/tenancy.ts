/**
 * Tenant identity: tenant `acme` owns namespace `tenant-acme`. The only place that spells the
 * mapping in either direction.
 */
import { TENANT_NAMESPACE_PREFIX } from "../constants.ts";

/** The namespace of tenant `name`: `acme` → `tenant-acme`. */
export function tenantNamespace(name: string): string {
  return `${TENANT_NAMESPACE_PREFIX}${name}`;
}

/** The tenant a namespace belongs to by its name (`tenant-acme` → `acme`), or undefined. */
export function tenantOfNamespace(namespace: string | undefined): string | undefined {
  if (!namespace?.startsWith(TENANT_NAMESPACE_PREFIX)) return undefined;
  const name = namespace.slice(TENANT_NAMESPACE_PREFIX.length);
  return name === "" ? undefined : name;
}
