/**
 * The data components of a tenant: Database (its row in the Arrakis tables under RLS and its
 * hashed API key, the plaintext in a Secret) and Cache (its Redis ACL user, whose password is
 * in a Secret, and its rate limit for the bridge).
 */
import { TenantComponentReason } from "../../../crds/constants.ts";
import { randomBytes } from "node:crypto";
import { effectiveLimits } from "../../../services/tenant-stack/plans.ts";
import { TenantObjectNames } from "../../../services/tenant-stack/kube/names.ts";
import { generateApiKey } from "../../../services/tenant-stack/postgres/api-keys.ts";
import { TenantNameConflictError } from "../../../services/tenant-stack/postgres/tenant-database.ts";
import { redisUser, tenantKeyPrefix } from "../../../services/tenant-stack/redis/tenant-cache.ts";
import { disabled, failure, type ComponentResult, type TenantContext } from "./tenant-context.ts";

/** Keys of the API key Secret. */
export const API_KEY_SECRET_KEY = "apiKey";
/** Keys of the Redis Secret. */
export const REDIS_SECRET_KEYS = {
  username: "username",
  password: "password",
  keyPrefix: "keyPrefix",
};

/**
 * Database: upserts the tenant row (as the application role, under RLS), then makes sure the
 * API key in the tenant's Secret is registered by its hash. `namespaceReady` false defers the
 * key (its Secret lives in the namespace).
 */
export async function reconcileDatabase(
  ctx: TenantContext,
  suspended: boolean,
  namespaceReady: boolean,
): Promise<ComponentResult> {
  const db = ctx.services.database;
  if (!db) return disabled("Postgres (the Arrakis database)");
  try {
    await db.upsertTenant({
      id: ctx.uid,
      name: ctx.name,
      displayName: ctx.tenant.spec.displayName ?? null,
      plan: ctx.tenant.spec.plan,
      suspended,
    });
  } catch (err) {
    if (err instanceof TenantNameConflictError)
      return failure(ctx, TenantComponentReason.NameConflict, err);
    return failure(ctx, TenantComponentReason.DatabaseUnavailable, err);
  }
  if (!namespaceReady) {
    return {
      outcome: {
        status: "Unknown",
        reason: TenantComponentReason.WaitingForNamespace,
        message: "tenant row written; the API key waits for the namespace",
      },
    };
  }
  const ref = { name: TenantObjectNames.apiKeySecret, namespace: ctx.namespace };
  try {
    const data = await ctx.secrets.ensure({
      tenant: ctx.name,
      namespace: ctx.namespace,
      name: ref.name,
      requiredKeys: [API_KEY_SECRET_KEY],
      generate: () => ({ [API_KEY_SECRET_KEY]: generateApiKey().plaintext }),
    });
    const key = data[API_KEY_SECRET_KEY] ?? "";
    ctx.sensitive.add(key);
    await db.ensureApiKey(ctx.uid, key);
  } catch (err) {
    return failure(ctx, TenantComponentReason.ApiKeyFailed, err);
  }
  return {
    outcome: {
      status: "True",
      reason: TenantComponentReason.Provisioned,
      message: `tenant row under row-level security; API key in Secret ${ref.namespace}/${ref.name}`,
    },
    observed: { apiKeySecretRef: ref },
  };
}

/**
 * Cache: the tenant's Redis ACL user (password from its Secret) confined to
 * `tenant:<name>:*`, and its limits (rate, suspension) for the bridge.
 */
export async function reconcileCache(
  ctx: TenantContext,
  suspended: boolean,
  namespaceReady: boolean,
): Promise<ComponentResult> {
  const cache = ctx.services.cache;
  if (!cache) return disabled("Redis");
  try {
    // Limits first: they do not need the namespace, and suspension must reach the bridge.
    const limits = effectiveLimits(ctx.tenant.spec);
    await cache.setLimits(ctx.name, { requestsPerMinute: limits.requestsPerMinute, suspended });
    if (!namespaceReady) {
      return {
        outcome: {
          status: "Unknown",
          reason: TenantComponentReason.WaitingForNamespace,
          message: "limits stored; the ACL user waits for its Secret's namespace",
        },
      };
    }
    const data = await ctx.secrets.ensure({
      tenant: ctx.name,
      namespace: ctx.namespace,
      name: TenantObjectNames.redisSecret,
      requiredKeys: [REDIS_SECRET_KEYS.password],
      generate: () => ({
        [REDIS_SECRET_KEYS.username]: redisUser(ctx.name),
        [REDIS_SECRET_KEYS.password]: randomBytes(32).toString("base64url"),
        [REDIS_SECRET_KEYS.keyPrefix]: tenantKeyPrefix(ctx.name),
      }),
    });
    const password = data[REDIS_SECRET_KEYS.password] ?? "";
    ctx.sensitive.add(password);
    await cache.ensureUser(ctx.name, password);
    return {
      outcome: {
        status: "True",
        reason: TenantComponentReason.Provisioned,
        message: `ACL user ${redisUser(ctx.name)} on keys ${tenantKeyPrefix(ctx.name)}*; ${limits.requestsPerMinute} requests/min`,
      },
    };
  } catch (err) {
    return failure(ctx, TenantComponentReason.CacheUnavailable, err);
  }
}
