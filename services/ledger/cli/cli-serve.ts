/**
 * `remembrancer serve`: runs the read-only proof API over a ledger database and, given keys,
 * publishes (OpenPGP + RFC 3161) the newest tree head on an interval.
 */
import type { Command } from "commander";
import { buildProofApi } from "../proof-api.ts";
import { openLedger, type LedgerFlags } from "./cli-context.ts";
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
  // A long-running server keeps the tree in memory: proofs without a database round trip.
  const { ledger, close } = await openLedger(io, f, publishing, true);
  const app = buildProofApi({ ledger, logger: io.logger });
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
    stopPublishing();
    await app.close();
    await close();
  }
  return EXIT.ok;
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
