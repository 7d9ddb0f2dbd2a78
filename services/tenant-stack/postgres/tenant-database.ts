/**
 * The operator's access to the Arrakis tenant tables. Every statement runs as the application
 * role inside a transaction that sets `app.current_tenant_id` first, so row-level security
 * confines it to one tenant: the operator needs no RLS bypass for tenant work. Reads come
 * before writes, so an unchanged tenant costs no write. Counts statements (for tests and
 * metrics).
 */
import pg from "pg";
import { hashSecret, parseApiKey } from "./api-keys.ts";
import { ARRAKIS_SCHEMA, TENANT_TABLES } from "./migrations.ts";

const S = ARRAKIS_SCHEMA;

/** The tenant row as the operator keeps it. */
export interface TenantRow {
  /** The Tenant's metadata.uid. */
  readonly id: string;
  readonly name: string;
  readonly displayName: string | null;
  readonly plan: string;
  readonly suspended: boolean;
}

/** The tenant's Stripe objects and the hash of the inputs they were last synced from. */
export interface BillingAccount {
  readonly customerId: string | null;
  readonly subscriptionId: string | null;
  readonly subscriptionStatus: string | null;
  readonly syncedHash: string;
  readonly syncedAt: Date;
}

/** Thrown when another tenant (another uid) already holds the name. */
export class TenantNameConflictError extends Error {
  override readonly name = "TenantNameConflictError";
}

/** Statement counters. */
export interface DatabaseCounters {
  statements: number;
  writes: number;
}

/** A transaction-scoped client confined to one tenant. */
export type TenantTx = Pick<pg.ClientBase, "query">;

/** Tenant-scoped operations on the Arrakis database. */
export class TenantDatabase {
  /** Statements issued (every query) and writes (INSERT/UPDATE/DELETE) since construction. */
  readonly counters: DatabaseCounters = { statements: 0, writes: 0 };
  readonly #pool: pg.Pool;

  /** `pool` connects as the application role (never a superuser or BYPASSRLS role). */
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Runs `fn` in a transaction with `app.current_tenant_id` set to `tenantId`. */
  async withTenant<T>(tenantId: string, fn: (tx: TenantTx) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    const counted: TenantTx = {
      query: ((text: string, values?: unknown[]) => {
        this.counters.statements++;
        if (/^\s*(INSERT|UPDATE|DELETE)\b/i.test(text)) this.counters.writes++;
        return c.query(text, values);
      }) as TenantTx["query"],
    };
    try {
      await c.query("BEGIN");
      await c.query("SELECT set_config('app.current_tenant_id', $1, true)", [tenantId]);
      const out = await fn(counted);
      await c.query("COMMIT");
      return out;
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  /** Inserts or updates the tenant row; returns whether anything was written. */
  async upsertTenant(row: TenantRow): Promise<boolean> {
    return await this.withTenant(row.id, async (tx) => {
      const cur = await tx.query<TenantRow>(
        `SELECT id, name, display_name AS "displayName", plan, suspended FROM ${S}.tenants WHERE id = $1`,
        [row.id],
      );
      const c = cur.rows[0];
      if (
        c &&
        c.name === row.name &&
        c.displayName === row.displayName &&
        c.plan === row.plan &&
        c.suspended === row.suspended
      ) {
        return false;
      }
      try {
        await tx.query(
          `INSERT INTO ${S}.tenants (id, name, display_name, plan, suspended) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, display_name = EXCLUDED.display_name,
             plan = EXCLUDED.plan, suspended = EXCLUDED.suspended, updated_at = now()`,
          [row.id, row.name, row.displayName, row.plan, row.suspended],
        );
      } catch (err) {
        if ((err as { code?: string; constraint?: string }).constraint === "tenants_name_key") {
          throw new TenantNameConflictError(
            `tenant name ${row.name} is held by another tenant's rows (an earlier tenant of that name not yet erased)`,
          );
        }
        throw err;
      }
      return true;
    });
  }

  /**
   * Makes sure the API key in `plaintext` (read from the tenant's Secret) is registered,
   * storing only its hash; returns whether a row was written. Throws on a malformed key
   * without echoing it.
   */
  async ensureApiKey(tenantId: string, plaintext: string): Promise<boolean> {
    const key = parseApiKey(plaintext);
    if (!key) throw new Error("api key: the Secret does not hold a vmk_<id>_<secret> key");
    const hash = hashSecret(key.secret);
    return await this.withTenant(tenantId, async (tx) => {
      const cur = await tx.query<{ secret_sha256: Buffer; revoked_at: Date | null }>(
        `SELECT secret_sha256, revoked_at FROM ${S}.api_keys WHERE key_id = $1`,
        [key.keyId],
      );
      const c = cur.rows[0];
      if (c && c.revoked_at === null && c.secret_sha256.equals(hash)) return false;
      await tx.query(
        `INSERT INTO ${S}.api_keys (key_id, tenant_id, secret_sha256) VALUES ($1, $2, $3)
         ON CONFLICT (key_id) DO UPDATE SET secret_sha256 = EXCLUDED.secret_sha256, revoked_at = NULL`,
        [key.keyId, tenantId, hash],
      );
      return true;
    });
  }

  /** Appends an audit entry for the tenant. */
  async audit(tenantId: string, actor: string, action: string, detail: object = {}): Promise<void> {
    await this.withTenant(tenantId, async (tx) => {
      await tx.query(
        `INSERT INTO ${S}.audit_log (tenant_id, actor, action, detail) VALUES ($1, $2, $3, $4)`,
        [tenantId, actor, action, JSON.stringify(detail)],
      );
    });
  }

  /** Digests of the usage receipts already reported to billing for the tenant. */
  async reportedUsage(tenantId: string): Promise<Set<string>> {
    return await this.withTenant(tenantId, async (tx) => {
      const r = await tx.query<{ receipt_digest: string }>(
        `SELECT receipt_digest FROM ${S}.usage_reports`,
      );
      return new Set(r.rows.map((x) => x.receipt_digest));
    });
  }

  /** Records that a usage receipt was reported to billing (idempotent). */
  async recordUsageReport(tenantId: string, digest: string, gpuHours: number): Promise<void> {
    await this.withTenant(tenantId, async (tx) => {
      await tx.query(
        `INSERT INTO ${S}.usage_reports (tenant_id, receipt_digest, gpu_hours) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING`,
        [tenantId, digest, gpuHours],
      );
    });
  }

  /** The tenant's billing account row, or undefined. */
  async getBillingAccount(tenantId: string): Promise<BillingAccount | undefined> {
    return await this.withTenant(tenantId, async (tx) => {
      const r = await tx.query<BillingAccount>(
        `SELECT stripe_customer_id AS "customerId", stripe_subscription_id AS "subscriptionId",
           subscription_status AS "subscriptionStatus", synced_hash AS "syncedHash", synced_at AS "syncedAt"
         FROM ${S}.billing_accounts WHERE tenant_id = $1`,
        [tenantId],
      );
      return r.rows[0];
    });
  }

  /** Stores the tenant's billing account row (the tenant row must exist). */
  async putBillingAccount(tenantId: string, a: BillingAccount): Promise<void> {
    await this.withTenant(tenantId, async (tx) => {
      await tx.query(
        `INSERT INTO ${S}.billing_accounts (tenant_id, stripe_customer_id, stripe_subscription_id,
           subscription_status, synced_hash, synced_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id) DO UPDATE SET stripe_customer_id = EXCLUDED.stripe_customer_id,
           stripe_subscription_id = EXCLUDED.stripe_subscription_id,
           subscription_status = EXCLUDED.subscription_status, synced_hash = EXCLUDED.synced_hash,
           synced_at = EXCLUDED.synced_at`,
        [tenantId, a.customerId, a.subscriptionId, a.subscriptionStatus, a.syncedHash, a.syncedAt],
      );
    });
  }

  /** True when any row of the tenant remains in any tenant table. */
  async tenantExists(tenantId: string): Promise<boolean> {
    return await this.withTenant(tenantId, async (tx) => {
      for (const t of TENANT_TABLES) {
        const r = await tx.query(`SELECT 1 FROM ${S}.${t.table} LIMIT 1`);
        if (r.rows.length > 0) return true;
      }
      return false;
    });
  }

  /**
   * Erases every row of the tenant from every tenant table (GDPR erasure), children first;
   * returns the number of rows deleted. Idempotent: a second call deletes nothing.
   */
  async eraseTenant(tenantId: string): Promise<number> {
    return await this.withTenant(tenantId, async (tx) => {
      let n = 0;
      for (const t of TENANT_TABLES) {
        const r = await tx.query(`DELETE FROM ${S}.${t.table} WHERE ${t.column} = $1`, [tenantId]);
        n += r.rowCount ?? 0;
      }
      return n;
    });
  }
}
