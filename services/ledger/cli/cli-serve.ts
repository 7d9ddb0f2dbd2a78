/**
 * `remembrancer serve`: runs the read-only proof API over a ledger database and, given keys,
 * publishes (OpenPGP + RFC 3161) the newest tree head on an interval.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import {
  DependencyHealth,
  describeError,
  outageReason,
  startProbe,
} from "../../dependency-health/index.ts";
import type { Ledger } from "../ledger.ts";
import { buildProofApi } from "../proof-api.ts";
import { LEDGER_DATABASE, openLedger, type LedgerFlags } from "./cli-context.ts";
import { EXIT, UsageError, type CliIO } from "./cli-io.ts";
import type { SetExit } from "./cli-keys.ts";

interface ServeFlags extends LedgerFlags {
  readonly port: string;
  readonly host: string;
  readonly publishEvery: string;
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
  const opened = await openWhenReachable(io, f, publishing, health);
  if (!opened) return EXIT.ok; // stopped while waiting for the database
  const { ledger, close } = opened;
  const app = buildProofApi({ ledger, logger: io.logger, health });
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
): Promise<{ ledger: Ledger; close: () => Promise<void> } | undefined> {
  for (;;) {
    try {
      // A long-running server keeps the tree in memory: proofs without a database round trip.
      return await openLedger(io, f, publishing, true, health);
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
    .action(async (o: ServeFlags) => setExit(await serve(io, o)));
}
