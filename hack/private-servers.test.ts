import { describe, expect, it, jest } from "@jest/globals";
import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import pg from "pg";
import { startPostgres, withTestDatabase } from "../test/harness/postgres.ts";
import { redisCommand, startRedis } from "../test/harness/redis.ts";

// Starting a private Postgres and generating keys can take seconds on a busy 2-core machine.
jest.setTimeout(60_000);

// Self-test of the private Postgres and Redis servers (test/harness is outside the unit
// testMatch, and hack/deps.sh installs what they need, so the test lives beside deps.sh).
// This file tests the private-server path itself: never attach to the run's shared Postgres.
delete process.env.VAULTMESH_TEST_PG_URL;

describe("private test servers", () => {
  it("starts Postgres, gives each caller its own database, and cleans up on stop", async () => {
    const server = await startPostgres();
    let pid: number | undefined;
    try {
      const a = await server.createDatabase("harness-a");
      const b = await server.createDatabase("harness-a");
      expect(a.name).not.toBe(b.name);
      const client = new pg.Client({ connectionString: a.url });
      await client.connect();
      try {
        await client.query("CREATE TABLE t (v int)");
        await client.query("INSERT INTO t VALUES (41), (1)");
        const got = await client.query<{ s: number }>("SELECT sum(v)::int AS s FROM t");
        expect(got.rows[0]?.s).toBe(42);
        const who = await client.query<{ pid: number; dir: string }>(
          "SELECT pg_backend_pid() AS pid, current_setting('data_directory') AS dir",
        );
        pid = who.rows[0]?.pid;
        expect(existsSync(who.rows[0]?.dir ?? "/nonexistent")).toBe(true);
      } finally {
        await client.end();
      }
      const other = new pg.Client({ connectionString: b.url });
      await other.connect();
      await expect(other.query("SELECT * FROM t")).rejects.toThrow(/does not exist/);
      await other.end();
      await a.drop();
    } finally {
      await server.stop();
    }
    expect(pid).toBeGreaterThan(0);
    const after = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 2000 });
    await expect(after.connect()).rejects.toThrow();
  });

  it("withTestDatabase hands out a working database", async () => {
    const wantAnswer = 7;
    const got = await withTestDatabase(async (db) => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const r = await c.query<{ n: number }>("SELECT 3 + 4 AS n");
      await c.end();
      return r.rows[0]?.n;
    }, "harness-with");
    expect(got).toBe(wantAnswer);
  });

  it("starts Redis, accepts commands, and is gone after stop", async () => {
    const server = await startRedis();
    try {
      const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      await client.connect();
      await client.set("k", "v");
      expect(await client.get("k")).toBe("v");
      client.disconnect();
    } finally {
      await server.stop();
    }
    await expect(redisCommand(server.port, "PING")).rejects.toThrow();
  });

  it("crashes Redis (its data goes with it) and restarts it on the same port", async () => {
    const server = await startRedis();
    try {
      expect(await redisCommand(server.port, "SET k v")).toBe("+OK");
      await server.crash();
      await expect(redisCommand(server.port, "PING")).rejects.toThrow();
      await expect(server.crash().then(() => server.restart())).resolves.toBeUndefined();
      expect(await redisCommand(server.port, "PING")).toBe("+PONG");
      expect(await redisCommand(server.port, "EXISTS k")).toBe(":0");
      await expect(server.restart()).rejects.toThrow(/is running: crash\(\) it first/);
    } finally {
      await server.stop();
    }
  });
});
