/**
 * The Tenant controller's configuration read from the operator's environment (see
 * docs/tenants.md for the variables). Kept apart from tenant-config.ts, which opens the
 * services: an operator instance that does not run the Tenant controller never loads the
 * Postgres/Redis/Stripe/Discord clients (docs/adr/0025-operator-memory.md).
 */
import {
  DEFAULT_NETWORK_CONFIG,
  type TenantNetworkConfig,
} from "../../../services/tenant-stack/kube/network.ts";
import type { PlanName } from "../../../services/tenant-stack/plans.ts";
import type { BillingConfig } from "../../../services/tenant-stack/stripe/billing.ts";
import type { TenantSettings } from "./tenant-context.ts";

/** Settings read from the environment (see docs/tenants.md for the variables). */
export interface TenantStackConfig {
  /** False when this operator instance does not run the Tenant controller. */
  readonly enabled: boolean;
  readonly tenantSelector?: string | undefined;
  /** Application-role URL of the Arrakis database. */
  readonly databaseUrl?: string | undefined;
  /** Owner URL used to migrate at start (the app role is the user of databaseUrl). */
  readonly databaseMigrateUrl?: string | undefined;
  readonly redisUrl?: string | undefined;
  readonly stripe?:
    | {
        readonly apiKeyFile: string;
        readonly apiBase?: string | undefined;
        readonly billing: BillingConfig;
        readonly webhookSecretFile?: string | undefined;
        readonly webhookAddr?: string | undefined;
      }
    | undefined;
  readonly discord?:
    | {
        readonly tokenFile: string;
        readonly applicationId: string;
        readonly api?: string | undefined;
      }
    | undefined;
  readonly settings: Partial<TenantSettings>;
  /** Concurrent tenant reconciles. @default 4 */
  readonly workers?: number | undefined;
}

const list = (v: string | undefined): string[] =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
const num = (v: string | undefined): number | undefined =>
  v === undefined || v === "" || !Number.isFinite(Number(v)) ? undefined : Number(v);

function networkFromEnv(env: NodeJS.ProcessEnv): TenantNetworkConfig {
  const platform = list(env.VAULTMESH_TENANT_PLATFORM_NAMESPACES);
  const cidrs = env.VAULTMESH_TENANT_CLUSTER_CIDRS;
  return {
    ...DEFAULT_NETWORK_CONFIG,
    ...(platform.length > 0 ? { platformNamespaces: platform } : {}),
    ...(cidrs !== undefined ? { clusterCidrs: list(cidrs) } : {}),
    ...(env.VAULTMESH_TENANT_INTERNET_EGRESS === "false" ? { allowInternetEgress: false } : {}),
  };
}

/** Reads the Tenant controller's configuration from `env`. */
export function tenantStackConfigFromEnv(env: NodeJS.ProcessEnv): TenantStackConfig {
  const selector = env.VAULTMESH_TENANT_SELECTOR || undefined;
  // A namespace-scoped instance (tests, shards) does not manage cluster-scoped Tenants unless
  // it is given its own tenant selector.
  const enabled =
    env.VAULTMESH_TENANT_CONTROLLER !== "false" &&
    (selector !== undefined || !env.VAULTMESH_WATCH_NAMESPACE);
  const prices = JSON.parse(env.VAULTMESH_STRIPE_PLAN_PRICES ?? "{}") as Partial<
    Record<PlanName, string>
  >;
  const grace = num(env.VAULTMESH_TENANT_TEARDOWN_GRACE_MS);
  return {
    enabled,
    workers: num(env.VAULTMESH_TENANT_WORKERS),
    tenantSelector: selector,
    databaseUrl: env.VAULTMESH_TENANT_DB_URL || undefined,
    databaseMigrateUrl: env.VAULTMESH_TENANT_DB_MIGRATE_URL || undefined,
    redisUrl: env.VAULTMESH_REDIS_URL || undefined,
    stripe: env.VAULTMESH_STRIPE_API_KEY_FILE
      ? {
          apiKeyFile: env.VAULTMESH_STRIPE_API_KEY_FILE,
          apiBase: env.VAULTMESH_STRIPE_API_BASE || undefined,
          billing: {
            planPrices: prices,
            ...(env.VAULTMESH_STRIPE_GPU_SECONDS_PRICE
              ? { gpuSecondsPrice: env.VAULTMESH_STRIPE_GPU_SECONDS_PRICE }
              : {}),
            meterEventName: env.VAULTMESH_STRIPE_METER_EVENT ?? "vaultmesh_gpu_seconds",
          },
          webhookSecretFile: env.VAULTMESH_STRIPE_WEBHOOK_SECRET_FILE || undefined,
          webhookAddr: env.VAULTMESH_STRIPE_WEBHOOK_ADDR || undefined,
        }
      : undefined,
    discord:
      env.VAULTMESH_DISCORD_TOKEN_FILE && env.VAULTMESH_DISCORD_APPLICATION_ID
        ? {
            tokenFile: env.VAULTMESH_DISCORD_TOKEN_FILE,
            applicationId: env.VAULTMESH_DISCORD_APPLICATION_ID,
            api: env.VAULTMESH_DISCORD_API || undefined,
          }
        : undefined,
    settings: {
      network: networkFromEnv(env),
      ...(grace !== undefined ? { teardownGraceMs: grace } : {}),
    },
  };
}
