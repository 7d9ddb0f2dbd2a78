/**
 * Versioned migrations of the Arrakis tenant schema. Every tenant-scoped table has row-level
 * security enabled AND forced (so even the table owner is filtered unless it is a superuser or
 * BYPASSRLS) and one policy comparing its tenant column with the session setting
 * `app.current_tenant_id`, as in the Arrakis deployment report's Phase 3. An unset or empty
 * setting matches no row: the schema fails closed. Applied migrations are never edited; a
 * change is a new version.
 */

/** One migration: a version, a name and the SQL run in one transaction. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The schema the tables live in (the ledger and others may share the database). */
export const ARRAKIS_SCHEMA = "arrakis";

/** The tenant id of the current transaction, NULL when unset (so every comparison is false). */
const CURRENT_TENANT = "NULLIF(current_setting('app.current_tenant_id', true), '')::uuid";

/** SQL enabling and forcing RLS on a table with one isolation policy on `column`. */
export function rlsSql(table: string, column: string): string {
  const t = `${ARRAKIS_SCHEMA}.${table}`;
  return `
ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;
ALTER TABLE ${t} FORCE ROW LEVEL SECURITY;
CREATE POLICY ${table}_isolation ON ${t}
  USING (${column} = ${CURRENT_TENANT})
  WITH CHECK (${column} = ${CURRENT_TENANT});`;
}

/** A tenant-scoped table and the column holding its tenant id. */
export interface TenantTable {
  readonly table: string;
  readonly column: string;
}

// The tables of version 1, frozen: migration 1's SQL must never change.
const V1_TABLES: readonly TenantTable[] = [
  { table: "usage_reports", column: "tenant_id" },
  { table: "audit_log", column: "tenant_id" },
  { table: "api_keys", column: "tenant_id" },
  { table: "community_members", column: "tenant_id" },
  { table: "wallet_scores", column: "tenant_id" },
  { table: "tenants", column: "id" },
];

/** Every tenant-scoped table, in erase order (children before parents). */
export const TENANT_TABLES: readonly TenantTable[] = [
  { table: "billing_accounts", column: "tenant_id" },
  { table: "usage_reports", column: "tenant_id" },
  { table: "audit_log", column: "tenant_id" },
  { table: "api_keys", column: "tenant_id" },
  { table: "community_members", column: "tenant_id" },
  { table: "wallet_scores", column: "tenant_id" },
  { table: "tenants", column: "id" },
];

/** Every migration, in version order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "tenants, wallet scores, members, api keys, audit log, usage reports; RLS",
    sql: `
CREATE TABLE ${ARRAKIS_SCHEMA}.tenants (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'),
  display_name text,
  plan text NOT NULL,
  suspended boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ${ARRAKIS_SCHEMA}.wallet_scores (
  tenant_id uuid NOT NULL REFERENCES ${ARRAKIS_SCHEMA}.tenants (id) ON DELETE CASCADE,
  wallet text NOT NULL,
  score numeric NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, wallet)
);
CREATE TABLE ${ARRAKIS_SCHEMA}.community_members (
  tenant_id uuid NOT NULL REFERENCES ${ARRAKIS_SCHEMA}.tenants (id) ON DELETE CASCADE,
  discord_user_id text NOT NULL,
  wallet text,
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, discord_user_id)
);
CREATE TABLE ${ARRAKIS_SCHEMA}.api_keys (
  key_id text PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES ${ARRAKIS_SCHEMA}.tenants (id) ON DELETE CASCADE,
  secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_keys_tenant ON ${ARRAKIS_SCHEMA}.api_keys (tenant_id);
CREATE TABLE ${ARRAKIS_SCHEMA}.audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES ${ARRAKIS_SCHEMA}.tenants (id) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_at ON ${ARRAKIS_SCHEMA}.audit_log (tenant_id, at);
CREATE TABLE ${ARRAKIS_SCHEMA}.usage_reports (
  tenant_id uuid NOT NULL REFERENCES ${ARRAKIS_SCHEMA}.tenants (id) ON DELETE CASCADE,
  receipt_digest text NOT NULL,
  gpu_hours numeric NOT NULL CHECK (gpu_hours >= 0),
  reported_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, receipt_digest)
);
${V1_TABLES.map((t) => rlsSql(t.table, t.column)).join("\n")}
`,
  },
  {
    version: 2,
    name: "billing accounts: the Stripe objects of a tenant and what was last synced",
    sql: `
CREATE TABLE ${ARRAKIS_SCHEMA}.billing_accounts (
  tenant_id uuid PRIMARY KEY REFERENCES ${ARRAKIS_SCHEMA}.tenants (id) ON DELETE CASCADE,
  stripe_customer_id text,
  stripe_subscription_id text,
  subscription_status text,
  synced_hash text NOT NULL,
  synced_at timestamptz NOT NULL DEFAULT now()
);
${rlsSql("billing_accounts", "tenant_id")}
`,
  },
  {
    version: 3,
    name: "api_key_tenant(): the one lookup outside RLS, an API key id to its tenant (ADR 0121)",
    // SECURITY DEFINER runs as the migrating role (a superuser or BYPASSRLS administrator), so
    // it sees every api_keys row; it returns only the tenant id of an unrevoked key, never the
    // hash. The bridge then reads the hash under RLS for that tenant alone. EXECUTE is granted
    // to the application role by migrate().
    sql: `
CREATE FUNCTION ${ARRAKIS_SCHEMA}.api_key_tenant(p_key_id text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT tenant_id FROM ${ARRAKIS_SCHEMA}.api_keys WHERE key_id = p_key_id AND revoked_at IS NULL $$;
REVOKE ALL ON FUNCTION ${ARRAKIS_SCHEMA}.api_key_tenant(text) FROM PUBLIC;
`,
  },
];
