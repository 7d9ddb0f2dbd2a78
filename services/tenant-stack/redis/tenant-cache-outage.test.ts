// Every Redis use through an outage (ADR 0072), against a real redis-server that stops answering
// (CLIENT PAUSE) and then is stopped: the per-tenant API rate limit fails open, uncounted and
// saying so; the operator's writes (limits, ACL users) fail with an outage error its Cache
// condition shows; the teardown's delete fails, so the Tenant's deletion waits (fail closed);
// and the connection's error events mark `redis` down instead of ending the process.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Redis } from "ioredis";
import { pino } from "pino";
import { reconcileCache } from "../../../operator/controllers/tenant/tenant-data-components.ts";
import type { TenantContext } from "../../../operator/controllers/tenant/tenant-context.ts";
import { redisCommand, startRedis, type RedisServer } from "../../../test/harness/redis.ts";
import { DependencyHealth, guardRedis, isOutage } from "../../dependency-health/index.ts";
import { fixedClock } from "../../ledger/clock.ts";
import { TenantCache } from "./tenant-cache.ts";

let server: RedisServer | undefined;
let redis: Redis;
let cache: TenantCache;
let stopped = false;
const health = new DependencyHealth({
  clock: fixedClock("2026-01-01T00:00:00Z", 1000),
  logger: pino({ level: "silent" }),
});
const T = 1_700_000_000_000;

/** Polls `check` until it returns true (jest's timeout bounds it; no timing assertion). */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

beforeAll(async () => {
  server = await startRedis();
  // The operator's options (operator/controllers/tenant/tenant-config.ts); a short
  // disconnectTimeout only so jest exits at once after the socket to the stopped server.
  redis = new Redis(server.url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    disconnectTimeout: 100,
  });
  guardRedis(redis, health.register("redis"));
  cache = new TenantCache(redis);
  await cache.setLimits("alpha", { requestsPerMinute: 2, suspended: false });
});
afterAll(async () => {
  redis?.disconnect();
  if (!stopped) await server?.stop();
});

describe("Redis through an outage", () => {
  it("counts while Redis answers", async () => {
    await until(() => health.statuses()[0]?.state === "Up");
    expect(await cache.consumeRateLimit("alpha", T)).toEqual({
      allowed: true,
      remaining: 1,
      limit: 2,
    });
  });

  it("the API rate limit fails open, uncounted, when Redis does not answer in time", async () => {
    // Holds every client's commands for 2 s: a Redis that hangs rather than refuses.
    expect(await redisCommand(server!.port, "CLIENT PAUSE 2000 ALL")).toBe("+OK");
    expect(await cache.consumeRateLimit("alpha", T, { timeoutMs: 100 })).toEqual({
      allowed: true,
      remaining: 0,
      limit: 0,
      reason: "LimiterUnavailable",
      degraded: "redis did not answer within 100 ms",
    });
    // Once it answers again, requests are counted and refused past the limit as before.
    await until(
      async () => (await cache.consumeRateLimit("alpha", T)).reason !== "LimiterUnavailable",
    );
    expect(await cache.consumeRateLimit("alpha", T)).toMatchObject({
      allowed: false,
      reason: "RateLimited",
    });
  });

  it("a stopped Redis: the rate limit fails open, the operator's writes fail with an outage, the process stays up", async () => {
    await server!.stop();
    stopped = true;
    await until(() => health.statuses()[0]?.state === "Down");
    expect(health.statuses()[0]).toMatchObject({ name: "redis", state: "Down" });

    // The API request path: let through, uncounted, saying why.
    const d = await cache.consumeRateLimit("alpha", T + 60_000, { timeoutMs: 100 });
    expect(d).toMatchObject({ allowed: true, reason: "LimiterUnavailable" });
    expect(d.degraded).toMatch(/.+/);

    // The operator's Cache component: condition False, CacheUnavailable, retried with backoff.
    const ctx = {
      tenant: { spec: { plan: "pro" } },
      name: "alpha",
      services: { cache },
      sensitive: new Set<string>(),
    } as unknown as TenantContext;
    const r = await reconcileCache(ctx, false, true);
    expect(r).toMatchObject({
      outcome: { status: "False", reason: "CacheUnavailable" },
      failed: true,
    });
    expect(r.outcome.message).toMatch(/.+/);

    // Teardown fails closed: the delete is an error (the step waits), never "nothing left".
    const err = await cache.deleteTenant("alpha").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(isOutage(err)).toBe(true);
  });
});
