/**
 * Shared set-up of the Tenant integration tests: real Postgres (the Arrakis schema beside a
 * ledger), Redis, stripe-mock and a Discord stand-in; the Tenant controller in-process (a
 * Manager wired by the same startTenantStack main.ts uses, with write counters) or as an
 * operator/main.ts child process a test can kill -9. Every tenant a test creates carries a
 * label unique to the test file, and its operator only sees tenants with that label.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import type { Tenant, TenantSpec } from "../../crds/index.ts";
import {
  startTenantStack,
  tenantStackConfigFromEnv,
  type TenantStack,
} from "../../operator/controllers/tenant/tenant-config.ts";
import { Manager, type ControllerMetrics } from "../../operator/runtime/index.ts";
import { KubeClient, Resources } from "../../services/kube/index.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { migrate } from "../../services/tenant-stack/postgres/migrate.ts";
import { tenant } from "../builders/objects.ts";
import { startDiscordStandIn, type DiscordStandIn } from "../harness/discord-stand-in.ts";
import { kubeConfig, waitFor } from "../harness/kube.ts";
import { startRedis, type RedisServer } from "../harness/redis.ts";
import { startStripeMock, type StripeMock } from "../harness/stripe-mock.ts";
import {
  spawnOperator,
  startTestLedger,
  type OperatorProcess,
  type TestLedger,
} from "./operator-env.ts";

/** Label key that scopes a test file's tenants. */
export const TENANT_TEST_LABEL = "vaultmesh.cloud/tenant-test";
/** The Stripe webhook signing secret of the test stack. */
export const WEBHOOK_SECRET = "whsec_vaultmesh_test";
/** The Discord application id of the test stack. */
export const DISCORD_APP = "123456789012345678";

/** Every service a tenant needs, started for one test file. */
export interface TenantTestStack {
  readonly id: string;
  /** `vaultmesh.cloud/tenant-test=<id>` */
  readonly selector: string;
  readonly ledger: TestLedger;
  /** Superuser pool on the Arrakis database (assertions). */
  readonly admin: pg.Pool;
  readonly appRole: string;
  readonly redis: RedisServer;
  stripe: StripeMock;
  readonly discord: DiscordStandIn;
  /** The operator environment for this stack (in-process and child processes alike). */
  env(extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

/** Starts Postgres (+ ledger and Arrakis schema), Redis, stripe-mock and the Discord stand-in. */
export async function startTenantTestStack(prefix: string): Promise<TenantTestStack> {
  const id = `${prefix}-${randomBytes(3).toString("hex")}`;
  const [ledger, redis, stripe, discord] = await Promise.all([
    startTestLedger(prefix.replace(/-/g, "_")),
    startRedis(),
    startStripeMock(),
    startDiscordStandIn(),
  ]);
  const admin = new pg.Pool({ connectionString: ledger.url, max: 2 });
  admin.on("error", () => undefined); // an idle client may meet the teardown's drop
  const appRole = `arrakis_${randomBytes(4).toString("hex")}`;
  await migrate(admin, { appRole, appPassword: "test-only" });
  const appUrl = new URL(ledger.url);
  appUrl.username = appRole;
  appUrl.password = "test-only";
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-tenant-test-"));
  const file = (name: string, value: string): string => {
    const p = join(dir, name);
    writeFileSync(p, value, { mode: 0o600 });
    return p;
  };
  const stripeKey = file("stripe-key", "sk_test_123");
  const webhookSecret = file("webhook-secret", WEBHOOK_SECRET);
  const discordToken = file("discord-token", "test-bot-token-not-a-real-one-0123456789");
  const stack: TenantTestStack = {
    id,
    selector: `${TENANT_TEST_LABEL}=${id}`,
    ledger,
    admin,
    appRole,
    redis,
    stripe,
    discord,
    env: (extra = {}) => ({
      VAULTMESH_TENANT_SELECTOR: stack.selector,
      VAULTMESH_TENANT_DB_URL: appUrl.toString(),
      VAULTMESH_REDIS_URL: redis.url,
      VAULTMESH_STRIPE_API_KEY_FILE: stripeKey,
      VAULTMESH_STRIPE_API_BASE: stack.stripe.url,
      VAULTMESH_STRIPE_PLAN_PRICES: JSON.stringify({
        starter: "price_starter",
        pro: "price_pro",
        enterprise: "price_enterprise",
      }),
      VAULTMESH_STRIPE_GPU_SECONDS_PRICE: "price_gpu_seconds",
      VAULTMESH_STRIPE_WEBHOOK_SECRET_FILE: webhookSecret,
      VAULTMESH_STRIPE_WEBHOOK_ADDR: "127.0.0.1:0",
      VAULTMESH_DISCORD_TOKEN_FILE: discordToken,
      VAULTMESH_DISCORD_APPLICATION_ID: DISCORD_APP,
      VAULTMESH_DISCORD_API: discord.api,
      VAULTMESH_TENANT_TEARDOWN_GRACE_MS: "0",
      ...extra,
    }),
    async stop() {
      await discord.stop();
      await stack.stripe.stop();
      await redis.stop();
      await admin.query(`DROP OWNED BY "${appRole}"`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS "${appRole}"`).catch(() => undefined);
      await admin.end();
      await ledger.stop();
    },
  };
  return stack;
}

/** Counts of what an in-process operator did, for "no writes" assertions. */
export interface OperatorCounters {
  /** Non-GET Kubernetes API requests (`METHOD path`). */
  readonly kubeWrites: string[];
  /** Reconciles of the tenant controller finished, by outcome. */
  readonly reconciles: Record<string, number>;
}

/** An in-process operator running only the Tenant controller. */
export interface InProcessTenantOperator {
  readonly mgr: Manager;
  readonly tenants: TenantStack;
  readonly client: KubeClient;
  readonly counters: OperatorCounters;
  /** Reconciles `name` once more and resolves when that reconcile finished. */
  reconcileOnce(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the Tenant controller in this process against `stack`. */
export async function startInProcessTenantOperator(
  stack: TenantTestStack,
  extraEnv: Record<string, string> = {},
): Promise<InProcessTenantOperator> {
  const client = await KubeClient.create(kubeConfig(), { fieldManager: "vaultmesh-operator" });
  const counters: OperatorCounters = { kubeWrites: [], reconciles: {} };
  const request = client.request.bind(client);
  client.request = (method: string, path: string, body?: unknown, ct?: string) => {
    if (method !== "GET") counters.kubeWrites.push(`${method} ${path}`);
    return request(method, path, body, ct);
  };
  const waiters: (() => void)[] = [];
  const metrics: ControllerMetrics = {
    reconciled(controller, outcome) {
      if (controller !== "tenant") return;
      counters.reconciles[outcome] = (counters.reconciles[outcome] ?? 0) + 1;
      for (const w of waiters.splice(0)) w();
    },
    queueDepth() {},
  };
  const log = pino({ level: process.env.OPERATOR_LOG ?? "silent" });
  const mgr = new Manager({ client, logger: log, metrics });
  const tenants = await startTenantStack(mgr, tenantStackConfigFromEnv(stack.env(extraEnv)), {
    clock: systemClock,
    ledger: stack.ledger.ledger,
    log,
  });
  if (!tenants) throw new Error("the tenant stack is disabled in this environment");
  await mgr.start();
  return {
    mgr,
    tenants,
    client,
    counters,
    async reconcileOnce(name) {
      // Wait for the queue to be idle, then for one reconcile after an explicit enqueue.
      await waitFor("the tenant queue to drain", () =>
        Promise.resolve(tenants.handle.controller.queue.len() === 0),
      );
      const done = new Promise<void>((r) => waiters.push(r));
      tenants.handle.controller.enqueue(name);
      await done;
    },
    async stop() {
      await mgr.stop();
      await tenants.close();
      client.close();
    },
  };
}

/** Spawns operator/main.ts running the Tenant controller for `stack` (other controllers scoped away). */
export function spawnTenantOperator(
  stack: TenantTestStack,
  extraEnv: Record<string, string> = {},
): OperatorProcess {
  return spawnOperator({
    ...stack.env(extraEnv),
    VAULTMESH_LEADER_ELECT: "false",
    VAULTMESH_WATCH_NAMESPACE: `${stack.id}-none`,
    VAULTMESH_TREATY_SELECTOR: `${TENANT_TEST_LABEL}-none=${stack.id}`,
    VAULTMESH_LEDGER_URL: stack.ledger.url,
    VAULTMESH_SIGNING_KEY_FILE: stack.ledger.keyFile,
  });
}

/** A Tenant of this stack (labelled into its scope). */
export function makeTenant(
  stack: TenantTestStack,
  name: string,
  spec: Partial<TenantSpec> = {},
): Tenant {
  return tenant(name)
    .labels({ [TENANT_TEST_LABEL]: stack.id })
    .displayName(`Community ${name}`)
    .owners(`owner@${name}.example`)
    .rateLimit(120)
    .spec(spec)
    .obj();
}

/** Reads a Tenant. */
export async function getTenant(client: KubeClient, name: string): Promise<Tenant | undefined> {
  return await client.get<Tenant>(Resources.Tenant, name);
}

/** Waits until the Tenant satisfies `pred`, returning it. */
export async function waitForTenant(
  client: KubeClient,
  name: string,
  what: string,
  pred: (t: Tenant) => boolean,
  timeoutMs = 60_000,
): Promise<Tenant> {
  return await waitFor(
    `tenant ${name}: ${what}`,
    async () => {
      const t = await getTenant(client, name);
      return t && pred(t) ? t : undefined;
    },
    timeoutMs,
  );
}

/** The condition `type` of a Tenant. */
export function tenantCondition(
  t: Tenant | undefined,
  type: string,
): { status: string; reason: string; message: string } | undefined {
  return t?.status?.conditions?.find((c) => c.type === type);
}

/** True when the Tenant is Ready. */
export const isReady = (t: Tenant): boolean => tenantCondition(t, "Ready")?.status === "True";
