/**
 * Shared plumbing of the CLI commands: locating the database, key directory, trust files and
 * TSA from flags or environment, reading key files with clear errors, and opening a ledger.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import pg from "pg";
import { DependencyHealth, guardPgPool } from "../../dependency-health/index.ts";
import { ed25519Signer, type Ed25519Signer } from "../ed25519.ts";
import { Ledger } from "../ledger.ts";
import type { LedgerMetrics } from "../ledger-metrics.ts";
import { openPgpSigner, type OpenPgpSigner } from "../openpgp-keys.ts";
import type { Timestamper } from "../tree-head.ts";
import { loadTrustFiles, type TrustBundle } from "../trust-bundle.ts";
import { httpTimestamper } from "../../tsa/timestamper.ts";
import { checkDatabaseUrl, CLI_REASON, CliError, databaseFailure } from "./cli-errors.ts";
import { UsageError, type CliIO } from "./cli-io.ts";

/** Key file names inside a key directory (written by `keygen`). */
export const KEY_FILES = {
  ed25519Key: "ed25519.key",
  ed25519Pub: "ed25519.pub",
  openpgpKey: "openpgp.key",
  openpgpPub: "openpgp.pub",
  trust: "trust.json",
} as const;

/** Options most ledger commands share. */
export interface LedgerFlags {
  readonly db?: string;
  readonly keyDir?: string;
  readonly tsa?: string;
  readonly tsaCa?: string;
  readonly origin?: string;
  readonly trust?: readonly string[];
  readonly json?: boolean;
}

/**
 * The origin configured by --origin or REMEMBRANCER_ORIGIN (empty counts as unset). The ledger
 * only checks it against its recorded origin, or records it at genesis (ADR 0081).
 */
export function configuredOrigin(
  io: CliIO,
  flags: { readonly origin?: string },
): string | undefined {
  return flags.origin || io.env.REMEMBRANCER_ORIGIN || undefined;
}

/** Resolves a path against the CLI's working directory. */
export function path(io: CliIO, p: string): string {
  return resolve(io.cwd, p);
}

/** The full path of an input file that exists and is not a directory (else a usage error). */
export function inputPath(io: CliIO, p: string, what: string): string {
  const full = path(io, p);
  if (!existsSync(full)) throw new UsageError(`${what} not found: ${p}`);
  if (statSync(full).isDirectory())
    throw new CliError(CLI_REASON.fileIsDirectory, `${what} ${p} is a directory: pass a file`);
  return full;
}

/** Reads a file, turning a missing one into a usage error that names it. */
export function readInput(io: CliIO, p: string, what: string): Buffer {
  return readFileSync(inputPath(io, p, what));
}

/** The database URL from --db or DATABASE_URL. */
export function databaseUrl(io: CliIO, flags: LedgerFlags): string {
  const url = flags.db ?? io.env.DATABASE_URL;
  if (!url) throw new UsageError("no database: pass --db URL or set DATABASE_URL");
  return checkDatabaseUrl(url, flags.db ? "--db" : "DATABASE_URL");
}

/** The key directory from --key-dir or REMEMBRANCER_KEY_DIR, if any. */
export function keyDir(io: CliIO, flags: LedgerFlags): string | undefined {
  const d = flags.keyDir ?? io.env.REMEMBRANCER_KEY_DIR;
  return d ? path(io, d) : undefined;
}

/** Loads the Ed25519 signer of a key directory (required). */
export function loadSigner(io: CliIO, flags: LedgerFlags): Ed25519Signer {
  const dir = keyDir(io, flags);
  if (!dir) throw new UsageError("no signing key: pass --key-dir DIR (see `remembrancer keygen`)");
  const pem = readInput(io, resolve(dir, KEY_FILES.ed25519Key), "Ed25519 private key").toString(
    "utf8",
  );
  try {
    return ed25519Signer(pem);
  } catch (err) {
    io.logger.debug({ err }, "Ed25519 key rejected");
    throw new CliError(
      CLI_REASON.ed25519KeyInvalid,
      `${resolve(dir, KEY_FILES.ed25519Key)} is not an Ed25519 private key in PEM form: create one with \`remembrancer keygen --dir DIR\``,
    );
  }
}

/** Loads the OpenPGP signer of a key directory, when it has one. */
export async function loadOpenPgp(
  io: CliIO,
  flags: LedgerFlags,
): Promise<OpenPgpSigner | undefined> {
  const dir = keyDir(io, flags);
  const file = dir && resolve(dir, KEY_FILES.openpgpKey);
  if (!file || !existsSync(file)) return undefined;
  try {
    return await openPgpSigner(readFileSync(file, "utf8"));
  } catch (err) {
    io.logger.debug({ err }, "OpenPGP key rejected");
    throw new CliError(
      CLI_REASON.openpgpKeyInvalid,
      `${file} is not a usable armored OpenPGP private key: replace it with \`remembrancer keygen --dir DIR\`, or remove it to sign with Ed25519 only`,
    );
  }
}

/** Trust from --trust files plus the key directory's trust.json; undefined when none given. */
export function loadTrust(io: CliIO, flags: LedgerFlags): TrustBundle | undefined {
  const files = (flags.trust ?? []).map((f) => path(io, f));
  const dir = keyDir(io, flags);
  if (dir && existsSync(resolve(dir, KEY_FILES.trust))) files.push(resolve(dir, KEY_FILES.trust));
  return files.length > 0 ? loadTrustFiles(files) : undefined;
}

async function tsaCertificates(
  io: CliIO,
  url: string,
  caFile: string | undefined,
): Promise<string[]> {
  if (caFile) return [readInput(io, caFile, "TSA CA certificate").toString("utf8")];
  try {
    // The development TSA publishes its CA; an external TSA's CA goes in with --tsa-ca.
    const res = await fetch(new URL("tsa-ca.crt", url.endsWith("/") ? url : `${url}/`));
    const text = res.ok ? await res.text() : "";
    return text.includes("BEGIN CERTIFICATE") ? [text] : [];
  } catch {
    return [];
  }
}

/** The timestamper from --tsa or REMEMBRANCER_TSA_URL, if any. */
export async function loadTimestamper(
  io: CliIO,
  flags: LedgerFlags,
): Promise<Timestamper | undefined> {
  const url = flags.tsa ?? io.env.REMEMBRANCER_TSA_URL;
  if (!url) return undefined;
  return httpTimestamper(url, { certificatesPem: await tsaCertificates(io, url, flags.tsaCa) });
}

/** Name under which the ledger's database is reported (/readyz, logs, metrics). */
export const LEDGER_DATABASE = "ledger-postgres";

/**
 * Opens the ledger for a command; `sign` loads the signing keys and TSA. The pool's clients
 * are guarded (services/dependency-health): a database that goes away fails the queries in
 * flight and is reported on `health`, it never ends the process through an `error` event.
 */
export async function openLedger(
  io: CliIO,
  flags: LedgerFlags,
  sign: boolean,
  server: {
    /** Keep the Merkle tree in memory (a long-running server). @default false */
    readonly cacheTree?: boolean;
    readonly health?: DependencyHealth;
    /** Count appends, publications and TSA requests; read the tree gauges (ADR 0110). */
    readonly metrics?: LedgerMetrics;
  } = {},
): Promise<{ ledger: Ledger; close: () => Promise<void> }> {
  const cacheTree = server.cacheTree ?? false;
  const health = server.health ?? new DependencyHealth({ clock: io.clock, logger: io.logger });
  const metrics = server.metrics;
  const pool = new pg.Pool({
    connectionString: databaseUrl(io, flags),
    max: 4,
    connectionTimeoutMillis: 5000,
  });
  guardPgPool(pool, health.register(LEDGER_DATABASE, { required: true }));
  const signer = sign ? loadSigner(io, flags) : undefined;
  const openpgp = sign ? await loadOpenPgp(io, flags) : undefined;
  const stamper = sign ? await loadTimestamper(io, flags) : undefined;
  const timestamper = stamper && metrics ? metrics.instrumentTimestamper(stamper) : stamper;
  const trust = loadTrust(io, flags);
  const origin = configuredOrigin(io, flags);
  try {
    const ledger = await Ledger.open({
      pool,
      clock: io.clock,
      logger: io.logger,
      // Only checked against (or, at genesis, recorded as) the ledger's own origin: ADR 0081.
      ...(origin ? { origin } : {}),
      ...(signer ? { signer } : {}),
      ...(openpgp ? { openpgp } : {}),
      ...(timestamper ? { timestamper } : {}),
      ...(trust ? { trust } : {}),
      cacheTree,
      ...(metrics ? { metrics } : {}),
    });
    metrics?.treeGaugesFrom(pool);
    return { ledger, close: () => pool.end() };
  } catch (err) {
    await pool.end();
    throw databaseFailure(err, databaseUrl(io, flags));
  }
}
