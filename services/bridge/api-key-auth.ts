/**
 * API-key authentication (ADR 0121): `Authorization: Bearer vmk_<id>_<secret>`. The key id is
 * resolved to its tenant by the one lookup outside row-level security (`arrakis.api_key_tenant`,
 * which returns the tenant id only); the stored SHA-256 is then read under RLS for that tenant
 * alone and compared in constant time. The key never reaches a log, a metric or an error.
 */
import type pg from "pg";
import { TenantDatabase } from "../tenant-stack/postgres/tenant-database.ts";
import { parseApiKey, secretMatches } from "../tenant-stack/postgres/api-keys.ts";
import { ARRAKIS_SCHEMA } from "../tenant-stack/postgres/migrations.ts";
import { ProblemReason, problem, type Problem } from "./problem.ts";

/** What the key store knows of a key id (the hash is compared by {@link authenticate}). */
export interface StoredKey {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly suspended: boolean;
  readonly secretSha256: Buffer;
}

/** Looks up an unrevoked key by id; undefined when there is none. Throws when the store is away. */
export interface KeyStore {
  lookup(keyId: string): Promise<StoredKey | undefined>;
}

/** The authenticated caller. */
export interface Caller {
  readonly tenantId: string;
  readonly tenant: string;
  readonly keyId: string;
}

/** The outcome of {@link authenticate}: a caller, or the problem to answer with. */
export type AuthResult =
  | { readonly ok: true; readonly caller: Caller }
  | { readonly ok: false; readonly problem: Problem };

const unauthenticated = (detail: string): AuthResult => ({
  ok: false,
  problem: problem(401, ProblemReason.Unauthenticated, detail),
});

/**
 * Checks the Authorization header against the store. `suspensionReason` says why a suspended
 * tenant is suspended (from its Tenant's status). Store errors propagate (the caller answers
 * 503). Every refusal names the header, never its value.
 */
export async function authenticate(
  header: string | undefined,
  store: KeyStore,
  suspensionReason: (tenant: string) => string,
): Promise<AuthResult> {
  if (!header) return unauthenticated("header Authorization: expected `Bearer <API key>`");
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const key = m?.[1] ? parseApiKey(m[1]) : undefined;
  if (!key) {
    return unauthenticated("header Authorization: expected `Bearer vmk_<16 hex>_<43 base64url>`");
  }
  const stored = await store.lookup(key.keyId);
  if (!stored || !secretMatches(key.secret, stored.secretSha256)) {
    return unauthenticated("header Authorization: unknown or revoked API key");
  }
  if (stored.suspended) {
    return {
      ok: false,
      problem: problem(
        403,
        ProblemReason.TenantSuspended,
        `tenant ${stored.tenantName} is suspended: ${suspensionReason(stored.tenantName)}`,
      ),
    };
  }
  return {
    ok: true,
    caller: { tenantId: stored.tenantId, tenant: stored.tenantName, keyId: key.keyId },
  };
}

/** The {@link KeyStore} on the Arrakis database, as the application role (never BYPASSRLS). */
export class PostgresKeyStore implements KeyStore {
  readonly #pool: pg.Pool;
  readonly #db: TenantDatabase;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#db = new TenantDatabase(pool);
  }

  async lookup(keyId: string): Promise<StoredKey | undefined> {
    const t = await this.#pool.query<{ t: string | null }>(
      `SELECT ${ARRAKIS_SCHEMA}.api_key_tenant($1) AS t`,
      [keyId],
    );
    const tenantId = t.rows[0]?.t;
    if (!tenantId) return undefined;
    return await this.#db.withTenant(tenantId, async (tx) => {
      const r = await tx.query<{ secret_sha256: Buffer; name: string; suspended: boolean }>(
        `SELECT k.secret_sha256, t.name, t.suspended
           FROM ${ARRAKIS_SCHEMA}.api_keys k JOIN ${ARRAKIS_SCHEMA}.tenants t ON t.id = k.tenant_id
          WHERE k.key_id = $1 AND k.revoked_at IS NULL`,
        [keyId],
      );
      const row = r.rows[0];
      return row
        ? {
            tenantId,
            tenantName: row.name,
            suspended: row.suspended,
            secretSha256: row.secret_sha256,
          }
        : undefined;
    });
  }

  /** Checks the database answers (for /health). */
  async ping(): Promise<void> {
    await this.#pool.query("SELECT 1");
  }
}
