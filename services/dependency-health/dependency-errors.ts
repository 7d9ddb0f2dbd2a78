/**
 * What counts as "the dependency is away" and how an error is described without leaking a
 * secret. One rule for every client (pg, ioredis, fetch-based HTTP clients): a connection
 * refused, reset, timed out or terminated, or a Postgres server shutting down or refusing
 * connections, is an outage (wait and retry); anything else is the caller's to judge.
 */

/** Reason codes a dependency reports while it is down. */
export const OutageReason = {
  /** A connection that was open broke (server crash, failover, proxy dropping it). */
  ConnectionLost: "ConnectionLost",
  /** No connection could be made (refused, timed out, name not resolved). */
  Unreachable: "Unreachable",
  /** The server answered that it is shutting down, starting up or out of connections. */
  ServerUnavailable: "ServerUnavailable",
  /** A health probe failed for another reason. */
  ProbeFailed: "ProbeFailed",
  /** Not connected yet since the process started. */
  NotConnected: "NotConnected",
} as const;

/** One of {@link OutageReason}'s values. */
export type OutageReasonCode = (typeof OutageReason)[keyof typeof OutageReason];

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_CONNECT_TIMEOUT",
]);
const LOST_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET"]);
// Postgres SQLSTATEs: class 08 (connection exception), 57P01 admin_shutdown, 57P02
// crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections.
const PG_UNAVAILABLE = new Set(["57P01", "57P02", "57P03", "53300"]);
const LOST_MESSAGES = [
  "Connection terminated",
  "Client has encountered a connection error",
  "Connection is closed",
  "socket hang up",
  "other side closed",
];
const UNREACHABLE_MESSAGES = [
  "timeout exceeded when trying to connect",
  "Connection terminated due to connection timeout",
  "connect ETIMEDOUT",
  "fetch failed",
  // ioredis: a command queued while it reconnects, given up after maxRetriesPerRequest; a
  // command refused because the connection is down and the offline queue is off.
  "Reached the max retries per request limit",
  "Stream isn't writeable and enableOfflineQueue options is false",
];

interface ErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly errors?: unknown;
  readonly cause?: unknown;
}

const codeOf = (e: ErrorLike): string => (typeof e.code === "string" ? e.code : "");
const messageOf = (e: ErrorLike): string => (typeof e.message === "string" ? e.message : "");

/**
 * The outage reason for `err`, or undefined when it is not an outage (a constraint violation,
 * bad input, a bug). Looks through AggregateError (IPv4 and IPv6 both refused) and `cause`
 * (fetch wraps socket errors).
 */
export function outageReason(err: unknown, depth = 0): OutageReasonCode | undefined {
  if (typeof err !== "object" || err === null || depth > 4) return undefined;
  const e = err as ErrorLike;
  const code = codeOf(e);
  if (UNREACHABLE_CODES.has(code)) return OutageReason.Unreachable;
  if (LOST_CODES.has(code)) return OutageReason.ConnectionLost;
  if (PG_UNAVAILABLE.has(code) || code.startsWith("08")) return OutageReason.ServerUnavailable;
  const msg = messageOf(e);
  if (UNREACHABLE_MESSAGES.some((m) => msg.includes(m))) return OutageReason.Unreachable;
  if (LOST_MESSAGES.some((m) => msg.includes(m))) return OutageReason.ConnectionLost;
  for (const inner of Array.isArray(e.errors) ? e.errors : []) {
    const r = outageReason(inner, depth + 1);
    if (r) return r;
  }
  return outageReason(e.cause, depth + 1);
}

/** True when `err` means the dependency is away (see {@link outageReason}). */
export function isOutage(err: unknown): boolean {
  return outageReason(err) !== undefined;
}

const CREDENTIALS_IN_URL = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi;
const BEARER = /(bearer|bot|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
const KEY_LIKE = /\b(sk|rk|pk|whsec)_(test|live)_[A-Za-z0-9]+/g;

/** `text` with URL passwords, bearer/bot tokens and Stripe-style keys replaced by `***`. */
export function redact(text: string): string {
  return text
    .replace(CREDENTIALS_IN_URL, "$1:***@")
    .replace(BEARER, "$1 ***")
    .replace(KEY_LIKE, "$1_$2_***");
}

/**
 * A one-line description of `err` for logs, conditions and /readyz: its code (when it has
 * one) and message, redacted, at most 300 characters. Never the stack, never a secret.
 */
export function describeError(err: unknown): string {
  if (typeof err !== "object" || err === null) return redact(String(err)).slice(0, 300);
  const e = err as ErrorLike;
  let msg = messageOf(e);
  if (!msg && Array.isArray(e.errors)) {
    msg = e.errors.map((x) => messageOf(x as ErrorLike)).join("; ");
  }
  const code = codeOf(e);
  const text = code && !msg.includes(code) ? `${code}: ${msg}` : msg || code || "unknown error";
  return redact(text).slice(0, 300);
}

/**
 * A dependency is away: the operation can be retried once it returns. Carries the
 * dependency's name and the outage reason so a caller can say why it is waiting.
 */
export class DependencyUnavailableError extends Error {
  override readonly name = "DependencyUnavailableError";
  readonly dependency: string;
  readonly reason: OutageReasonCode;

  constructor(dependency: string, reason: OutageReasonCode, detail: string, cause?: unknown) {
    super(`${dependency} unavailable (${reason}): ${detail}`, { cause });
    this.dependency = dependency;
    this.reason = reason;
  }
}
