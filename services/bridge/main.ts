// Entry point of the tenant API ("aurora-bridge") — wiring only. Environment:
//   VAULTMESH_BRIDGE_DB_URL   Postgres URL of the Arrakis database as the application role
//   VAULTMESH_REDIS_URL       Redis (the tenants' limits and the rate-limit windows)
//   VAULTMESH_LEDGER_API      base URL of the ledger's proof API (`remembrancer serve`)
//   VAULTMESH_BRIDGE_PORT     @default 8080;  KUBECONFIG or in-cluster credentials
// SIGTERM/SIGINT: graceful shutdown (in-flight requests finish).
import { Redis } from "ioredis";
import pg from "pg";
import { pino } from "pino";
import type { GPUWorkload, Receipt, Tenant, Treaty } from "../../crds/index.ts";
import { createKubeClient, Informer, Resources } from "../kube/index.ts";
import { TenantCache } from "../tenant-stack/redis/tenant-cache.ts";
import { PostgresKeyStore } from "./api-key-auth.ts";
import { CachingKeyStore } from "./key-cache.ts";
import { HttpLedgerReader } from "./ledger-reader.ts";
import { startBridgeServer } from "./server.ts";
import { byNamespace, CachedTenantReads, NAMESPACE_INDEX, TenantAccess } from "./tenant-reads.ts";

const env = process.env;
const need = (k: string): string => {
  const v = env[k];
  if (!v) {
    process.stderr.write(`bridge: environment variable ${k} is required\n`);
    process.exit(2);
  }
  return v;
};
const logger = pino({
  name: "vaultmesh-bridge",
  level: env.LOG_LEVEL ?? "info",
  redact: ["req.headers.authorization", "headers.authorization"],
});

const pool = new pg.Pool({ connectionString: need("VAULTMESH_BRIDGE_DB_URL"), max: 16 });
pool.on("error", (err) => logger.warn({ err: err.message }, "idle database client failed"));
const redis = new Redis(need("VAULTMESH_REDIS_URL"), { maxRetriesPerRequest: 1 });
redis.on("error", (err: Error) => logger.debug({ err: err.message }, "redis"));
const ledger = new HttpLedgerReader(need("VAULTMESH_LEDGER_API"));
const kube = await createKubeClient({ fieldManager: "vaultmesh-bridge" });
const treaties = new Informer<Treaty>(kube, Resources.Treaty, { logger });
const tenants = new Informer<Tenant>(kube, Resources.Tenant, { logger });
// Reads are served from these (ADR 0124), each tenant's slice found by its namespace.
const indexers = { [NAMESPACE_INDEX]: byNamespace };
const workloads = new Informer<GPUWorkload>(kube, Resources.GPUWorkload, { logger, indexers });
const receipts = new Informer<Receipt>(kube, Resources.Receipt, { logger, indexers });
const informers = [treaties, tenants, workloads, receipts];
await Promise.all(informers.map((i) => i.start()));
const keys = new PostgresKeyStore(pool);

const server = await startBridgeServer({
  port: Number(env.VAULTMESH_BRIDGE_PORT ?? 8080),
  deps: {
    keys: new CachingKeyStore(keys),
    reads: new CachedTenantReads(new TenantAccess(kube), workloads, receipts),
    limiter: new TenantCache(redis),
    kube,
    treaties,
    tenants,
    ledger,
    logger,
    health: {
      database: () => keys.ping(),
      redis: async () => {
        await redis.ping();
      },
      ledger: () => ledger.ping(),
      kubernetes: async () => {
        await kube.request("GET", "/version");
      },
    },
  },
});
logger.info({ url: server.url }, "tenant API listening");

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  logger.info("shutting down: finishing in-flight requests");
  await server.close();
  await Promise.all(informers.map((i) => i.stop()));
  kube.close();
  redis.disconnect();
  await pool.end();
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
