/**
 * What the CLI tells a person when something fails: a stable reason code (exported constants,
 * so tests and scripts never match on message text) and one sentence saying what is wrong and
 * what to do — instead of a library's raw message (pg, node:fs, node:crypto, openpgp, pkijs).
 * Pure: {@link classifyError} and {@link databaseFailure} only look at the error object.
 */
import { TIMESTAMP_FAILURE } from "../../tsa/rfc3161-verify.ts";

/** Stable reason codes printed as `[code]` after the message. */
export const CLI_REASON = {
  /** The TSA certificate's issuing CA was not given: pass it with --trust. */
  tsaIssuerUntrusted: TIMESTAMP_FAILURE.tsaIssuerUntrusted,
  dbUrlInvalid: "db-url-invalid",
  dbUnreachable: "db-unreachable",
  dbHostUnknown: "db-host-unknown",
  dbAuthFailed: "db-auth-failed",
  dbMissing: "db-missing",
  dbNotMigrated: "db-not-migrated",
  dbUnavailable: "db-unavailable",
  dbFailed: "db-failed",
  connectionRefused: "connection-refused",
  hostUnknown: "host-unknown",
  fileMissing: "file-missing",
  fileIsDirectory: "file-is-directory",
  filePermission: "file-permission",
  ed25519KeyInvalid: "ed25519-key-invalid",
  openpgpKeyInvalid: "openpgp-key-invalid",
} as const;

/** One of {@link CLI_REASON}. */
export type CliReason = (typeof CLI_REASON)[keyof typeof CLI_REASON];

/** A failure the CLI has already put into words; exit 2 with `message [reason]`. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly reason: CliReason;
  constructor(reason: CliReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** The sentence and, when known, the reason code for an error. */
export interface ErrorDescription {
  readonly message: string;
  readonly reason?: CliReason;
}

interface NodeLikeError {
  readonly code?: unknown;
  readonly path?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
  readonly severity?: unknown;
  readonly message?: unknown;
  readonly errors?: unknown;
}

function fields(err: unknown): NodeLikeError {
  return typeof err === "object" && err !== null ? err : {};
}

/** Node reports a refused dual-stack connect as an AggregateError; its parts say where. */
function firstNetworkPart(e: NodeLikeError): NodeLikeError {
  const parts = Array.isArray(e.errors) ? (e.errors as unknown[]).map(fields) : [];
  return parts.find((p) => typeof p.address === "string") ?? e;
}

function where(e: NodeLikeError): string {
  const p = firstNetworkPart(e);
  const host = typeof p.address === "string" ? p.address : "the server";
  return typeof p.port === "number" ? `${host}:${p.port}` : host;
}

/** Describes file-system and network errors; undefined for anything else. */
export function classifyError(err: unknown): ErrorDescription | undefined {
  if (err instanceof CliError) return { message: err.message, reason: err.reason };
  const e = fields(err);
  const file = typeof e.path === "string" ? e.path : undefined;
  switch (e.code) {
    case "ECONNREFUSED":
      return {
        reason: CLI_REASON.connectionRefused,
        message: `cannot connect to ${where(e)} (connection refused): is the server running, and is the URL right?`,
      };
    case "ENOTFOUND":
      return {
        reason: CLI_REASON.hostUnknown,
        message: `cannot resolve host ${typeof e.hostname === "string" ? e.hostname : "in the URL"}: check the URL`,
      };
    case "ENOENT":
      return file
        ? { reason: CLI_REASON.fileMissing, message: `no such file: ${file}` }
        : undefined;
    case "EISDIR":
      return {
        reason: CLI_REASON.fileIsDirectory,
        message: `${file ?? "the path"} is a directory: pass a file`,
      };
    case "EACCES":
    case "EPERM":
      return file
        ? {
            reason: CLI_REASON.filePermission,
            message: `permission denied: ${file} (check its owner and mode)`,
          }
        : undefined;
    default:
      return undefined;
  }
}

/** The database URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

const PG_MESSAGES: Readonly<Record<string, (db: string) => ErrorDescription>> = {
  "28P01": (db) => ({
    reason: CLI_REASON.dbAuthFailed,
    message: `the database refused the user or password in ${db}: fix --db or DATABASE_URL`,
  }),
  "28000": (db) => ({
    reason: CLI_REASON.dbAuthFailed,
    message: `the database does not allow this user to connect (${db}): check pg_hba.conf or the user in --db`,
  }),
  "3D000": (db) => ({
    reason: CLI_REASON.dbMissing,
    message: `the database in ${db} does not exist: create it (createdb) or fix --db / DATABASE_URL`,
  }),
  "42P01": (db) => ({
    reason: CLI_REASON.dbNotMigrated,
    message: `${db} has no ledger tables: point --db at a ledger database (any writing command creates them)`,
  }),
  "57P03": (db) => ({
    reason: CLI_REASON.dbUnavailable,
    message: `the database at ${db} is starting up or shutting down: retry in a moment`,
  }),
  "53300": (db) => ({
    reason: CLI_REASON.dbUnavailable,
    message: `the database at ${db} has too many connections: retry later or raise max_connections`,
  }),
};

/**
 * Puts a failure of the ledger database into words that name the (redacted) URL; returns a
 * {@link CliError}, or the error itself when it is not about reaching the database.
 */
export function databaseFailure(err: unknown, url: string): unknown {
  if (err instanceof CliError) return err;
  const db = redactUrl(url);
  const e = fields(err);
  const pgCode = typeof e.code === "string" && typeof e.severity === "string" ? e.code : undefined;
  const known = pgCode ? PG_MESSAGES[pgCode] : undefined;
  if (known) {
    const d = known(db);
    return new CliError(d.reason ?? CLI_REASON.dbFailed, d.message);
  }
  if (e.code === "ECONNREFUSED")
    return new CliError(
      CLI_REASON.dbUnreachable,
      `cannot connect to the database at ${where(e)} (connection refused; --db ${db}): is Postgres running there?`,
    );
  if (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN")
    return new CliError(
      CLI_REASON.dbHostUnknown,
      `cannot resolve the database host in ${db}: fix --db or DATABASE_URL`,
    );
  return err;
}

/** Checks a database URL's form before pg tries to read it as a connection string. */
export function checkDatabaseUrl(url: string, from: string): string {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== "postgres:" && u.protocol !== "postgresql:"))
    throw new CliError(
      CLI_REASON.dbUrlInvalid,
      `${from}: expected a postgres://user:password@host:port/database URL`,
    );
  return url;
}
