/**
 * Shared set-up of the operator integration tests: a ledger on a private Postgres, the
 * operator in-process (a Manager with the Treaty and GPUWorkload controllers, scoped to the
 * test's namespace and treaty label) or as child processes of operator/main.ts that a test
 * can kill -9, and small readers of cluster state.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import type { Condition, GPUWorkload, Receipt, Treaty } from "../../crds/index.ts";
import { createGPUWorkloadController } from "../../operator/controllers/gpuworkload/gpuworkload-controller.ts";
import type { Job } from "../../operator/shared/kube-types.ts";
import { SecretProviderConnector } from "../../operator/controllers/gpuworkload/provider-connector.ts";
import { createTreatyController } from "../../operator/controllers/treaty/treaty-controller.ts";
import { Manager } from "../../operator/runtime/index.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../../services/ledger/ed25519.ts";
import { Ledger } from "../../services/ledger/ledger.ts";
import { generateOpenPgpKey, openPgpSigner } from "../../services/ledger/openpgp-keys.ts";
import { localTimestamper } from "../../services/tsa/timestamper.ts";
import { generateTsaCredentials } from "../../services/tsa/tsa-certs.ts";
import { createTsaResponder } from "../../services/tsa/tsa-responder.ts";
import { KubeClient, Resources } from "../../services/kube/index.ts";
import { kubeConfig } from "../harness/kube.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../harness/postgres.ts";

/** A ledger on a fresh database, with its signing key on disk for operator processes. */
export interface TestLedger {
  readonly ledger: Ledger;
  readonly pool: pg.Pool;
  readonly url: string;
  readonly keyFile: string;
  stop(): Promise<void>;
}

/**
 * Starts Postgres (or uses VAULTMESH_TEST_PG_URL) and opens a migrated ledger, signing with
 * `signingKeyPem` (a test that pins the ledger's key elsewhere) or a fresh key.
 */
export async function startTestLedger(
  prefix: string,
  opts: { readonly signingKeyPem?: string } = {},
): Promise<TestLedger> {
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

/** The pooled client tests use. */
export async function testClient(): Promise<KubeClient> {
  return await KubeClient.create(kubeConfig(), { fieldManager: "vaultmesh-test" });
}

/** Starts the Treaty and GPUWorkload controllers in this process, scoped to `namespace`. */
export async function startInProcessOperator(opts: {
  namespace: string;
  treatySelector: string;
  ledger: Ledger;
  unschedulableTimeoutMs?: number;
  /** First back-off of a treaty after an attempt abandoned there (ADR 0099). @default 60000 */
  retryBackoffMs?: number;
  /** How often the Treaty controller pings external endpoints. @default 30000 */
  probeIntervalMs?: number;
  /** How often an external provider's job is polled. @default 500 */
  providerPollMs?: number;
  /** Back-off of a failing workload's retries. @default the work queue's, 100 ms to 60 s */
  queueBackoff?: { baseDelayMs: number; maxDelayMs: number };
}): Promise<{ mgr: Manager; stop(): Promise<void> }> {
  const client = await testClient();
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
    // Credentials Secrets without a namespace are looked up in the test's namespace.
    providers: new SecretProviderConnector({
      client,
      defaultNamespace: opts.namespace,
      clock: systemClock,
    }),
    providerPollMs: opts.providerPollMs ?? 500,
    ...(opts.queueBackoff !== undefined ? { queueBackoff: opts.queueBackoff } : {}),
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

/** An operator child process (node_modules/.bin/node operator/main.ts). */
export interface OperatorProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves with the exit code or signal once it exited. */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns operator/main.ts with the environment the tests scope it by. */
export function spawnOperator(env: Record<string, string>): OperatorProcess {
  const child = spawn("node_modules/.bin/node", ["operator/main.ts"], {
    env: { ...process.env, VAULTMESH_HTTP_ADDR: "127.0.0.1:0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((r) =>
    child.on("exit", (code, sig) => r(code ?? sig ?? "unknown")),
  );
  return { child, output: () => out, exited, kill: (s = "SIGKILL") => void child.kill(s) };
}

/** Reads every GPUWorkload, Job and Receipt of a namespace. */
export async function snapshot(
  client: KubeClient,
  namespace: string,
): Promise<{ workloads: GPUWorkload[]; jobs: Job[]; receipts: Receipt[] }> {
  const [w, j, r] = await Promise.all([
    client.list<GPUWorkload>(Resources.GPUWorkload, { namespace }),
    client.list<Job>(Resources.Job, { namespace }),
    client.list<Receipt>(Resources.Receipt, { namespace }),
  ]);
  return { workloads: w.items, jobs: j.items, receipts: r.items };
}

/** Creates a Treaty with the test's label (so only the test's operator sees it). */
export async function createTreaty(client: KubeClient, t: Treaty, label: string): Promise<Treaty> {
  const [k, v] = label.split("=");
  return await client.create(Resources.Treaty, {
    ...t,
    metadata: { ...t.metadata, labels: { ...(t.metadata.labels ?? {}), [k ?? "test"]: v ?? "" } },
  });
}

/** The condition `type` of a workload. */
export function cond(w: GPUWorkload | undefined, type: string): Condition | undefined {
  return w?.status?.conditions?.find((c) => c.type === type);
}
