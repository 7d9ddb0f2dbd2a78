// Issue 6: a Tenant is one apply away from a provisioned, isolated, billed stack — against the
// real control plane, Postgres, Redis, stripe-mock and a Discord stand-in. Asserts on the
// state of the world (objects, rows, ACL users, requests received), including that an
// unchanged Tenant costs no write and that a component outage stays confined to its condition.
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Redis } from "ioredis";
import type { Tenant } from "../../crds/index.ts";
import { KubeClient, Resources, type KubeObject } from "../../services/kube/index.ts";
import { TenantObjectNames } from "../../services/tenant-stack/kube/names.ts";
import { parseApiKey } from "../../services/tenant-stack/postgres/api-keys.ts";
import { ARRAKIS_SCHEMA } from "../../services/tenant-stack/postgres/migrations.ts";
import { limitsKey } from "../../services/tenant-stack/redis/tenant-cache.ts";
import { kubeConfig, waitFor } from "../harness/kube.ts";
import { connectionAllowed, type PodRef } from "../harness/network-policy-eval.ts";
import { rowVersions } from "../harness/postgres.ts";
import { redisCommand, redisWriteCalls } from "../harness/redis.ts";
import { startStripeMock } from "../harness/stripe-mock.ts";
import {
  readStripeRecords,
  startStripeRecorder,
  type StripeRecorder,
} from "../chaos/stripe-recorder.ts";
import {
  DISCORD_APP,
  isReady,
  makeTenant,
  startInProcessTenantOperator,
  startTenantTestStack,
  tenantCondition,
  waitForTenant,
  type InProcessTenantOperator,
  type TenantTestStack,
} from "./tenant-env.ts";

let stack: TenantTestStack;
let op: InProcessTenantOperator;
let client: KubeClient;
let redis: Redis;
// What stripe-mock (stateless, no record of its own) was sent: a recording proxy in front.
let recorder: StripeRecorder;
let stripeLog = "";
let a = "";
let b = "";
const GUILD = "234567890123456789";
const CHANNEL = "345678901234567890";
const COMPONENTS = ["Namespace", "Quota", "Network", "Database", "Cache", "Billing", "Discord"];

const secretData = async (ns: string, name: string): Promise<Record<string, string>> => {
  const s = await client.get<KubeObject>(Resources.Secret, name, ns);
  const data = (s?.data ?? {}) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
};

const stripeWrites = (): number =>
  readStripeRecords(stripeLog).filter((r) => r.method !== "GET").length;

beforeAll(async () => {
  stack = await startTenantTestStack("tprov");
  stripeLog = join(mkdtempSync(join(tmpdir(), "vaultmesh-tprov-stripe-")), "requests.jsonl");
  recorder = await startStripeRecorder(stack.stripe.port, stripeLog);
  op = await startInProcessTenantOperator(stack, { VAULTMESH_STRIPE_API_BASE: recorder.url });
  client = await KubeClient.create(kubeConfig(), { fieldManager: "vaultmesh-test" });
  redis = new Redis(stack.redis.url);
  a = `${stack.id}-a`;
  b = `${stack.id}-b`;
}, 120_000);

afterAll(async () => {
  for (const name of [a, b])
    await client?.delete(Resources.Tenant, { name }).catch(() => undefined);
  // The operator tears both down; wait so nothing of this file stays in the cluster.
  await waitFor(
    "this file's tenants to be gone",
    async () =>
      !(await client.get(Resources.Tenant, a)) && !(await client.get(Resources.Tenant, b)),
    90_000,
  ).catch(() => undefined);
  await op?.stop();
  await recorder?.close();
  redis?.disconnect();
  client?.close();
  await stack?.stop();
}, 120_000);

describe("provisioning", () => {
  it("provisions namespace, quota, network, RBAC, database, cache, billing and Discord, then reports Ready", async () => {
    await client.create(
      Resources.Tenant,
      makeTenant(stack, a, { discord: { guildId: GUILD, channelId: CHANNEL } }),
    );
    const t = await waitForTenant(client, a, "Ready", isReady, 90_000);
    const ns = `tenant-${a}`;
    expect(t.status).toMatchObject({
      namespace: ns,
      subscriptionStatus: "active",
      suspended: false,
      apiKeySecretRef: { name: TenantObjectNames.apiKeySecret, namespace: ns },
      usage: { gpusInUse: 0, gpuHoursThisPeriod: 0, cost: 0 },
    });
    expect(t.status?.stripeCustomerId).toMatch(/^cus_/);
    expect(t.metadata.finalizers).toContain("vaultmesh.cloud/tenant-teardown");
    for (const c of COMPONENTS) expect([c, tenantCondition(t, c)?.status]).toEqual([c, "True"]);

    const namespace = await client.get<KubeObject>(Resources.Namespace, ns);
    expect(namespace?.metadata?.labels?.["vaultmesh.cloud/tenant"]).toBe(a);
    const quota = await client.get<KubeObject>(Resources.ResourceQuota, "tenant-quota", ns);
    expect((quota?.spec as { hard: Record<string, string> }).hard).toEqual({
      "requests.cpu": "32",
      "requests.memory": "128Gi",
      pods: "200",
      "requests.nvidia.com/gpu": "16",
    });
    const policies = await client.list(Resources.NetworkPolicy, { namespace: ns });
    expect(policies.items.map((p) => p.metadata?.name).sort()).toEqual([
      "vaultmesh-allow-egress",
      "vaultmesh-allow-ingress",
      "vaultmesh-default-deny",
    ]);
    // Exactly the owners' two bindings and the tenant API's, each naming its role and the owner (a loop over an
    // empty list would pass, so the list is compared whole).
    const bindings = await client.list<KubeObject>(Resources.RoleBinding, { namespace: ns });
    const owner = {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "User",
      name: `owner@${a}.example`,
    };
    const rbac = "rbac.authorization.k8s.io";
    expect(
      bindings.items
        .map((rb) => [rb.metadata?.name, rb.roleRef, rb.subjects])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    ).toEqual([
      [
        TenantObjectNames.adminBinding,
        { apiGroup: rbac, kind: "ClusterRole", name: "admin" },
        [owner],
      ],
      [
        TenantObjectNames.apiBinding,
        { apiGroup: rbac, kind: "Role", name: TenantObjectNames.ownerRole },
        [{ apiGroup: rbac, kind: "Group", name: `vaultmesh:tenant:${a}` }],
      ],
      [
        TenantObjectNames.ownerBinding,
        { apiGroup: rbac, kind: "Role", name: TenantObjectNames.ownerRole },
        [owner],
      ],
    ]);
    expect(await client.get(Resources.ServiceAccount, "tenant-workload", ns)).toBeDefined();

    // The API key: plaintext only in the Secret, its SHA-256 in the database.
    const key = parseApiKey((await secretData(ns, TenantObjectNames.apiKeySecret)).apiKey ?? "");
    expect(key).toBeDefined();
    const rows = await stack.admin.query<{
      key_id: string;
      secret_sha256: Buffer;
      tenant_id: string;
    }>("SELECT key_id, secret_sha256, tenant_id FROM arrakis.api_keys WHERE tenant_id = $1", [
      t.metadata.uid,
    ]);
    expect(rows.rows.map((r) => [r.key_id, r.secret_sha256.toString("hex")])).toEqual([
      [
        key?.keyId,
        createHash("sha256")
          .update(key?.secret ?? "")
          .digest("hex"),
      ],
    ]);
    expect(JSON.stringify(t)).not.toContain(key?.secret ?? "-");
    const tenantRow = await stack.admin.query(
      "SELECT name, plan, suspended FROM arrakis.tenants WHERE id = $1",
      [t.metadata.uid],
    );
    expect(tenantRow.rows).toEqual([{ name: a, plan: "pro", suspended: false }]);

    // Redis: the tenant user logs in with the Secret's password; its limits are stored.
    const redisSecret = await secretData(ns, TenantObjectNames.redisSecret);
    expect(
      await redisCommand(stack.redis.port, `AUTH ${redisSecret.username} ${redisSecret.password}`),
    ).toBe("+OK");
    expect(await redisCommand(stack.redis.port, `HGET ${limitsKey(a)} requestsPerMinute`)).toBe(
      "$3",
    );

    // Discord: the guild's commands were bulk-overwritten, authenticated as the bot.
    const put = stack.discord.requests.find(
      (r) =>
        r.method === "PUT" && r.path === `/applications/${DISCORD_APP}/guilds/${GUILD}/commands`,
    );
    expect((put?.body as { name: string }[]).map((c) => c.name)).toEqual(["gpu-status", "receipt"]);
  });

  it("isolates tenants from each other by NetworkPolicy", async () => {
    await client.create(
      Resources.Tenant,
      makeTenant(stack, b, { plan: "free", billing: undefined as never }),
    );
    await waitForTenant(client, b, "Ready", isReady, 90_000);
    const policies = [
      ...(await client.list(Resources.NetworkPolicy, { namespace: `tenant-${a}` })).items,
      ...(await client.list(Resources.NetworkPolicy, { namespace: `tenant-${b}` })).items,
    ];
    const pod = (tenant: string, ip: string, labels: Record<string, string> = {}): PodRef => ({
      namespace: `tenant-${tenant}`,
      namespaceLabels: {
        "kubernetes.io/metadata.name": `tenant-${tenant}`,
        "vaultmesh.cloud/tenant": tenant,
      },
      labels,
      ip,
    });
    const [a1, a2, b1] = [
      pod(a, "10.244.1.1"),
      pod(a, "10.244.1.2", { app: "x" }),
      pod(b, "10.244.2.1"),
    ];
    expect(connectionAllowed(policies, a1, b1)).toBe(false);
    expect(connectionAllowed(policies, b1, a1)).toBe(false);
    expect(connectionAllowed(policies, a1, a2)).toBe(true);
    const operator: PodRef = {
      namespace: "vaultmesh-system",
      namespaceLabels: { "kubernetes.io/metadata.name": "vaultmesh-system" },
      labels: {},
      ip: "10.244.3.3",
    };
    expect(connectionAllowed(policies, operator, a1)).toBe(true);
    const selectors =
      JSON.stringify(policies.map((p) => p.spec)).match(/"namespaceSelector":\{.*?\}\}/g) ?? [];
    expect(selectors.length).toBeGreaterThan(0);
    for (const s of selectors) expect(s).not.toContain("tenant-");
  });
});

describe("steady state", () => {
  it("makes no writes when reconciling an unchanged Tenant (API, database, Redis, Stripe, Discord)", async () => {
    // Let both tenants settle first (b may still be finishing its first provisioning on a busy
    // machine), then every further reconcile of either must write nothing. Writes are counted
    // outside the code under test: API requests at the client's transport (the harness wraps
    // it), row versions in Postgres, Redis's own command statistics, the requests stripe-mock
    // (through the recording proxy) and the Discord stand-in received.
    await op.reconcileOnce(a);
    await op.reconcileOnce(b);
    const world = async (): Promise<Record<string, unknown>> => ({
      db: await rowVersions(stack.admin, ARRAKIS_SCHEMA),
      redis: await redisWriteCalls(redis),
      stripe: stripeWrites(),
      discord: stack.discord.requests.filter((r) => r.method !== "GET").length,
    });
    const writesBefore = op.counters.kubeWrites.length;
    const before = await world();
    // The measures see the provisioning that happened (so an unchanged one means something).
    expect(before).toMatchObject({
      db: { tenants: [expect.any(String), expect.any(String)] },
      redis: { "acl|setuser": expect.any(Number) },
      stripe: expect.any(Number),
    });
    expect(before.stripe).toBeGreaterThan(0);
    await op.reconcileOnce(a);
    await op.reconcileOnce(b);
    expect(op.counters.kubeWrites.slice(writesBefore)).toEqual([]);
    expect(await world()).toEqual(before);
  });

  it("corrects drift: a deleted ResourceQuota and a widened NetworkPolicy come back", async () => {
    const ns = `tenant-${a}`;
    await client.delete(Resources.ResourceQuota, { name: "tenant-quota", namespace: ns });
    await waitFor("the quota to come back", async () => {
      const q = await client.get<KubeObject>(Resources.ResourceQuota, "tenant-quota", ns);
      return (
        (q?.spec as { hard?: Record<string, string> } | undefined)?.hard?.[
          "requests.nvidia.com/gpu"
        ] === "16"
      );
    });
    await client.patch(
      Resources.NetworkPolicy,
      { name: "vaultmesh-allow-ingress", namespace: ns },
      { spec: { ingress: [{ from: [{ podSelector: {} }] }, {}] } },
    );
    await waitFor("the ingress policy to be restored", async () => {
      const p = await client.get<KubeObject>(
        Resources.NetworkPolicy,
        "vaultmesh-allow-ingress",
        ns,
      );
      return (p?.spec as { ingress?: unknown[] } | undefined)?.ingress?.length === 1;
    });
  });
});

describe("faults and suspension", () => {
  it("Stripe down: Billing goes False with the reason, the tenant stays Ready (Degraded), and it recovers", async () => {
    const port = stack.stripe.port;
    await stack.stripe.stop();
    await client.patch(
      Resources.Tenant,
      { name: a },
      { spec: { billing: { email: `finance@${a}.example` } } },
    );
    const down = await waitForTenant(
      client,
      a,
      "Billing False",
      (t) => tenantCondition(t, "Billing")?.status === "False",
    );
    expect(tenantCondition(down, "Billing")?.reason).toBe("StripeUnavailable");
    for (const c of COMPONENTS.filter((x) => x !== "Billing")) {
      expect([c, tenantCondition(down, c)?.status]).toEqual([c, "True"]);
    }
    // The customer exists, so a Stripe outage degrades the tenant without refusing its
    // workloads (ADR 0077).
    expect(tenantCondition(down, "Ready")).toMatchObject({
      status: "True",
      reason: "ReadyDegraded",
    });
    expect(tenantCondition(down, "Degraded")).toMatchObject({
      status: "True",
      reason: "BillingFailing",
    });
    expect(JSON.stringify(down.status)).not.toContain("sk_test_123");
    expect(down.status?.stripeCustomerId).toMatch(/^cus_/);
    stack.stripe = await startStripeMock({ port });
    await waitForTenant(
      client,
      a,
      "Billing True again and Degraded False",
      (t) =>
        tenantCondition(t, "Billing")?.status === "True" &&
        tenantCondition(t, "Degraded")?.status === "False",
      90_000,
    );
  });

  it("spec.suspended: status says suspended with the reason; the database and the bridge's limits follow", async () => {
    await client.patch(Resources.Tenant, { name: a }, { spec: { suspended: true } });
    const t = await waitForTenant(
      client,
      a,
      "suspended",
      (x: Tenant) => x.status?.suspended === true,
    );
    expect(t.status?.suspendedReason).toBe("Spec");
    expect(tenantCondition(t, "Ready")).toMatchObject({ status: "False", reason: "Suspended" });
    await waitFor(
      "the bridge's limits to say suspended",
      async () => (await redis.hget(limitsKey(a), "suspended")) === "1",
    );
    const row = await stack.admin.query("SELECT suspended FROM arrakis.tenants WHERE name = $1", [
      a,
    ]);
    expect(row.rows).toEqual([{ suspended: true }]);
    await client.patch(Resources.Tenant, { name: a }, { spec: { suspended: false } });
    await waitForTenant(client, a, "Ready again", isReady);
  });
});
