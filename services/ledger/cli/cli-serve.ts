/**
 * `remembrancer serve`: runs the read-only proof API over a ledger database and, given keys,
 * publishes (OpenPGP + RFC 3161) the newest tree head on an interval.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { Registry } from "prom-client";
import {
  DependencyHealth,
  describeError,
  outageReason,
  registerDependencyMetrics,
  startProbe,
} from "../../dependency-health/index.ts";
import { HttpMetrics, processMetrics } from "../../metrics/index.ts";
import { createWitness, WitnessKeyError } from "../../federation/cosignature.ts";
import {
  FederationReceiptService,
  peersFromWitnessTrust,
} from "../../federation/federation-receipt-service.ts";
import type { WitnessedLog } from "../../federation/witness-protocol.ts";
import {
  parseWitnessTrust,
  WitnessService,
  WitnessTrustError,
} from "../../federation/witness-service.ts";
import { federationPeersOf, WitnessTrustStore } from "../../federation/witness-trust-store.ts";
import { ed25519Signer } from "../ed25519.ts";
import type { Ledger } from "../ledger.ts";
import { LedgerMetrics } from "../ledger-metrics.ts";
import { buildProofApi } from "../proof-api.ts";
import { allKeys } from "../store/pg-log-queries.ts";
import { LEDGER_DATABASE, openLedger, readInput, type LedgerFlags } from "./cli-context.ts";
import { EXIT, UsageError, type CliIO } from "./cli-io.ts";
import type { SetExit } from "./cli-keys.ts";

interface ServeFlags extends LedgerFlags {
  readonly port: string;
  readonly host: string;
  readonly publishEvery: string;
  readonly witnessTrust?: string;
  readonly witnessTrustDb?: boolean;
  readonly witnessKey?: string;
  readonly witnessName?: string;
}

/**
 * The tlog-witness endpoint from --witness-trust, --witness-trust-db, --witness-key and
 * --witness-name (ADR 0083, 0094): undefined without a trust source; a usage error naming the
 * file or line at fault otherwise. With --witness-trust-db the peer logs are read per request
 * from ledger_witness_trust (the operator records them from FederationPeers), merged with the
 * file's.
 */
async function loadWitness(
  io: CliIO,
  f: ServeFlags,
  ledger: Ledger,
  signing: boolean,
): Promise<{ witness: WitnessService; federation?: FederationReceiptService } | undefined> {
  if (!f.witnessTrust && !f.witnessTrustDb) {
    if (f.witnessKey || f.witnessName)
      throw new UsageError(
        "--witness-key/--witness-name need --witness-trust FILE or --witness-trust-db",
      );
    return undefined;
  }
  if (!f.witnessKey) {
    throw new UsageError(
      `${f.witnessTrust ? "--witness-trust" : "--witness-trust-db"} needs --witness-key PEM`,
    );
  }
  const name = f.witnessName ?? (ledger.origin && `${ledger.origin}/witness`);
  if (!name) throw new UsageError("--witness-name: required while the ledger has no origin");
  // Every Ed25519 key this ledger has signed with: the witness key must be none of them.
  const ownKeys = (await allKeys(ledger.store.pool)).filter((k) => k.kind === "ed25519");
  try {
    const fileLogs = f.witnessTrust
      ? parseWitnessTrust(
          readInput(io, f.witnessTrust, "witness trust file").toString("utf8"),
          ledger.origin,
        )
      : new Map<string, WitnessedLog>();
    const signer = ed25519Signer(readInput(io, f.witnessKey, "witness key").toString("utf8"));
    const logKeys = [
      ...ownKeys.map((k) => k.publicKey),
      ...[...fileLogs.values()].flatMap((l) => l.publicKeys),
    ];
    const witness = createWitness(name, signer, logKeys);
    const pool = ledger.store.pool;
    const store = f.witnessTrustDb
      ? new WitnessTrustStore({
          pool,
          fileLogs,
          ownOrigin: ledger.origin,
          // A pinned key that is ours or our witness's is never a peer's (ADR 0081).
          excludedKeys: [...ownKeys.map((k) => k.publicKey), witness.publicKey],
        })
      : undefined;
    const logs = store ?? fileLogs;
    return {
      witness: new WitnessService({ pool, witness, logs, clock: io.clock }),
      // Peers' FederationSynced proposals, checked against the same pinned logs and appended
      // with the log key, so only a server that has it takes them (ADR 0088).
      ...(signing
        ? {
            federation: new FederationReceiptService({
              ledger,
              pool,
              witnessKey: witness.vkey,
              peers: store ? federationPeersOf(store) : peersFromWitnessTrust(fileLogs),
              clock: io.clock,
            }),
          }
        : {}),
    };
  } catch (err) {
    if (err instanceof WitnessTrustError) throw new UsageError(`${f.witnessTrust}: ${err.message}`);
    if (err instanceof WitnessKeyError) throw new UsageError(`--witness-key: ${err.message}`);
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${f.witnessKey}: ${(err as Error).message}`);
  }
}

async function serve(io: CliIO, f: ServeFlags): Promise<number> {
  const port = Number(f.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: expected 0-65535, got ${f.port}`);
  const every = Number(f.publishEvery);
  if (!Number.isFinite(every) || every < 0)
    throw new UsageError("--publish-every: expected seconds ≥ 0");
  const publishing = every > 0 && Boolean(f.keyDir ?? io.env.REMEMBRANCER_KEY_DIR);
  const health = new DependencyHealth({ clock: io.clock, logger: io.logger });
  // GET /metrics on the proof API's port: the ledger's own, RED, dependencies, process (ADR 0110).
  const registry = new Registry();
  processMetrics(registry);
  registerDependencyMetrics(health, registry);
  const ledgerMetrics = new LedgerMetrics(registry);
  const opened = await openWhenReachable(io, f, publishing, health, ledgerMetrics);
  if (!opened) return EXIT.ok; // stopped while waiting for the database
  const { ledger, close } = opened;
  let witnessing: Awaited<ReturnType<typeof loadWitness>>;
  try {
    witnessing = await loadWitness(io, f, ledger, publishing);
  } catch (err) {
    await close();
    throw err;
  }
  const app = buildProofApi({
    ledger,
    logger: io.logger,
    health,
    metrics: { registry, http: new HttpMetrics(registry, "ledger"), ledger: ledgerMetrics },
    ...(witnessing ?? {}),
  });
  const witness = witnessing?.witness;
  // Probed, so /readyz tells the truth even when no request and no publication touches it.
  const stopProbe = startProbe(
    health.register(LEDGER_DATABASE),
    () => ledger.store.pool.query("SELECT 1"),
    { intervalMs: 10_000, downIntervalMs: 2_000 },
  );
  const stopPublishing = publishing ? ledger.startPublishing(every * 1000) : (): void => undefined;
  try {
    const url = await app.listen({ port, host: f.host });
    io.stdout(
      `proof API listening on ${url}${publishing ? `, publishing tree heads every ${every}s` : ""}\n`,
    );
    if (witness) io.stdout(`witness ${witness.vkey} at ${url}/v1/witness/add-checkpoint\n`);
    await new Promise<void>((done) => {
      if (io.signal) io.signal.addEventListener("abort", () => done(), { once: true });
      else for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => done());
    });
  } finally {
    stopProbe();
    stopPublishing();
    await app.close();
    await close();
  }
  return EXIT.ok;
}

/**
 * Opens the ledger, waiting while its database is away (a server starts before or during a
 * database outage and serves once it returns, ADR 0071); undefined when stopped meanwhile.
 * A key or configuration error still ends the command at once.
 */
async function openWhenReachable(
  io: CliIO,
  f: ServeFlags,
  publishing: boolean,
  health: DependencyHealth,
  metrics: LedgerMetrics,
): Promise<{ ledger: Ledger; close: () => Promise<void> } | undefined> {
  for (;;) {
    try {
      // A long-running server keeps the tree in memory: proofs without a database round trip.
      return await openLedger(io, f, publishing, { cacheTree: true, health, metrics });
    } catch (err) {
      const reason = outageReason(err);
      if (!reason) throw err;
      health.register(LEDGER_DATABASE, { required: true }).down(reason, err);
      io.logger.warn({ err: describeError(err) }, "ledger database unavailable; retrying in 2s");
    }
    if (io.signal?.aborted) return undefined;
    await sleep(2000, undefined, io.signal ? { signal: io.signal } : {}).catch(() => undefined);
    if (io.signal?.aborted) return undefined;
  }
}

/** Registers serve. */
export function registerServeCommand(program: Command, io: CliIO, setExit: SetExit): void {
  program
    .command("serve")
    .description(
      "run the proof API (tree head, entries, inclusion and consistency proofs, bundles)",
    )
    .requiredOption("--port <port>", "TCP port (0 picks a free one)")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--db <url>", "Postgres URL (default $DATABASE_URL)")
    .option("--key-dir <dir>", "keys to publish tree heads with")
    .option("--tsa <url>", "TSA to time-stamp published tree heads")
    .option("--tsa-ca <pem>", "CA certificate of that TSA")
    .option("--publish-every <seconds>", "publication interval (0 = never)", "10")
    .option(
      "--witness-trust <file>",
      "serve the tlog-witness endpoint for the peer logs of FILE (one origin+hash+key vkey a line)",
    )
    .option(
      "--witness-trust-db",
      "serve the tlog-witness endpoint for the peer logs the operator records from FederationPeers in the ledger database (read per request; merged with --witness-trust)",
    )
    .option(
      "--witness-key <pem>",
      "Ed25519 private key the witness cosigns with (never the log key)",
    )
    .option("--witness-name <name>", "the witness's key name (default <origin>/witness)")
    .action(async (o: ServeFlags) => setExit(await serve(io, o)));
}
