/** The few Tenant fields the Kubernetes builders need. */
import type { TenantSpec } from "../../../crds/index.ts";

/** A Tenant as the builders see it: its name and uid (for owner references) and its spec. */
export interface TenantRef {
  readonly name: string;
  readonly uid: string;
  readonly spec: Pick<TenantSpec, "plan" | "quotas" | "rateLimit" | "owners">;
}
