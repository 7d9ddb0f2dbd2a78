/**
 * The operator run in this process for dev tools and tests: a ledger on a private Postgres
 * (signing, OpenPGP and RFC 3161 time-stamping like a real instance) and a Manager with the
 * Treaty and GPUWorkload controllers, scoped to one namespace and treaty label. One home for
 * that wiring: the integration tests (test/integration/operator-env.ts re-exports it) and the
 * war-game's live mode (wargame/live-stack.ts) run the same operator. Not in the image.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import pg from "pg";
import { pino } from "pino";
import { createGPUWorkloadController } from "../operator/controllers/gpuworkload/gpuworkload-controller.ts";
import { SecretProviderConnector } from "../operator/controllers/gpuworkload/provider-connector.ts";
import { createTreatyController } from "../operator/controllers/treaty/treaty-controller.ts";
import { Manager } from "../operator/runtime/index.ts";
import { KubeClient } from "../services/kube/index.ts";
import { systemClock } from "../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../services/ledger/ed25519.ts";
import { Ledger } from "../services/ledger/ledger.ts";
import { generateOpenPgpKey, openPgpSigner } from "../services/ledger/openpgp-keys.ts";
import { localTimestamper } from "../services/tsa/timestamper.ts";
import { generateTsaCredentials } from "../services/tsa/tsa-certs.ts";
import { createTsaResponder } from "../services/tsa/tsa-responder.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../test/harness/postgres.ts";

/** A ledger on a fresh database, with its signing key on disk for operator processes. */
export interface LocalLedger {
  readonly ledger: Ledger;
  readonly pool: pg.Pool;
  readonly url: string;
  readonly keyFile: string;
  stop(): Promise<void>;
}

/**
 * Starts Postgres (or uses VAULTMESH_TEST_PG_URL) and opens a migrated ledger on a fresh
 * database named after `prefix`, signing with `signingKeyPem` (a caller that pins the ledger's
 * key elsewhere) or a fresh key.
 */
export async function startLocalLedger(
  prefix: string,
  opts: { readonly signingKeyPem?: string } = {},
): Promise<LocalLedger> {
  const server: PostgresServer = await startPostgres();
  const db: TestDatabase = await server.createDatabase(prefix);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on("error", () => undefined); // an idle client may meet the teardown's drop
  const key = { privateKeyPem: opts.signingKeyPem ?? generateEd25519().privateKeyPem };
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-op-key-"));
  const keyFile = join(dir, "signing-key.pem");
  writeFileSync(keyFile, key.privateKeyPem, { mode: 0o600 });
  // Tree heads are published (OpenPGP + RFC 3161) by this instance, as verify-full expects.
  const creds = await generateTsaCredentials(systemClock);
  const responder = await createTsaResponder({ credentials: creds, clock: systemClock });
  const pgp = await generateOpenPgpKey("VaultMesh test ledger", "ledger@vaultmesh.invalid");
  const ledger = await Ledger.open({
    pool,
    clock: systemClock,
    logger: pino({ level: "silent" }),
    signer: ed25519Signer(key.privateKeyPem),
    openpgp: await openPgpSigner(pgp.privateKeyArmored),
    timestamper: localTimestamper(responder),
  });
  return {
    ledger,
    pool,
    url: db.url,
    keyFile,
    async stop() {
      await ledger.flush();
      await pool.end();
      await db.drop();
      await server.stop();
    },
  };
}

/** A pooled client of the cluster KUBECONFIG (or the default kubeconfig) names. */
export async function localKubeClient(): Promise<KubeClient> {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  return await KubeClient.create(kc, { fieldManager: "vaultmesh-test" });
}

/** What {@link startInProcessOperator} runs against, and its timings. */
export interface InProcessOperatorOptions {
  readonly namespace: string;
  readonly treatySelector: string;
  readonly ledger: Ledger;
  readonly unschedulableTimeoutMs?: number;
  /** First back-off of a treaty after an attempt abandoned there (ADR 0099). @default 60000 */
  readonly retryBackoffMs?: number;
  /** How often the Treaty controller pings external endpoints. @default 30000 */
  readonly probeIntervalMs?: number;
  /** How often an external provider's job is polled. @default 500 */
  readonly providerPollMs?: number;
  /** Back-off of a failing workload's retries. @default the work queue's, 100 ms to 60 s */
  readonly queueBackoff?: { readonly baseDelayMs: number; readonly maxDelayMs: number };
}

/** Starts the Treaty and GPUWorkload controllers in this process, scoped to `namespace`. */
export async function startInProcessOperator(
  opts: InProcessOperatorOptions,
): Promise<{ mgr: Manager; stop(): Promise<void> }> {
  const client = await localKubeClient();
  const mgr = new Manager({
    client,
    logger: pino({ level: process.env.OPERATOR_LOG ?? "silent" }),
  });
  const scope = { namespace: opts.namespace, treatySelector: opts.treatySelector };
  createTreatyController(mgr, {
    clock: systemClock,
    scope,
    ...(opts.probeIntervalMs !== undefined ? { probeIntervalMs: opts.probeIntervalMs } : {}),
  });
  createGPUWorkloadController(mgr, {
    ledger: opts.ledger,
    clock: systemClock,
    scope,
    // Credentials Secrets without a namespace are looked up in the operator's namespace.
    providers: new SecretProviderConnector({
      client,
      defaultNamespace: opts.namespace,
      clock: systemClock,
    }),
    providerPollMs: opts.providerPollMs ?? 500,
    ...(opts.queueBackoff !== undefined ? { queueBackoff: { ...opts.queueBackoff } } : {}),
    ...(opts.unschedulableTimeoutMs !== undefined
      ? { unschedulableTimeoutMs: opts.unschedulableTimeoutMs }
      : {}),
    ...(opts.retryBackoffMs !== undefined
      ? { retryBackoff: { baseMs: opts.retryBackoffMs, maxMs: opts.retryBackoffMs * 4 } }
      : {}),
  });
  await mgr.start();
  return {
    mgr,
    async stop() {
      await mgr.stop();
      client.close();
    },
  };
}
