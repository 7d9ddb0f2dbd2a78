// The tenant's Redis ACL user and limits, against a real redis-server.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Redis } from "ioredis";
import {
  redisCommand,
  redisWriteCalls,
  startRedis,
  type RedisServer,
} from "../../../test/harness/redis.ts";
import { TenantCache, limitsKey, redisUser } from "./tenant-cache.ts";

let server: RedisServer;
let admin: Redis;
let cache: TenantCache;
const clients: Redis[] = [];

function as(user: string, password: string): Redis {
  const r = new Redis(server.port, "127.0.0.1", {
    username: user,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    retryStrategy: () => null,
  });
  clients.push(r);
  return r;
}

/** Tries to log in as `user` on a fresh connection; resolves with the server's reply line. */
async function login(user: string, password: string): Promise<string> {
  return await redisCommand(server.port, `AUTH ${user} ${password}`);
}

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
  cache = new TenantCache(admin);
  expect(await cache.ensureUser("alpha", "alpha-password")).toBe(true);
  expect(await cache.ensureUser("bravo", "bravo-password")).toBe(true);
});

afterAll(async () => {
  for (const c of clients) if (c.status !== "end") c.disconnect();
  await admin?.quit();
  await server?.stop();
});

describe("tenant ACL user", () => {
  it("writes nothing when the user is already as wanted", async () => {
    // Counted by Redis itself (INFO commandstats), not by the cache's own counters.
    const before = await redisWriteCalls(admin);
    expect(before["acl|setuser"]).toBeGreaterThan(0); // the beforeAll's users were seen
    expect(await cache.ensureUser("alpha", "alpha-password")).toBe(false);
    expect(await redisWriteCalls(admin)).toEqual(before);
  });

  it("may use its own keys and channels only", async () => {
    const a = as(redisUser("alpha"), "alpha-password");
    await a.connect();
    expect(await a.set("tenant:alpha:session", "1")).toBe("OK");
    expect(await a.get("tenant:alpha:session")).toBe("1");
    expect(await a.publish("tenant:alpha:events", "hi")).toBe(0);
    await admin.set("tenant:bravo:secret", "b");
    for (const denied of [
      () => a.get("tenant:bravo:secret"),
      () => a.set("tenant:bravo:secret", "pwned"),
      () => a.del("tenant:bravo:secret"),
      () => a.set("global", "x"),
      () => a.publish("tenant:bravo:events", "x"),
      () => a.scan("0"),
      () => a.keys("*"),
      () => a.flushall(),
      () => a.call("CONFIG", "GET", "*"),
      () => a.call("ACL", "LIST"),
      () => a.hgetall(limitsKey("alpha")),
      () => a.call("FUNCTION", "FLUSH"),
    ]) {
      await expect(denied()).rejects.toThrow(/NOPERM/);
    }
    expect(await admin.get("tenant:bravo:secret")).toBe("b");
  });

  it("refuses a wrong password", async () => {
    expect(await login(redisUser("alpha"), "wrong")).toMatch(/WRONGPASS/);
  });

  it("corrects drift: widened rules and a changed password are put back", async () => {
    await admin.call("ACL", "SETUSER", redisUser("alpha"), "+@all", "~*", ">extra");
    expect(await cache.ensureUser("alpha", "alpha-password")).toBe(true);
    const a = as(redisUser("alpha"), "alpha-password");
    await a.connect();
    await expect(a.get("tenant:bravo:secret")).rejects.toThrow(/NOPERM/);
    expect(await login(redisUser("alpha"), "extra")).toMatch(/WRONGPASS/);
    expect(await cache.ensureUser("alpha", "alpha-password")).toBe(false);
  });
});

describe("limits and rate limiting", () => {
  it("stores the limits once and counts requests per minute", async () => {
    expect(await cache.setLimits("alpha", { requestsPerMinute: 3, suspended: false })).toBe(true);
    expect(await cache.setLimits("alpha", { requestsPerMinute: 3, suspended: false })).toBe(false);
    expect(await cache.getLimits("alpha")).toEqual({ requestsPerMinute: 3, suspended: false });
    const t = 1_700_000_000_000;
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await cache.consumeRateLimit("alpha", t));
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(decisions[3]?.reason).toBe("RateLimited");
    expect((await cache.consumeRateLimit("alpha", t + 60_000)).allowed).toBe(true);
  });

  it.each([
    ["suspended", "alpha", { requestsPerMinute: 100, suspended: true }, "Suspended"],
    ["unknown", "nobody", undefined, "UnknownTenant"],
  ] as const)("refuses a %s tenant", async (_what, name, limits, want) => {
    if (limits) await cache.setLimits(name, limits);
    expect(await cache.consumeRateLimit(name, 0)).toMatchObject({ allowed: false, reason: want });
  });
});

describe("teardown", () => {
  it("deletes the user, disconnects it, removes its keys and limits, and leaves others alone", async () => {
    const a = as(redisUser("alpha"), "alpha-password");
    await a.connect();
    await a.set("tenant:alpha:k1", "v");
    await admin.set("tenant:bravo:k1", "v");
    expect(await cache.tenantExists("alpha")).toBe(true);
    expect(await cache.deleteTenant("alpha")).toBeGreaterThanOrEqual(2);
    expect(await cache.tenantExists("alpha")).toBe(false);
    await expect(a.get("tenant:alpha:k1")).rejects.toThrow();
    expect(await login(redisUser("alpha"), "alpha-password")).toMatch(/WRONGPASS/);
    expect(await admin.get("tenant:bravo:k1")).toBe("v");
    expect(await cache.tenantExists("bravo")).toBe(true);
    expect(await cache.deleteTenant("alpha")).toBe(0);
  });
});
