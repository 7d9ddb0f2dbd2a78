/**
 * The operator process: configuration from the environment, the shared client and caches,
 * the ledger, the controllers, /metrics /healthz /readyz, and graceful shutdown on SIGTERM.
 * Wiring only — adding a controller is one `createXController(mgr, deps)` line below.
 * Dependencies are reported through one DependencyHealth; none of them going away stops the
 * process (ADR 0071): the ledger opens when its database answers, and completions wait.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import pg from "pg";
import { pino } from "pino";
import { configFromEnv } from "./config.ts";
import { createGPUWorkloadController } from "./controllers/gpuworkload/gpuworkload-controller.ts";
import { SecretProviderConnector } from "./controllers/gpuworkload/provider-connector.ts";
import { createFederationPeerController } from "./controllers/federationpeer/federationpeer-controller.ts";
import { federationEnv } from "./controllers/federationpeer/federationpeer-env.ts";
import { createReceiptController } from "./controllers/receipt/receipt-controller.ts";
import { createDeploymentRecorderControllers } from "./controllers/deployment-recorder/deployment-recorder-controller.ts";
import { tenantStackConfigFromEnv } from "./controllers/tenant/tenant-env.ts";
import { workloadCaches } from "./shared/workload-caches.ts";
import { createTreatyController } from "./controllers/treaty/treaty-controller.ts";
import { serveOperatorHttp } from "./http.ts";
import { OperatorMetrics } from "./metrics.ts";
import { Manager } from "./runtime/index.ts";
import { createKubeClient } from "../services/kube/index.ts";
import { systemClock } from "../services/ledger/clock.ts";
import { ed25519Signer } from "../services/ledger/ed25519.ts";
import {
  DependencyHealth,
  registerDependencyMetrics,
} from "../services/dependency-health/index.ts";
import { LedgerConnection } from "../services/ledger/ledger-connection.ts";
import { LedgerMetrics } from "../services/ledger/ledger-metrics.ts";
import { logOptions } from "../services/logging/log-options.ts";

const cfg = configFromEnv(process.env, hostname());
const log = pino(logOptions(cfg.logLevel, { identity: cfg.identity }));
if (!cfg.ledgerUrl || !cfg.signingKeyFile) {
  log.fatal("VAULTMESH_LEDGER_URL and VAULTMESH_SIGNING_KEY_FILE are required (receipts)");
  process.exit(2);
}
const client = await createKubeClient({ kubeconfig: cfg.kubeconfig });
const health = new DependencyHealth({ clock: systemClock, logger: log });
const pool = new pg.Pool({
  connectionString: cfg.ledgerUrl,
  max: 8,
  connectionTimeoutMillis: cfg.ledgerConnectTimeoutMs,
});
const metrics = new OperatorMetrics();
const ledger = LedgerConnection.start({
  pool,
  metrics: new LedgerMetrics(metrics.registry),
  clock: systemClock,
  logger: log.child({ component: "ledger" }),
  signer: ed25519Signer(readFileSync(cfg.signingKeyFile, "utf8")),
  ...(cfg.ledgerOrigin ? { origin: cfg.ledgerOrigin } : {}),
  dependency: health.register("ledger-postgres", {
    whileDown: "completions wait for their receipt (ReceiptPending); routing and placement go on",
  }),
});
registerDependencyMetrics(health, metrics.registry);
const mgr = new Manager({
  client,
  logger: log,
  metrics,
  ...(cfg.leaderElect
    ? {
        leaderElection: {
          namespace: cfg.leaseNamespace,
          name: cfg.leaseName,
          identity: cfg.identity,
          leaseDurationSeconds: cfg.leaseDurationSeconds,
          renewDeadlineSeconds: cfg.renewDeadlineSeconds,
          retryPeriodSeconds: cfg.retryPeriodSeconds,
        },
      }
    : {}),
  // Unlike client-go, a replica that lost the lease stays up as a standby (its controllers are
  // stopped, in-flight reconciles drained) and campaigns again: an API server outage longer
  // than the renew deadline must not end the process (ADR 0075).
  onLostLeadership: () => {
    log.warn("leadership lost; standing by and campaigning again");
  },
});
const scope = { namespace: cfg.watchNamespace, treatySelector: cfg.treatySelector };

// Controllers: one line each.
createTreatyController(mgr, {
  clock: systemClock,
  scope,
  credentialsNamespace: cfg.operatorNamespace,
  onRtt: (t, ms) => metrics.treatyRtt(t, ms),
  onStatus: (t, fill) => metrics.treatyFillRate(t, fill),
});
createGPUWorkloadController(mgr, {
  ledger,
  clock: systemClock,
  metrics,
  scope,
  workers: cfg.workers,
  unschedulableTimeoutMs: cfg.unschedulableTimeoutMs,
  providers: new SecretProviderConnector({
    client,
    defaultNamespace: cfg.operatorNamespace,
    clock: systemClock,
  }),
  providerPollMs: cfg.providerPollMs,
});
// This ledger has no Timestamper: tree heads stamped elsewhere (remembrancer serve) still count.
createReceiptController(mgr, {
  ledger,
  clock: systemClock,
  scope,
  timestamping: cfg.ledgerTimestamping,
  ...(cfg.timestampPendingRequeueMs !== undefined
    ? { pendingRequeueMs: cfg.timestampPendingRequeueMs }
    : {}),
});
// Deployment receipts: annotated (or namespace-labelled) apps/v1 rollouts (ADR 0144).
createDeploymentRecorderControllers(mgr, { ledger, clock: systemClock, scope });
// Federation: a sync round per FederationPeer and interval, cosigned with the witness key.
const federation = (() => {
  try {
    return federationEnv(process.env);
  } catch (err) {
    log.fatal((err as Error).message);
    process.exit(2);
  }
})();
createFederationPeerController(mgr, {
  clock: systemClock,
  ledger: () => ledger.ready(),
  signer: ed25519Signer(readFileSync(cfg.signingKeyFile, "utf8")),
  witnessKey: federation.witnessKey,
  peerSelector: federation.peerSelector,
  receiptNamespace: cfg.operatorNamespace,
  ...(federation.roundTimeoutMs ? { roundTimeoutMs: federation.roundTimeoutMs } : {}),
});
// The Tenant stack's clients (pg, Redis, Stripe, Discord) load only when it runs here.
const tenantCfg = tenantStackConfigFromEnv(process.env);
const tenants = tenantCfg.enabled
  ? await (
      await import("./controllers/tenant/tenant-config.ts")
    ).startTenantStack(mgr, tenantCfg, { clock: systemClock, ledger, log, health })
  : undefined;

const caches = workloadCaches(mgr, scope);
metrics.provenanceFrom(caches.workloads, caches.receipts);
metrics.treatyFillRateFrom(caches.workloads);
metrics.tenantUsageFrom(caches.tenants);
metrics.kubeRequestsFrom(client.requestCounts);
metrics.cachedObjectsFrom(() => mgr.cachedObjects());
const http = await serveOperatorHttp(mgr, metrics.registry, cfg.httpHost, cfg.httpPort, health);
log.info({ port: http.port }, "serving /metrics /healthz /readyz");
await mgr.start();

let stopping = false;
const shutdown = (sig: string): void => {
  if (stopping) return;
  stopping = true;
  log.info({ signal: sig }, "shutting down: draining reconciles, releasing the lease");
  void (async () => {
    await mgr.stop();
    ledger.stop();
    await ledger.flush().catch((err: Error) => log.warn({ err: err.message }, "ledger flush"));
    await tenants?.close();
    await http.close();
    await pool.end();
    client.close();
    log.info("stopped");
    process.exit(0);
  })();
};
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
