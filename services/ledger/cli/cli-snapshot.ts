/**
 * `snapshot create FILE`, `snapshot verify FILE` and `snapshot restore FILE --into DB`: the
 * signed, self-verifying copy of the whole log and the disaster-recovery path back from it
 * (ADR 0140, docs/ledger.md).
 */
import type { Command } from "commander";
import pg from "pg";
import { createSnapshot } from "../snapshot/snapshot-create.ts";
import { SNAPSHOT_REFUSAL, SnapshotRefusal } from "../snapshot/snapshot-format.ts";
import { restoreSnapshot, verifySnapshot } from "../snapshot/snapshot-restore.ts";
import type { SnapshotSummary } from "../snapshot/snapshot-check.ts";
import {
  databaseUrl,
  loadSigner,
  loadTimestamper,
  loadTrust,
  inputPath,
  path,
  type LedgerFlags,
} from "./cli-context.ts";
import { checkDatabaseUrl, databaseFailure } from "./cli-errors.ts";
import { EXIT, printJson, type CliIO } from "./cli-io.ts";
import type { SetExit } from "./cli-keys.ts";

interface SnapshotFlags extends LedgerFlags {
  readonly into?: string;
  readonly level?: string;
}

function pool(url: string): pg.Pool {
  const p = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 5000 });
  p.on("error", () => undefined);
  return p;
}

function refused(io: CliIO, err: SnapshotRefusal, json: boolean): number {
  const code = err.code === SNAPSHOT_REFUSAL.targetNotEmpty ? EXIT.usage : EXIT.failed;
  if (json)
    printJson(io, { ok: false, reason: err.code, firstBadEntry: err.entry, detail: err.message });
  else {
    const at = err.entry !== undefined ? ` (first bad entry: ${err.entry})` : "";
    io.stdout(`✘ snapshot refused${at}: ${err.message} [${err.code}]\n`);
  }
  return code;
}

function summaryLines(io: CliIO, s: SnapshotSummary, json: boolean, extra: object = {}): void {
  const st = s.statement;
  if (json) {
    printJson(io, {
      ok: true,
      pinned: s.pinned,
      signedBy: s.signedBy,
      ...st,
      ...(s.timestampedAt ? { timestampedAt: s.timestampedAt } : {}),
      ...extra,
    });
    return;
  }
  io.stdout(`✔ entries — ${st.treeSize} entries re-hashed and checked in log order\n`);
  io.stdout(`✔ tree heads — ${st.treeHeads} signed tree heads match the recomputed roots\n`);
  io.stdout(`✔ snapshot signature — by ${s.signedBy.slice(0, 16)}, covers every line\n`);
  if (s.timestampedAt) io.stdout(`✔ snapshot timestamp — genTime ${s.timestampedAt}\n`);
  if (!s.pinned)
    io.stdout("! keys were taken from the snapshot itself; pass --trust to pin them\n");
  io.stdout(`root ${st.rootHash || "(empty log)"} at size ${st.treeSize}\n`);
}

async function guarded(io: CliIO, json: boolean, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof SnapshotRefusal) return refused(io, err, json);
    throw err;
  }
}

async function create(io: CliIO, file: string, f: SnapshotFlags): Promise<number> {
  const url = databaseUrl(io, f);
  const signer = loadSigner(io, f);
  const timestamper = await loadTimestamper(io, f);
  const p = pool(url);
  try {
    const r = await createSnapshot({
      pool: p,
      file: path(io, file),
      signer,
      ...(timestamper ? { timestamper } : {}),
      clock: io.clock,
      ...(f.level ? { level: Number(f.level) } : {}),
    }).catch((err: unknown) => {
      throw databaseFailure(err, url);
    });
    if (f.json)
      printJson(io, { file: r.file, bytes: r.bytes, timestamped: r.timestamped, ...r.statement });
    else
      io.stdout(
        `snapshot ${file}: ${r.statement.treeSize} entries, ${r.statement.treeHeads} tree heads, root ${r.statement.rootHash || "(empty log)"}, ${r.bytes} bytes${r.timestamped ? ", time-stamped" : ""}\n`,
      );
    return EXIT.ok;
  } finally {
    await p.end();
  }
}

async function verify(io: CliIO, file: string, f: SnapshotFlags): Promise<number> {
  const full = inputPath(io, file, "snapshot");
  const trust = loadTrust(io, f);
  return guarded(io, Boolean(f.json), async () => {
    summaryLines(io, await verifySnapshot(full, trust), Boolean(f.json));
    return EXIT.ok;
  });
}

async function restore(io: CliIO, file: string, f: SnapshotFlags): Promise<number> {
  const full = inputPath(io, file, "snapshot");
  const url = checkDatabaseUrl(f.into!, "--into");
  const trust = loadTrust(io, f);
  const p = pool(url);
  try {
    return await guarded(io, Boolean(f.json), async () => {
      const s = await restoreSnapshot({
        pool: p,
        file: full,
        ...(trust ? { trust } : {}),
      }).catch((err: unknown) => {
        throw databaseFailure(err, url);
      });
      summaryLines(io, s, Boolean(f.json), { restored: true });
      if (!f.json)
        io.stdout(`restored into ${new URL(url).pathname.slice(1)}: root matches the snapshot\n`);
      return EXIT.ok;
    });
  } finally {
    await p.end();
  }
}

/** Registers `snapshot create|verify|restore`. */
export function registerSnapshotCommands(program: Command, io: CliIO, setExit: SetExit): void {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  const snap = program
    .command("snapshot")
    .description("signed snapshots of the whole ledger; verify; restore");
  snap
    .command("create <file>")
    .description("write a signed (and, with --tsa, time-stamped) gzip NDJSON snapshot of the log")
    .option("--db <url>", "Postgres URL (default $DATABASE_URL)")
    .option("--key-dir <dir>", "key directory with the Ed25519 signing key")
    .option(
      "--tsa <url>",
      "RFC 3161 TSA to time-stamp the snapshot (default $REMEMBRANCER_TSA_URL)",
    )
    .option("--tsa-ca <file>", "the TSA's CA certificate")
    .option("--level <n>", "gzip level 1-9 (default 6)")
    .option("--json", "JSON output")
    .action(async (file: string, o: SnapshotFlags) => setExit(await create(io, file, o)));
  snap
    .command("verify <file>")
    .description("check every entry, tree head, the signature and timestamp of a snapshot; offline")
    .option("--trust <file>", "trust bundle or TSA CA certificate to pin (repeatable)", collect)
    .option("--key-dir <dir>", "also trust DIR/trust.json")
    .option("--json", "JSON output")
    .action(async (file: string, o: SnapshotFlags) => setExit(await verify(io, file, o)));
  snap
    .command("restore <file>")
    .description(
      "restore into an EMPTY database; all or nothing, only if every entry and tree head verifies",
    )
    .requiredOption("--into <url>", "Postgres URL of the empty target database")
    .option("--trust <file>", "trust bundle or TSA CA certificate to pin (repeatable)", collect)
    .option("--key-dir <dir>", "also trust DIR/trust.json")
    .option("--json", "JSON output")
    .action(async (file: string, o: SnapshotFlags) => setExit(await restore(io, file, o)));
  for (const c of snap.commands) c.exitOverride();
}
