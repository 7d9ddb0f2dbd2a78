/**
 * A private PostgreSQL server for tests, started from Debian's binaries
 * (`/usr/lib/postgresql/<ver>/bin`) on a free 127.0.0.1 port with a temporary data directory.
 *
 *   const pg = await startPostgres();
 *   const db = await pg.createDatabase("ledger");   // one database per test file
 *   ... new pg.Pool({ connectionString: db.url }) ...
 *   await pg.stop();
 *
 * Set `VAULTMESH_TEST_KEEP=1` to keep the data directory and server log after `stop()`.
 * When `VAULTMESH_TEST_PG_URL` is set (a superuser URL of a server someone else started, e.g.
 * a jest global setup), `startPostgres()` uses that server and `stop()` leaves it running.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort, portConflict, startLoggedProcess, waitUntilReady } from "./server-process.ts";

/** A database created for one test file; `url` connects as the superuser. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

/** A running private Postgres server. */
export interface PostgresServer {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** Creates a fresh database named `<prefix>_<random>`. */
  createDatabase(prefix?: string): Promise<TestDatabase>;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
  /**
   * `pg_ctl stop -m immediate`: what a crash, a failover or a dropped connection looks like
   * to clients (issue 10). Only on a server started with `dedicated: true`.
   */
  crash(): Promise<void>;
  /** Starts a crashed server again on the same port and data (crash recovery runs). */
  restart(): Promise<void>;
}

/** Options for {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Extra `-c name=value` server settings. @default {} */
  readonly settings?: Readonly<Record<string, string>>;
  /** How long to wait for readiness. @default 30000 */
  readonly timeoutMs?: number;
  /**
   * A server of this test's own even when VAULTMESH_TEST_PG_URL names a shared one (a test
   * that crashes its server must not take the others' down). @default false
   */
  readonly dedicated?: boolean;
}

/** Finds the newest installed Debian PostgreSQL bin directory, or throws what to install. */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "postgres")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(
      "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: run hack/deps.sh (apt-get install postgresql)",
    );
  }
  return join(root, newest, "bin");
}

function serviceUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  // postgres refuses to run as root; Debian's package creates the `postgres` user.
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const f = line?.split(":");
  if (!f || f[2] === undefined || f[3] === undefined) {
    throw new Error("running as root but there is no 'postgres' user: run hack/deps.sh");
  }
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function chownTree(path: string, user: { uid: number; gid: number } | undefined): void {
  if (!user) return;
  execFileSync("chown", ["-R", `${user.uid}:${user.gid}`, path]);
}

/** initdb once per version and user, then copy: a copy costs ~0.3 s, initdb ~1.5 s. */
function templateDir(bin: string, user: { uid: number; gid: number } | undefined): string {
  const version = bin.split("/").at(-2) ?? "x";
  const tpl = join(tmpdir(), `vaultmesh-pg-template-${version}-${process.getuid?.() ?? 0}`);
  if (existsSync(join(tpl, "PG_VERSION"))) return tpl;
  const work = mkdtempSync(`${tpl}.tmp-`);
  chownTree(work, user);
  const data = join(work, "data");
  try {
    execFileSync(
      join(bin, "initdb"),
      ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "-N"],
      { stdio: "pipe", ...(user ?? {}) },
    );
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`initdb failed: ${e.stderr?.toString().trim() ?? e.message}`);
  }
  try {
    renameSync(data, tpl);
  } catch {
    // Another worker won the race; its template is as good as ours.
  }
  rmSync(work, { recursive: true, force: true });
  return tpl;
}

function sanitize(prefix: string): string {
  const s = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, "_");
  return s.slice(0, 40) || "test";
}

async function query(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** How long {@link dropDatabase} waits for the database's sessions to end on their own. */
const DROP_GRACE_MS = 5_000;

// pg-pool's end() resolves once its clients are told to end, not once their sockets are closed;
// a FORCE drop or a shutdown in that window sends them "terminating connection due to
// administrator command", which an idle client re-emits on a pool with no error listener and
// crashes the test process. So wait (bounded) for the sessions to go first, forcing only
// stragglers. `database` limits the wait to one database's sessions.
async function awaitSessionsGone(c: pg.Client, database?: string): Promise<void> {
  const deadline = Date.now() + DROP_GRACE_MS;
  for (;;) {
    const r = await c.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
          AND ($1::text IS NULL OR datname = $1)`,
      [database ?? null],
    );
    if (Number(r.rows[0]?.n ?? 0) === 0 || Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function withAdmin(adminUrl: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, async (c) => {
    await awaitSessionsGone(c, name);
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

function databaseApi(adminUrl: string): (prefix?: string) => Promise<TestDatabase> {
  return async (prefix = "test") => {
    const name = `${sanitize(prefix)}_${randomBytes(4).toString("hex")}`;
    await query(adminUrl, `CREATE DATABASE "${name}"`);
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    return {
      name,
      url: u.toString(),
      drop: () => dropDatabase(adminUrl, name),
    };
  };
}

/** Starts a private Postgres server (or attaches to `VAULTMESH_TEST_PG_URL`). */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const shared = opts.dedicated ? undefined : process.env.VAULTMESH_TEST_PG_URL;
  if (shared) {
    const notOwn = (): Promise<void> =>
      Promise.reject(new Error("crash/restart need startPostgres({ dedicated: true })"));
    return {
      url: shared,
      port: Number(new URL(shared).port),
      createDatabase: databaseApi(shared),
      stop: async () => {},
      crash: notOwn,
      restart: notOwn,
    };
  }
  const bin = postgresBinDir();
  const user = serviceUser();
  const tpl = templateDir(bin, user);
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-pg-"));
  const data = join(dir, "data");
  execFileSync("cp", ["-a", tpl, data]);
  chownTree(dir, user);
  const settings = { fsync: "on", max_connections: "60", ...opts.settings };
  let lastError: unknown;
  const launch = (port: number, logFile: string): ReturnType<typeof startLoggedProcess> =>
    startLoggedProcess({
      command: join(bin, "postgres"),
      args: [
        ["-D", data, "-p", String(port), "-k", dir, "-h", "127.0.0.1"],
        Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
      ].flat(),
      logFile,
      ...(user ?? {}),
    });
  const ready = (proc: ReturnType<typeof launch>, url: string, port: number): Promise<void> =>
    waitUntilReady(
      proc,
      async () => {
        await query(url, "SELECT 1");
        return true;
      },
      `postgres on port ${port}`,
      opts.timeoutMs,
    );
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const logFile = join(dir, `postgres-${port}.log`);
    let proc = launch(port, logFile);
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    try {
      await ready(proc, url, port);
    } catch (err) {
      lastError = err;
      if (proc.exited() && portConflict(logFile)) continue;
      await proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      url,
      port,
      createDatabase: databaseApi(url),
      async stop() {
        // Clients still closing are let go first (see awaitSessionsGone); a server that is
        // already down is simply stopped.
        await withAdmin(url, (c) => awaitSessionsGone(c)).catch(() => undefined);
        await proc.kill("SIGINT"); // fast shutdown
        // VAULTMESH_TEST_KEEP=1 keeps the data directory and log for post-mortems.
        if (process.env.VAULTMESH_TEST_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
      },
      async crash() {
        execFileSync(join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "immediate", "-w"], {
          stdio: "pipe",
          ...(user ?? {}),
        });
        await proc.kill("SIGKILL", 0); // already gone; reaps the child
      },
      async restart() {
        if (!proc.exited())
          throw new Error(`postgres on port ${port} is running: crash() it first`);
        proc = launch(port, logFile);
        await ready(proc, url, port);
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`postgres: no free port after 5 tries: ${String(lastError)}`);
}

/** Runs `fn` with a fresh database on a private server, then drops it and stops the server. */
export async function withTestDatabase<T>(
  fn: (db: TestDatabase) => Promise<T>,
  prefix = "test",
): Promise<T> {
  const server = await startPostgres();
  try {
    const db = await server.createDatabase(prefix);
    try {
      return await fn(db);
    } finally {
      await db.drop();
    }
  } finally {
    await server.stop();
  }
}

/**
 * Every row of every table in `schema` with its version (`xmin@ctid`): an UPDATE changes both
 * even when it changes no value, INSERT and DELETE change the set. Postgres's own record of
 * writes, for "no writes" assertions that do not trust the code under test to count its own
 * statements. `pool` must see every row (a superuser or the tables' owner without FORCE RLS).
 */
export async function rowVersions(
  pool: pg.Pool,
  schema: string,
): Promise<Record<string, string[]>> {
  const tables = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
    [schema],
  );
  const out: Record<string, string[]> = {};
  for (const { table_name: t } of tables.rows) {
    const rows = await pool.query<{ v: string }>(
      `SELECT xmin::text || '@' || ctid::text AS v FROM "${schema}"."${t}" ORDER BY ctid`,
    );
    out[t] = rows.rows.map((r) => r.v);
  }
  return out;
}
