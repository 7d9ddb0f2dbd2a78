// Issue 6: deleting a Tenant tears its stack down in order, and a teardown interrupted by
// kill -9 of the operator completes after a restart: nothing of the tenant remains in
// Postgres, Redis or the cluster, and exactly one TenantDeleted receipt is in the ledger.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Redis } from "ioredis";
import pg from "pg";
import type { Tenant } from "../../crds/index.ts";
import { KubeClient, Resources, type KubeObject } from "../../services/kube/index.ts";
import { TENANT_TABLES } from "../../services/tenant-stack/postgres/migrations.ts";
import { TenantDatabase } from "../../services/tenant-stack/postgres/tenant-database.ts";
import { redisUser, TenantCache } from "../../services/tenant-stack/redis/tenant-cache.ts";
import { makeWorkload } from "../builders/webhook-objects.ts";
import { kubeConfig, waitFor } from "../harness/kube.ts";
import type { OperatorProcess } from "./operator-env.ts";
import {
  DISCORD_APP,
  isReady,
  makeTenant,
  spawnTenantOperator,
  startTenantTestStack,
  tenantCondition,
  waitForTenant,
  type TenantTestStack,
} from "./tenant-env.ts";

let stack: TenantTestStack;
let client: KubeClient;
let redis: Redis;
let appPool: pg.Pool;
let operator: OperatorProcess | undefined;
let name = "";
let ns = "";
let uid = "";
const GUILD = "678901234567890123";

beforeAll(async () => {
  stack = await startTenantTestStack("tdown");
  client = await KubeClient.create(kubeConfig(), { fieldManager: "vaultmesh-test" });
  redis = new Redis(stack.redis.url);
  appPool = new pg.Pool({ connectionString: stack.env().VAULTMESH_TENANT_DB_URL, max: 2 });
  name = `${stack.id}-t`;
  ns = `tenant-${name}`;
}, 120_000);

afterAll(async () => {
  stack?.discord.release();
  operator?.kill("SIGKILL");
  await operator?.exited;
  // Leave nothing behind even when the test failed half-way.
  const t = await client?.get<Tenant>(Resources.Tenant, name).catch(() => undefined);
  if (t) {
    await client
      .patch(Resources.Tenant, { name }, { metadata: { finalizers: null } })
      .catch(() => undefined);
    await client.delete(Resources.Tenant, { name }).catch(() => undefined);
  }
  await client?.delete(Resources.Namespace, { name: ns }).catch(() => undefined);
  await appPool?.end();
  redis?.disconnect();
  client?.close();
  await stack?.stop();
}, 120_000);

describe("teardown", () => {
  it("resumes after the operator is killed mid-teardown and leaves nothing behind", async () => {
    operator = spawnTenantOperator(stack);
    await client.create(Resources.Tenant, makeTenant(stack, name, { discord: { guildId: GUILD } }));
    const ready = await waitForTenant(client, name, "Ready", isReady, 90_000);
    uid = ready.metadata.uid ?? "";

    // Data in every store: a running workload, Redis keys, Arrakis rows.
    await client.create(Resources.GPUWorkload, makeWorkload("still-running", ns));
    const secret = await client.get<KubeObject>(Resources.Secret, "vaultmesh-redis", ns);
    const password = Buffer.from(
      (secret?.data as Record<string, string>).password ?? "",
      "base64",
    ).toString();
    const asTenant = new Redis(stack.redis.url, {
      username: redisUser(name),
      password,
      enableReadyCheck: false,
    });
    await asTenant.set(`tenant:${name}:session`, "s");
    asTenant.disconnect();
    await new TenantDatabase(appPool).withTenant(uid, (tx) =>
      tx.query(
        "INSERT INTO arrakis.wallet_scores (tenant_id, wallet, score) VALUES ($1, '0xabc', 7)",
        [uid],
      ),
    );

    // Discord hangs: teardown stops at UnbindDiscord, after the subscription and Redis steps.
    stack.discord.hold();
    await client.delete(Resources.Tenant, { name });
    await waitFor(
      "teardown to reach UnbindDiscord",
      () =>
        Promise.resolve(
          stack.discord.requests.some(
            (r) =>
              r.method === "PUT" &&
              r.path === `/applications/${DISCORD_APP}/guilds/${GUILD}/commands` &&
              Array.isArray(r.body) &&
              r.body.length === 0,
          ),
        ),
      60_000,
    );
    const mid = await client.get<Tenant>(Resources.Tenant, name);
    expect(mid?.status).toMatchObject({ suspended: true, suspendedReason: "Deleting" });
    expect(tenantCondition(mid, "Ready")?.reason).toBe("Deleting");
    expect(await client.get(Resources.GPUWorkload, "still-running", ns)).toBeUndefined();
    const account = await stack.admin.query(
      "SELECT subscription_status FROM arrakis.billing_accounts WHERE tenant_id = $1",
      [uid],
    );
    expect(account.rows).toEqual([{ subscription_status: "canceled" }]);
    expect(await new TenantCache(redis).tenantExists(name)).toBe(false);
    expect(
      (await stack.admin.query("SELECT 1 FROM arrakis.tenants WHERE id = $1", [uid])).rows,
    ).toHaveLength(1);
    expect(
      (await client.get<KubeObject>(Resources.Namespace, ns))?.metadata?.deletionTimestamp,
    ).toBeUndefined();

    operator.kill("SIGKILL");
    await operator.exited;
    stack.discord.release();
    operator = spawnTenantOperator(stack);

    await waitFor(
      "the tenant to be gone",
      async () => !(await client.get(Resources.Tenant, name)),
      120_000,
    );
    expect(await client.get(Resources.Namespace, ns)).toBeUndefined();
    for (const t of TENANT_TABLES) {
      const r = await stack.admin.query(
        `SELECT count(*)::int AS n FROM arrakis.${t.table} WHERE ${t.column} = $1`,
        [uid],
      );
      expect([t.table, r.rows[0]]).toEqual([t.table, { n: 0 }]);
    }
    expect(await new TenantCache(redis).tenantExists(name)).toBe(false);
    const receipts = (await stack.ledger.ledger.list({ type: "TenantDeleted", limit: 100 })).filter(
      (e) => typeof e.receipt.subject === "object" && e.receipt.subject.uid === uid,
    );
    expect(receipts).toHaveLength(1);
    expect(receipts[0]?.receipt.payload).toMatchObject({
      tenant: name,
      uid,
      namespace: ns,
      plan: "pro",
    });
  });
});
