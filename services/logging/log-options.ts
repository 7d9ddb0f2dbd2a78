/**
 * The pino options every VaultMesh process logs with: JSON lines, and the fields that could
 * carry a secret censored wherever they appear one level deep (a request's Authorization
 * header, a token, a password, a key, a connection string). Context fields are named alike in
 * every process: `tenant` (the tenant a namespace belongs to), `request_id` (an admission
 * review's uid, fastify's request id `reqId`) and `key` (a reconcile's namespace/name).
 */
import type { LoggerOptions } from "pino";

/** Paths pino censors (`*.x`: field x of any top-level object). */
export const LOG_REDACT_PATHS: readonly string[] = [
  "authorization",
  "password",
  "token",
  "secret",
  "apiKey",
  "privateKey",
  "privateKeyPem",
  "connectionString",
  "req.headers.authorization",
  "req.headers.cookie",
  "*.authorization",
  "*.password",
  "*.token",
  "*.secret",
  "*.apiKey",
  "*.privateKey",
  "*.privateKeyPem",
  "*.connectionString",
];

/** pino options at `level`, with `base` fields on every line and the secret paths censored. */
export function logOptions(level: string, base?: Record<string, unknown>): LoggerOptions {
  return {
    level,
    ...(base ? { base } : {}),
    redact: { paths: [...LOG_REDACT_PATHS], censor: "[redacted]" },
  };
}
