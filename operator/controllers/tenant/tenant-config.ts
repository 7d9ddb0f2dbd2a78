/**
 * The Tenant controller's configuration from the operator's environment, and the start-up of
 * its services: the Arrakis database (migrated at start when an owner URL is given), Redis,
 * Stripe (and its webhook endpoint), Discord. Each service is optional; a missing one is
 * reported Disabled on every Tenant. Secrets (Stripe key, webhook secret, Discord token) are
 * read from files (mounted Secrets), never from the environment, and never logged.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { REST } from "@discordjs/rest";
import { Redis } from "ioredis";
import pg from "pg";
import Stripe from "stripe";
import { TenantConditionType } from "../../../crds/constants.ts";
import type { Tenant } from "../../../crds/index.ts";
import {
  DependencyHealth,
  describeError,
  guardPgPool,
  outageReason,
  guardRedis,
  type DependencyReporter,
} from "../../../services/dependency-health/index.ts";
import type { Logger } from "../../../services/kube/index.ts";
import { Resources } from "../../../services/kube/index.ts";
import { TenantDiscord } from "../../../services/tenant-stack/discord/discord-binding.ts";
import { migrate } from "../../../services/tenant-stack/postgres/migrate.ts";
import { TenantDatabase } from "../../../services/tenant-stack/postgres/tenant-database.ts";
import { TenantCache } from "../../../services/tenant-stack/redis/tenant-cache.ts";
import { TenantBilling } from "../../../services/tenant-stack/stripe/billing.ts";
import { buildStripeWebhookServer } from "../../../services/tenant-stack/stripe/stripe-webhook.ts";
import type { Manager } from "../../runtime/index.ts";
import type { TenantStackConfig } from "./tenant-env.ts";
import {
  KubeBillingStateStore,
  TENANTS_BY_CUSTOMER,
  tenantsByCustomer,
} from "./billing-state-store.ts";
import type { TenantServices } from "./tenant-context.ts";
import { createTenantController, type TenantControllerHandle } from "./tenant-controller.ts";
import {
  discordProbeUrl,
  probeHttp,
  SaasDependency,
  stripeProbeUrl,
  watchWhileDown,
} from "./tenant-saas-health.ts";
import type { ReceiptLedger } from "./tenant-teardown.ts";

export { tenantStackConfigFromEnv, type TenantStackConfig } from "./tenant-env.ts";

/** A Stripe client for `apiBase` (e.g. stripe-mock's http://127.0.0.1:12111) or Stripe itself. */
export function stripeClient(apiKey: string, apiBase?: string): Stripe {
  if (!apiBase) return new Stripe(apiKey, { maxNetworkRetries: 2, timeout: 20_000 });
  const u = new URL(apiBase);
  return new Stripe(apiKey, {
    host: u.hostname,
    port: Number(u.port || (u.protocol === "https:" ? 443 : 80)),
    protocol: u.protocol === "https:" ? "https" : "http",
    maxNetworkRetries: 2,
    timeout: 20_000,
  });
}

const secretFile = (path: string): string => readFileSync(path, "utf8").trim();

/** The running Tenant stack of an operator process. */
export interface TenantStack {
  readonly handle: TenantControllerHandle;
  readonly services: TenantServices;
  /** URL of the Stripe webhook endpoint, when served. */
  readonly webhookUrl?: string;
  close(): Promise<void>;
}

/** Opens the services, registers the Tenant controller, serves the Stripe webhook endpoint. */
export async function startTenantStack(
  mgr: Manager,
  cfg: TenantStackConfig,
  deps: {
    readonly clock: { now(): Date };
    readonly ledger?: ReceiptLedger;
    readonly log: Logger;
    /** Where the database and Redis report their state (/readyz); none in some tests. */
    readonly health?: DependencyHealth;
  },
): Promise<TenantStack | undefined> {
  if (!cfg.enabled) return undefined;
  const closers: (() => Promise<void>)[] = [];
  // Each client's `error` events are handled in one place (services/dependency-health): an
  // unhandled one would end the process when the server restarts (ADR 0071).
  const health = deps.health ?? new DependencyHealth({ clock: deps.clock, logger: deps.log });
  const reporter: Reporter = (name, whileDown) => health.register(name, { whileDown });
  const database = cfg.databaseUrl
    ? await openDatabase(cfg.databaseUrl, cfg.databaseMigrateUrl, {
        reporter,
        closers,
        log: deps.log,
      })
    : undefined;
  const cache = cfg.redisUrl ? openCache(cfg.redisUrl, reporter, closers) : undefined;
  const { stripe, billing, stripeHealth } = cfg.stripe
    ? openStripe(cfg.stripe, reporter, closers)
    : { stripe: undefined, billing: undefined, stripeHealth: undefined };
  const { discord, discordHealth } = cfg.discord
    ? openDiscord(cfg.discord, reporter, closers)
    : { discord: undefined, discordHealth: undefined };
  const services: TenantServices = {
    database,
    cache,
    billing,
    discord,
    stripeHealth,
    discordHealth,
    billingConfigId: cfg.stripe
      ? createHash("sha256").update(JSON.stringify(cfg.stripe.billing)).digest("hex").slice(0, 16)
      : undefined,
  };
  const handle = createTenantController(mgr, {
    clock: deps.clock,
    services,
    ...(deps.ledger ? { ledger: deps.ledger } : {}),
    settings: cfg.settings,
    tenantSelector: cfg.tenantSelector,
    ...(cfg.workers !== undefined ? { workers: cfg.workers } : {}),
  });
  requeueOnReturn(health, handle);
  const webhookUrl =
    stripe && cfg.stripe?.webhookSecretFile && cfg.stripe.webhookAddr
      ? await serveStripeWebhook(
          mgr,
          stripe,
          {
            secretFile: cfg.stripe.webhookSecretFile,
            addr: cfg.stripe.webhookAddr,
            tenantSelector: cfg.tenantSelector,
          },
          { log: deps.log, closers },
        )
      : undefined;
  return {
    handle,
    services,
    ...(webhookUrl ? { webhookUrl } : {}),
    async close() {
      for (const c of closers.reverse()) await c().catch(() => undefined);
    },
  };
}

/** Registers a dependency with what waits while it is down (services/dependency-health). */
type Reporter = (name: string, whileDown: string) => DependencyReporter;

/** Where an opened service registers its health and its closer. */
interface OpenContext {
  readonly reporter: Reporter;
  readonly closers: (() => Promise<void>)[];
  readonly log: Logger;
}

// The Arrakis database, migrated first when `migrateUrl` (the owner role) is given.
async function openDatabase(
  databaseUrl: string,
  migrateUrl: string | undefined,
  { reporter, closers, log }: OpenContext,
): Promise<TenantDatabase> {
  if (migrateUrl) {
    // Before the first reconcile when the database answers; while it is away, retried in
    // the background: the rest of the operator must not wait for it (ADR 0071).
    const stop = new AbortController();
    const ownerUrl = migrateUrl;
    const appRole = decodeURIComponent(new URL(databaseUrl).username);
    const migrateOnce = (): Promise<boolean> =>
      tryMigrate(
        ownerUrl,
        appRole,
        reporter("arrakis-postgres-owner", "the Arrakis schema migration waits"),
        log,
      );
    if (!(await migrateOnce())) {
      const done = retryUntil(migrateOnce, stop.signal).catch((err: unknown) =>
        log.error({ err: describeError(err) }, "arrakis schema migration failed"),
      );
      closers.push(async () => {
        stop.abort();
        await done;
      });
    }
  }
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 8,
    connectionTimeoutMillis: 5000,
  });
  guardPgPool(
    pool,
    reporter("arrakis-postgres", "Tenants' Database component waits and is retried"),
  );
  closers.push(() => pool.end());
  return new TenantDatabase(pool);
}

function openCache(
  redisUrl: string,
  reporter: Reporter,
  closers: (() => Promise<void>)[],
): TenantCache {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  guardRedis(redis, reporter("redis", "Tenants' Cache component waits and is retried"));
  closers.push(() => {
    redis.disconnect();
    return Promise.resolve();
  });
  return new TenantCache(redis);
}

function openStripe(
  cfg: NonNullable<TenantStackConfig["stripe"]>,
  reporter: Reporter,
  closers: (() => Promise<void>)[],
): { stripe: Stripe; billing: TenantBilling; stripeHealth: DependencyReporter } {
  const stripe = stripeClient(secretFile(cfg.apiKeyFile), cfg.apiBase);
  const billing = new TenantBilling(stripe, cfg.billing);
  const stripeHealth = reporter(
    SaasDependency.Stripe,
    "Tenants stay Ready (Degraded); metering and plan sync are retried",
  );
  closers.push(watchSaas(stripeHealth, stripeProbeUrl(cfg.apiBase)));
  return { stripe, billing, stripeHealth };
}

// Serves the Stripe webhook endpoint at `webhookAddr`; returns its URL.
async function serveStripeWebhook(
  mgr: Manager,
  stripe: Stripe,
  cfg: { readonly secretFile: string; readonly addr: string; readonly tenantSelector?: string },
  { log, closers }: Pick<OpenContext, "log" | "closers">,
): Promise<string> {
  const tenants = mgr.informer<Tenant>(Resources.Tenant, {
    ...(cfg.tenantSelector ? { labelSelector: cfg.tenantSelector } : {}),
    indexers: { [TENANTS_BY_CUSTOMER]: tenantsByCustomer },
  });
  const app = buildStripeWebhookServer({
    stripe,
    endpointSecret: secretFile(cfg.secretFile),
    store: new KubeBillingStateStore(mgr.client, tenants),
    log: (msg, fields) => log.info(fields ?? {}, msg),
  });
  const addr = cfg.addr;
  const i = addr.lastIndexOf(":");
  const webhookUrl = await app.listen({
    host: addr.slice(0, i) || "0.0.0.0",
    port: Number(addr.slice(i + 1)),
  });
  log.info({ url: webhookUrl }, "serving the Stripe webhook endpoint");
  closers.push(() => app.close());
  return webhookUrl;
}

// Tenants whose Database or Cache component failed while its server was away are reconciled
// the moment it answers again, not at the end of their backoff (up to a minute); a Redis
// without persistence that restarted empty gets every ACL user and limit back (ADR 0075).
// When Stripe or Discord return, only the tenants whose Billing or Discord component is failing
// are reconciled: Degraded clears and waiting notices and usage go out at once (ADR 0077).
function requeueOnReturn(health: DependencyHealth, handle: TenantControllerHandle): void {
  for (const name of ["arrakis-postgres", "redis"]) {
    health.onReturn(name, () => handle.requeueAll());
  }
  health.onReturn(SaasDependency.Stripe, () => handle.requeueFailing(TenantConditionType.Billing));
  health.onReturn(SaasDependency.Discord, () => handle.requeueFailing(TenantConditionType.Discord));
}

// Probes a SaaS reported down until it answers (tenant-saas-health.ts); the closer stops it.
function watchSaas(rep: DependencyReporter, url: string): () => Promise<void> {
  const stop = watchWhileDown(rep, () => probeHttp(url));
  return () => {
    stop();
    return Promise.resolve();
  };
}

function openDiscord(
  cfg: NonNullable<TenantStackConfig["discord"]>,
  reporter: Reporter,
  closers: (() => Promise<void>)[],
): { discord: TenantDiscord; discordHealth: DependencyReporter } {
  const rest = new REST({
    ...(cfg.api ? { api: cfg.api } : {}),
    timeout: 10_000,
    retries: 2,
  });
  rest.setToken(secretFile(cfg.tokenFile));
  const discordHealth = reporter(
    SaasDependency.Discord,
    "Tenants stay Ready (Degraded); notices and slash commands are retried",
  );
  closers.push(watchSaas(discordHealth, discordProbeUrl(cfg.api)));
  return { discord: new TenantDiscord(rest, cfg.applicationId), discordHealth };
}

// Migrates the Arrakis schema with the owner role: true when done, false while the database
// is away; other errors (a bad migration, a wrong role) are thrown.
async function tryMigrate(
  url: string,
  appRole: string,
  dep: DependencyReporter,
  log: Logger,
): Promise<boolean> {
  const owner = guardPgPool(
    new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5000 }),
    dep,
  );
  try {
    const r = await migrate(owner, { appRole });
    log.info({ applied: r.applied, version: r.version }, "arrakis schema migrated");
    return true;
  } catch (err) {
    const reason = outageReason(err);
    if (!reason) throw err;
    dep.down(reason, err);
    return false;
  } finally {
    await owner.end();
  }
}

// Calls `attempt` every 2 s until it returns true or `signal` aborts.
async function retryUntil(attempt: () => Promise<boolean>, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await sleep(2000, undefined, { signal }).catch(() => undefined);
    if (signal.aborted || (await attempt())) return;
  }
}
