// The Arrakis deployment report's Phase 3 RLS check, automated against a real Postgres:
// connected as the application role with tenant A set, tenant B's rows cannot be read,
// updated, deleted or inserted; with no tenant set, nothing at all.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import {
  rowVersions,
  startPostgres,
  type PostgresServer,
  type TestDatabase,
} from "../../../test/harness/postgres.ts";
import { generateApiKey } from "./api-keys.ts";
import { migrate } from "./migrate.ts";
import { ARRAKIS_SCHEMA, MIGRATIONS, TENANT_TABLES } from "./migrations.ts";
import { TenantDatabase, TenantNameConflictError } from "./tenant-database.ts";

const S = ARRAKIS_SCHEMA;
let server: PostgresServer;
let db: TestDatabase;
let admin: pg.Pool;
let app: pg.Pool;
let tdb: TenantDatabase;
const role = `arrakis_app_${randomBytes(4).toString("hex")}`;
const A = randomUUID();
const B = randomUUID();

async function seed(id: string, name: string): Promise<void> {
  await tdb.upsertTenant({ id, name, displayName: name, plan: "pro", suspended: false });
  await tdb.ensureApiKey(id, generateApiKey().plaintext);
  await tdb.audit(id, "test", "seeded");
  await tdb.recordUsageReport(id, `sha256:${name}`, 1.5);
  await tdb.putBillingAccount(id, {
    customerId: `cus_${name}`,
    subscriptionId: `sub_${name}`,
    subscriptionStatus: "active",
    syncedHash: "h",
    syncedAt: new Date(0),
  });
  await tdb.withTenant(id, async (tx) => {
    await tx.query(
      `INSERT INTO ${S}.wallet_scores (tenant_id, wallet, score) VALUES ($1, $2, 42)`,
      [id, `0x${name}`],
    );
    await tx.query(
      `INSERT INTO ${S}.community_members (tenant_id, discord_user_id) VALUES ($1, $2)`,
      [id, `${name}-user`],
    );
  });
}

async function countAsAdmin(table: string, column: string, id: string): Promise<number> {
  const r = await admin.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${S}.${table} WHERE ${column} = $1`,
    [id],
  );
  return Number(r.rows[0]?.n);
}

beforeAll(async () => {
  server = await startPostgres();
  db = await server.createDatabase("tenant_rls");
  admin = new pg.Pool({ connectionString: db.url, max: 2 });
  const first = await migrate(admin, { appRole: role, appPassword: "test-only" });
  expect(first.applied).toEqual(MIGRATIONS.map((m) => m.version));
  const appUrl = new URL(db.url);
  appUrl.username = role;
  appUrl.password = "test-only";
  app = new pg.Pool({ connectionString: appUrl.toString(), max: 2 });
  tdb = new TenantDatabase(app);
  await seed(A, "alpha");
  await seed(B, "bravo");
}, 60_000);

afterAll(async () => {
  await app?.end();
  await admin?.end();
  await db?.drop();
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  await c.query(`DROP ROLE IF EXISTS "${role}"`);
  await c.end();
  await server?.stop();
});

describe("schema", () => {
  it("is idempotent: a second migrate applies nothing", async () => {
    expect((await migrate(admin, { appRole: role })).applied).toEqual([]);
  });

  it("enables and forces RLS on every tenant table; the app role is no owner, superuser or BYPASSRLS", async () => {
    const r = await admin.query<{
      relname: string;
      relrowsecurity: boolean;
      relforcerowsecurity: boolean;
      owner: string;
    }>(
      `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> 'schema_migrations'`,
      [S],
    );
    expect(r.rows.map((x) => x.relname).sort()).toEqual(TENANT_TABLES.map((t) => t.table).sort());
    for (const row of r.rows) {
      expect(row).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
      expect(row.owner).not.toBe(role);
    }
    const roleRow = await admin.query(
      "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1",
      [role],
    );
    expect(roleRow.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
  });

  it("refuses an application role that bypasses RLS", async () => {
    const bypass = `${role}_bypass`;
    await admin.query(`CREATE ROLE "${bypass}" BYPASSRLS`);
    try {
      await expect(migrate(admin, { appRole: bypass })).rejects.toThrow(/BYPASSRLS/);
    } finally {
      await admin.query(`DROP ROLE "${bypass}"`);
    }
  });

  it("refuses an edited migration", async () => {
    const edited = MIGRATIONS.map((m) => ({ ...m, sql: `${m.sql}\n-- edited` }));
    await expect(migrate(admin, { appRole: role, migrations: edited })).rejects.toThrow(
      /differs from the one applied/,
    );
  });
});

// One INSERT per tenant table, each trying to write a row of tenant $1 (B).
const FOREIGN_INSERTS: Record<string, string> = Object.fromEntries([
  ["tenants", `INSERT INTO ${S}.tenants (id, name, plan) VALUES ($1, 'intruder', 'free')`],
  [
    "wallet_scores",
    `INSERT INTO ${S}.wallet_scores (tenant_id, wallet, score) VALUES ($1, '0xevil', 1)`,
  ],
  [
    "community_members",
    `INSERT INTO ${S}.community_members (tenant_id, discord_user_id) VALUES ($1, 'x')`,
  ],
  [
    "api_keys",
    `INSERT INTO ${S}.api_keys (key_id, tenant_id, secret_sha256) VALUES ('k', $1, decode(repeat('00', 32), 'hex'))`,
  ],
  ["audit_log", `INSERT INTO ${S}.audit_log (tenant_id, actor, action) VALUES ($1, 'x', 'y')`],
  [
    "usage_reports",
    `INSERT INTO ${S}.usage_reports (tenant_id, receipt_digest, gpu_hours) VALUES ($1, 'd', 1)`,
  ],
  [
    "billing_accounts",
    `INSERT INTO ${S}.billing_accounts (tenant_id, synced_hash) VALUES ($1, 'h')`,
  ],
]);

describe("row-level security as the application role with tenant A set", () => {
  it.each(TENANT_TABLES)("$table: reads only A's rows, never B's", async ({ table, column }) => {
    const rows = await tdb.withTenant(A, async (tx) => {
      const all = await tx.query<Record<string, string>>(
        `SELECT ${column} AS t FROM ${S}.${table}`,
      );
      const b = await tx.query(`SELECT 1 FROM ${S}.${table} WHERE ${column} = $1`, [B]);
      return { all: all.rows.map((r) => r.t), b: b.rows.length };
    });
    expect(rows.all.length).toBeGreaterThan(0);
    expect(new Set(rows.all)).toEqual(new Set([A]));
    expect(rows.b).toBe(0);
  });

  it.each(TENANT_TABLES)("$table: cannot update or delete B's rows", async ({ table, column }) => {
    const before = await countAsAdmin(table, column, B);
    const set = table === "tenants" ? "name = name" : `${column} = ${column}`;
    const counts = await tdb.withTenant(A, async (tx) => {
      const u = await tx.query(`UPDATE ${S}.${table} SET ${set} WHERE ${column} = $1`, [B]);
      const d = await tx.query(`DELETE FROM ${S}.${table} WHERE ${column} = $1`, [B]);
      return [u.rowCount, d.rowCount];
    });
    expect(counts).toEqual([0, 0]);
    expect(await countAsAdmin(table, column, B)).toBe(before);
  });

  it("cannot move A's rows to B", async () => {
    await expect(
      tdb.withTenant(A, (tx) => tx.query(`UPDATE ${S}.wallet_scores SET tenant_id = $1`, [B])),
    ).rejects.toThrow(/row-level security/);
  });

  it("has a foreign-insert case for every tenant table", () => {
    expect(Object.keys(FOREIGN_INSERTS).sort()).toEqual(TENANT_TABLES.map((t) => t.table).sort());
  });

  it.each(Object.entries(FOREIGN_INSERTS))("%s: cannot insert rows for B", async (_table, sql) => {
    await expect(tdb.withTenant(A, (tx) => tx.query(sql, [B]))).rejects.toThrow(
      /row-level security/,
    );
  });

  it("with no tenant set, sees no row and may insert none", async () => {
    const c = await app.connect();
    try {
      for (const t of TENANT_TABLES) {
        expect((await c.query(`SELECT 1 FROM ${S}.${t.table}`)).rows).toEqual([]);
      }
      await expect(
        c.query(`INSERT INTO ${S}.audit_log (tenant_id, actor, action) VALUES ($1, 'x', 'y')`, [A]),
      ).rejects.toThrow(/row-level security/);
    } finally {
      c.release();
    }
  });
});

describe("tenant operations", () => {
  it("writes nothing when the tenant row is unchanged", async () => {
    const row = { id: A, name: "alpha", displayName: "alpha", plan: "pro", suspended: false };
    // Row versions as Postgres keeps them, not the adapter's own statement counter.
    const before = await rowVersions(admin, S);
    expect(await tdb.upsertTenant(row)).toBe(false);
    expect(await rowVersions(admin, S)).toEqual(before);
    expect(await tdb.upsertTenant({ ...row, plan: "enterprise" })).toBe(true);
    const after = await rowVersions(admin, S);
    expect(after.tenants).not.toEqual(before.tenants);
    expect({ ...after, tenants: before.tenants }).toEqual(before);
  });

  it("stores only the hash of an API key and registers a key once", async () => {
    const key = generateApiKey();
    expect(await tdb.ensureApiKey(A, key.plaintext)).toBe(true);
    expect(await tdb.ensureApiKey(A, key.plaintext)).toBe(false);
    const dump = await admin.query(`SELECT * FROM ${S}.api_keys`);
    expect(JSON.stringify(dump.rows)).not.toContain(key.secret);
    await expect(tdb.ensureApiKey(A, "not-a-key")).rejects.toThrow(/vmk_<id>_<secret>/);
  });

  it("refuses a name held by another tenant's rows", async () => {
    await expect(
      tdb.upsertTenant({
        id: randomUUID(),
        name: "bravo",
        displayName: null,
        plan: "free",
        suspended: false,
      }),
    ).rejects.toBeInstanceOf(TenantNameConflictError);
  });

  it("erases every row of a tenant (GDPR) and leaves the other tenant intact", async () => {
    expect(await tdb.eraseTenant(A)).toBeGreaterThanOrEqual(TENANT_TABLES.length);
    for (const t of TENANT_TABLES) {
      expect(await countAsAdmin(t.table, t.column, A)).toBe(0);
      expect(await countAsAdmin(t.table, t.column, B)).toBeGreaterThan(0);
    }
    expect(await tdb.tenantExists(A)).toBe(false);
    expect(await tdb.eraseTenant(A)).toBe(0);
  });
});
