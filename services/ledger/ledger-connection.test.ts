// The ledger connection across a real Postgres crash (`pg_ctl stop -m immediate`): the process
// survives, calls fail with DependencyUnavailableError while the server is away, a ledger
// whose database is away at start opens when it returns, and a retried append lands once.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import pg from "pg";
import { pino } from "pino";
import {
  startPostgres,
  type PostgresServer,
  type TestDatabase,
} from "../../test/harness/postgres.ts";
import {
  DependencyHealth,
  DependencyUnavailableError,
  guardPgPool,
  type DependencyReporter,
} from "../dependency-health/index.ts";
import { fixedClock, systemClock } from "./clock.ts";
import { ed25519Signer, generateEd25519 } from "./ed25519.ts";
import { Ledger } from "./ledger.ts";
import { LedgerConnection } from "./ledger-connection.ts";
import { buildProofApi } from "./proof-api.ts";

jest.setTimeout(60_000);

const logger = pino({ level: "silent" });
const signer = ed25519Signer(generateEd25519().privateKeyPem);
let server: PostgresServer;
let db: TestDatabase;

beforeAll(async () => {
  server = await startPostgres({ dedicated: true });
  db = await server.createDatabase("ledger_conn");
});
afterAll(async () => {
  await server.stop();
});

const input = (n: number): Parameters<LedgerConnection["append"]>[0] => ({
  type: "WorkloadCompleted",
  subject: { kind: "GPUWorkload", namespace: "t", name: `w-${n}`, uid: `uid-${n}` },
  payload: { attempt: 1, outcome: "Succeeded", gpuSeconds: n },
});

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function connect(dep: DependencyReporter): { conn: LedgerConnection; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: db.url, max: 3, connectionTimeoutMillis: 2000 });
  const conn = LedgerConnection.start({
    pool,
    clock: fixedClock("2026-05-01T00:00:00Z", 1),
    logger,
    signer,
    dependency: dep,
    probeIntervalMs: 60_000,
    downProbeIntervalMs: 200,
  });
  return { conn, pool };
}

describe("LedgerConnection", () => {
  it("survives an immediate stop, reports the outage, and appends once after the restart", async () => {
    const health = new DependencyHealth({ clock: systemClock, logger });
    const dep = health.register("ledger-postgres");
    const { conn, pool } = connect(dep);
    try {
      const first = await conn.append(input(1));
      // Idle connections in the pool and one checked out, as during a busy operator's append.
      const held = await pool.connect();
      await server.crash();
      const err = await conn.append(input(2)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DependencyUnavailableError);
      expect((err as DependencyUnavailableError).dependency).toBe("ledger-postgres");
      expect(dep.status().state).toBe("Down");
      held.release(new Error("connection lost"));

      await server.restart();
      const second = await until("the ledger to answer again", () => conn.append(input(2)));
      expect(second.existing).toBe(false);
      expect(second.entry.logIndex).toBe(first.entry.logIndex + 1);
      // The same completion retried after a lost reply is found, not appended again.
      expect((await conn.append(input(2))).existing).toBe(true);
      expect(dep.status().state).toBe("Up");
      const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM ledger_entries");
      expect(Number(rows[0]?.n)).toBe(2);
    } finally {
      conn.stop();
      await pool.end();
    }
  });

  it("starts while the database is away and opens when it returns", async () => {
    await server.crash();
    const health = new DependencyHealth({ clock: systemClock, logger });
    const dep = health.register("ledger-postgres");
    const { conn, pool } = connect(dep);
    try {
      const err = await conn.append(input(3)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DependencyUnavailableError);
      expect(conn.opened).toBe(false);
      await until("the probe to report the outage", () =>
        Promise.resolve(dep.status().state === "Down" ? true : undefined),
      );
      await server.restart();
      await until("the probe to open the ledger", () =>
        Promise.resolve(conn.opened ? true : undefined),
      );
      expect((await conn.append(input(3))).existing).toBe(false);
    } finally {
      conn.stop();
      await pool.end();
    }
  });
});

describe("the proof API while its database is away", () => {
  it("answers 503 with Retry-After, /readyz says why, /healthz stays ok", async () => {
    const health = new DependencyHealth({ clock: systemClock, logger });
    const dep = health.register("ledger-postgres", { required: true });
    const pool = guardPgPool(new pg.Pool({ connectionString: db.url, max: 2 }), dep);
    const ledger = await Ledger.open({ pool, clock: systemClock, logger, signer });
    const app = buildProofApi({ ledger, health });
    try {
      expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
      await server.crash();
      const r = await app.inject({ url: "/v1/tree-head" });
      expect(r.statusCode).toBe(503);
      expect(r.headers["retry-after"]).toBe("5");
      expect(r.json<{ error: string }>().error).toMatch(/^ledger database unavailable: /);
      // The pool's guard saw its idle connection die (no one marks it down by hand).
      const ready = await until("/readyz to report the database down", async () => {
        const x = await app.inject({ url: "/readyz" });
        return x.statusCode === 503 ? x : undefined;
      });
      expect(ready.body).toMatch(/\[-\]ledger-postgres down: ConnectionLost: /);
      expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    } finally {
      await app.close();
      await server.restart();
      await pool.end();
    }
  });
});
