/**
 * Applies the Arrakis migrations and sets up the application role, in one transaction under an
 * advisory lock (two operator replicas starting together apply each migration once). The
 * application role is checked to be neither superuser nor BYPASSRLS nor owner of the tables,
 * since any of these would silently switch row-level security off for it.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { ARRAKIS_SCHEMA, MIGRATIONS, type Migration } from "./migrations.ts";

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Role the application (operator tenant work, bridge) connects as. @default "arrakis_app" */
  readonly appRole?: string;
  /**
   * When set, the role may log in with this password (otherwise it is created NOLOGIN and the
   * database administrator grants it to a login role). Never logged.
   */
  readonly appPassword?: string;
  /** Migrations to apply. @default MIGRATIONS */
  readonly migrations?: readonly Migration[];
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was current). */
  readonly applied: readonly number[];
  /** Newest version now applied. */
  readonly version: number;
}

const ROLE_RE = /^[a-z_][a-z0-9_]{0,62}$/;
// An arbitrary constant shared by every VaultMesh process that migrates this schema.
const LOCK_KEY = 0x7661_756c; // "vaul"

function checksum(m: Migration): string {
  return createHash("sha256").update(m.sql).digest("hex");
}

async function ensureRole(c: pg.ClientBase, role: string, password?: string): Promise<void> {
  const r = await c.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
    "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1",
    [role],
  );
  const row = r.rows[0];
  if (!row) {
    await c.query(`CREATE ROLE "${role}" NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE`);
  } else if (row.rolsuper || row.rolbypassrls) {
    throw new Error(
      `database.appRole: role ${role} is ${row.rolsuper ? "a superuser" : "BYPASSRLS"}; row-level security would not apply to it — use a plain role`,
    );
  }
  if (password !== undefined) {
    const pgClient = c as pg.Client;
    await c.query(`ALTER ROLE "${role}" LOGIN PASSWORD ${pgClient.escapeLiteral(password)}`);
  }
}

async function grant(c: pg.ClientBase, role: string): Promise<void> {
  const s = ARRAKIS_SCHEMA;
  await c.query(`GRANT USAGE ON SCHEMA ${s} TO "${role}"`);
  await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO "${role}"`);
  await c.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${s} TO "${role}"`);
  await c.query(`REVOKE ALL ON ${s}.schema_migrations FROM "${role}"`);
  await c.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO "${role}"`);
  const owned = await c.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tableowner = $2",
    [s, role],
  );
  if (owned.rows.length > 0) {
    throw new Error(
      `database.appRole: role ${role} owns ${owned.rows.map((r) => r.tablename).join(", ")}; the owner of a table is not the application role`,
    );
  }
}

async function pending(c: pg.ClientBase, all: readonly Migration[]): Promise<Migration[]> {
  const done = await c.query<{ version: number; checksum: string }>(
    `SELECT version, checksum FROM ${ARRAKIS_SCHEMA}.schema_migrations`,
  );
  const applied = new Map(done.rows.map((r) => [r.version, r.checksum]));
  for (const m of all) {
    const sum = applied.get(m.version);
    if (sum !== undefined && sum !== checksum(m)) {
      throw new Error(
        `migration ${m.version} (${m.name}) differs from the one applied; applied migrations are never edited — add a new version`,
      );
    }
  }
  return all.filter((m) => !applied.has(m.version));
}

/** Applies pending migrations and prepares the application role, atomically. */
export async function migrate(pool: pg.Pool, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const role = opts.appRole ?? "arrakis_app";
  if (!ROLE_RE.test(role)) {
    throw new Error(
      `database.appRole: ${JSON.stringify(role)} is not a plain lowercase identifier`,
    );
  }
  const all = [...(opts.migrations ?? MIGRATIONS)].sort((a, b) => a.version - b.version);
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    await c.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${ARRAKIS_SCHEMA}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${ARRAKIS_SCHEMA}.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const todo = await pending(c, all);
    for (const m of todo) {
      await c.query(m.sql);
      await c.query(
        `INSERT INTO ${ARRAKIS_SCHEMA}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
        [m.version, m.name, checksum(m)],
      );
    }
    await ensureRole(c, role, opts.appPassword);
    await grant(c, role);
    await c.query("COMMIT");
    return { applied: todo.map((m) => m.version), version: all.at(-1)?.version ?? 0 };
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
