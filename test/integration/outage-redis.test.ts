// Issue 10: Redis is killed (SIGKILL: a crash, an evicted pod) under an operator process running
// the Tenant controller, then started again on the same port — empty, as a Redis without
// persistence comes back. Each use follows its documented policy (ADR 0072): the API rate limit
// fails open (allowed, uncounted, `LimiterUnavailable`), a tenant created meanwhile waits at
// `Cache=False CacheUnavailable` while its other components are provisioned, a tenant deleted
// meanwhile waits at its `DeleteCacheUser` teardown step (fail closed). /readyz lists
// `[~]redis down` and stays 200, /healthz stays ok, the process stays up; once Redis is back,
// the waiting tenant becomes Ready, the deleted one is gone, and the tenant that was Ready all
// along gets its ACL user back in the emptied Redis at once (ADR 0075), not at the next resync.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { DependencyHealth, guardRedis } from "../../services/dependency-health/index.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { redisUser, TenantCache } from "../../services/tenant-stack/redis/tenant-cache.ts";
import { waitFor } from "../harness/kube.ts";
import { redisCommand } from "../harness/redis.ts";
import type { OperatorProcess } from "./operator-env.ts";
import {
  expectAlive,
  getText,
  OutageClock,
  startOutageTenantEnv,
  waitForReadyz,
  type OutageTenantEnv,
} from "./outage-env.ts";
import {
  isReady,
  makeTenant,
  tenantCondition,
  waitForTenant,
  type TenantTestStack,
} from "./tenant-env.ts";

let env: OutageTenantEnv;
let stack: TenantTestStack;
let client: KubeClient;
let op: OperatorProcess;
let port = 0;
let keep = "";
let gone = "";
let during = "";

// ACL GETUSER answers an array for a user, a null array (`*-1`) for none.
const aclUserExists = async (tenant: string): Promise<boolean> =>
  /^\*[1-9]\d*$/.test(await redisCommand(stack.redis.port, `ACL GETUSER ${redisUser(tenant)}`));

beforeAll(async () => {
  env = await startOutageTenantEnv("oredis", { ready: { keep: {}, gone: {} }, later: ["during"] });
  ({ stack, client, op, port } = env);
  keep = env.name("keep");
  gone = env.name("gone");
  during = env.name("during");
}, 180_000);

afterAll(() => env?.stop(), 150_000);

describe("Redis is killed and comes back empty", () => {
  it("degrades each use as documented, keeps the operator up, and recovers every tenant", async () => {
    expect(await aclUserExists(keep)).toBe(true);
    // The bridge's limiter, as the bridge opens it (guarded: its error events mark it down).
    const health = new DependencyHealth({ clock: systemClock, logger: pino({ level: "silent" }) });
    const redis = guardRedis(
      new Redis(stack.redis.url, { maxRetriesPerRequest: 1, disconnectTimeout: 100 }),
      health.register("redis"),
    );
    const limiter = new TenantCache(redis);
    try {
      expect((await limiter.consumeRateLimit(keep, Date.now())).reason).toBeUndefined();

      const clock = new OutageClock("redis");
      await stack.redis.crash();
      clock.down();
      const readyz = await waitForReadyz(port, /\[~\]redis down/);
      expect(readyz).toMatch(/degraded: Tenants' Cache component waits/);
      expect((await getText(port, "/readyz")).status).toBe(200);

      // Rate limit: fail open, uncounted, saying why.
      const decision = await limiter.consumeRateLimit(keep, Date.now());
      expect(decision).toMatchObject({ allowed: true, reason: "LimiterUnavailable" });

      // Provisioning waits at Cache; the rest of the tenant goes on.
      await client.create(Resources.Tenant, makeTenant(stack, during));
      const waiting = await waitForTenant(
        client,
        during,
        "Cache=False CacheUnavailable with its namespace provisioned",
        (t) =>
          tenantCondition(t, "Cache")?.reason === "CacheUnavailable" &&
          tenantCondition(t, "Namespace")?.status === "True",
      );
      expect(tenantCondition(waiting, "Ready")?.status).toBe("False");

      // Teardown fails closed: the deletion waits at DeleteCacheUser, the finalizer stays.
      await client.delete(Resources.Tenant, { name: gone });
      await waitForTenant(client, gone, "teardown waiting at DeleteCacheUser", (t) =>
        /teardown: DeleteCacheUser/.test(tenantCondition(t, "Ready")?.message ?? ""),
      );
      await expectAlive(op, port);

      await stack.redis.restart();
      clock.back();
      // Measured side by side: each figure is the time from Redis's return to that event.
      await Promise.all([
        waitForTenant(client, during, "Ready after Redis returned", isReady, 90_000).then(() =>
          clock.recovered("tenant created during the outage Ready"),
        ),
        waitFor(
          "the deleted tenant to be gone",
          async () => (await client.get(Resources.Tenant, gone)) === undefined,
          90_000,
        ).then(() => clock.recovered("tenant deleted during the outage gone")),
        waitFor("the Ready tenant's ACL user to be written again", () => aclUserExists(keep)).then(
          () =>
            clock.recovered(
              "ACL user of a tenant Ready all along written again (Redis came back empty)",
            ),
        ),
        waitForReadyz(port, /\[\+\]redis ok/).then(() => clock.recovered("/readyz redis ok")),
      ]);
      await waitFor("the limiter to count again", async () => {
        const d = await limiter.consumeRateLimit(keep, Date.now());
        return d.reason === undefined && d.limit > 0;
      });
      await expectAlive(op, port);
    } finally {
      redis.disconnect();
    }
  });
});
