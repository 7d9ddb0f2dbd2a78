// The ledger end of policy.denied receipts: a Postgres pool and a Remembrancer ledger opened on
// first use (and again after a failed open), so the server starts and admits while Postgres is
// down; each receipt is signed with the decision time as its issuedAt and appended with
// `appendReceipt`, idempotent by digest — an append that meets an outage is tried again until
// the database returns (retryOutages). Its database is reported in the server's
// DependencyHealth (/readyz, /metrics). main.ts imports this module only when recording is on,
// so a server without it never loads pg or the ledger.
import { readFileSync } from "node:fs";
import pg from "pg";
import type { Logger } from "pino";
import {
  DependencyHealth,
  guardPgPool,
  outageReason,
  startProbe,
  type DependencyReporter,
} from "../services/dependency-health/index.ts";
import { fixedClock, systemClock } from "../services/ledger/clock.ts";
import { ed25519Signer, type Ed25519Signer } from "../services/ledger/ed25519.ts";
import { Ledger } from "../services/ledger/ledger.ts";
import { signReceipt } from "../services/ledger/receipt.ts";
import type { DenialReceipt } from "./denial-receipt.ts";
import { DenialRecorder, type DenialSink } from "./denial-recorder.ts";
import type { DenialLedgerSettings } from "./denial-settings.ts";
import type { WebhookMetrics } from "./metrics.ts";

/** Bounds on one ledger round trip, so an unreachable Postgres fails appends instead of hanging. */
const CONNECT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 10_000;

/** Name under which the denial ledger's database is reported (/readyz, logs, metrics). */
export const DENIAL_LEDGER_DEPENDENCY = "ledger-postgres";

/** What the server does while the denial ledger's database is away (shown on /readyz). */
export const DENIAL_LEDGER_WHILE_DOWN =
  "admission goes on; denial receipts queue and are appended when it returns (beyond the queue's capacity they are dropped and counted)";

/** The same, for a ledger opened without {@link OpenDenialLedgerDeps.retryOutages}. */
export const DENIAL_LEDGER_WHILE_DOWN_NO_RETRY =
  "admission goes on; denial receipts whose append fails are counted as failed";

/** Interval between two tries of an append that met an outage. */
export const DENIAL_RETRY_INTERVAL_MS = 2_000;

/** How the sink retries an append that met an outage. */
export interface OutageRetry {
  /** Interval between tries, in ms. @default DENIAL_RETRY_INTERVAL_MS */
  readonly intervalMs?: number;
  /** Aborted on close: the append in hand fails (counted) instead of waiting on. */
  readonly signal: AbortSignal;
}

// Resolves after `ms`, or at once when `signal` is aborted.
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    t.unref();
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** How often the database is probed while up, and while down. */
const PROBE_INTERVAL_MS = 10_000;
const PROBE_DOWN_INTERVAL_MS = 2_000;

/**
 * Signs a denial receipt at its decision time and appends it to `ledger`. With `retry`, an
 * append that meets an outage is tried again every `intervalMs` until it lands or `retry.signal`
 * is aborted: the same signed receipt each time, and appends are idempotent by digest, so an
 * append whose reply was lost is found, not repeated. Any other error fails at once.
 */
export function ledgerSink(
  ledger: () => Promise<Ledger>,
  signer: Ed25519Signer,
  dep?: DependencyReporter,
  retry?: OutageRetry,
): DenialSink {
  return async (r: DenialReceipt) => {
    const { type, subject, payload } = r;
    const signed = signReceipt({ type, subject, payload }, signer, fixedClock(r.issuedAt));
    for (;;) {
      try {
        const result = await (await ledger()).appendReceipt(signed.receipt);
        dep?.up();
        return { existing: result.existing };
      } catch (err) {
        // A failed connect emits no event on the pool: the append is what notices the outage.
        const reason = outageReason(err);
        if (reason) dep?.down(reason, err);
        if (!reason || !retry || retry.signal.aborted) throw err;
        await pause(retry.intervalMs ?? DENIAL_RETRY_INTERVAL_MS, retry.signal);
        if (retry.signal.aborted) throw err;
      }
    }
  };
}

/** The recorder wired to a ledger, and how to stop it. */
export interface DenialLedger {
  readonly recorder: DenialRecorder;
  /** Waits up to `timeoutMs` for queued denials, then closes the ledger's connections. */
  close(timeoutMs?: number): Promise<void>;
}

/** What {@link openDenialLedger} takes besides the settings. */
export interface OpenDenialLedgerDeps {
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  /** The server's dependencies. @default a registry of its own (nobody reads it) */
  readonly health?: DependencyHealth;
  /**
   * Hold a denial whose append met an outage and try again every `intervalMs` until the
   * database returns (the queue fills meanwhile, then drops and counts). webhooks/main.ts turns
   * it on; off, such an append is counted as failed at once. @default undefined (off)
   */
  readonly retryOutages?: { readonly intervalMs?: number };
}

/**
 * Opens the recorder of `settings`: reads the signing key now (a missing key is a configuration
 * error, reported at start), connects to the ledger lazily, and reports its database as
 * {@link DENIAL_LEDGER_DEPENDENCY} in `deps.health` — a degraded dependency, never a required
 * one: admission never waits for the ledger. The database is probed (`SELECT 1`, every 10 s, 2 s
 * while down) so /readyz tells the truth between denials.
 */
export function openDenialLedger(
  settings: DenialLedgerSettings,
  deps: OpenDenialLedgerDeps,
): DenialLedger {
  let pem: string;
  try {
    pem = readFileSync(settings.signingKeyFile, "utf8");
  } catch (err) {
    throw new Error(`VAULTMESH_SIGNING_KEY_FILE: cannot read it: ${(err as Error).message}`);
  }
  const signer = ed25519Signer(pem);
  const pool = new pg.Pool({
    connectionString: settings.ledgerUrl,
    max: 4,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
  });
  // A lost connection, idle or checked out, must not crash the server: the next append fails
  // instead and the denial stays queued (ADR 0071).
  const health = deps.health ?? new DependencyHealth({ clock: systemClock, logger: deps.logger });
  const dep = health.register(DENIAL_LEDGER_DEPENDENCY, {
    whileDown: deps.retryOutages ? DENIAL_LEDGER_WHILE_DOWN : DENIAL_LEDGER_WHILE_DOWN_NO_RETRY,
  });
  const closing = new AbortController();
  guardPgPool(pool, dep);
  const stopProbe = startProbe(dep, () => pool.query("SELECT 1"), {
    intervalMs: PROBE_INTERVAL_MS,
    downIntervalMs: PROBE_DOWN_INTERVAL_MS,
  });
  const logger = deps.logger.child({ component: "ledger" });
  let opening: Promise<Ledger> | undefined;
  const ledger = (): Promise<Ledger> => {
    opening ??= Ledger.open({
      pool,
      clock: systemClock,
      logger,
      signer,
      metrics: deps.metrics.ledger,
    }).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
  const recorder = new DenialRecorder({
    sink: ledgerSink(
      ledger,
      signer,
      dep,
      deps.retryOutages ? { ...deps.retryOutages, signal: closing.signal } : undefined,
    ),
    metrics: deps.metrics,
    logger: deps.logger,
    capacity: settings.queueSize,
  });
  return {
    recorder,
    async close(timeoutMs = 5_000): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      stopProbe();
      await Promise.race([recorder.drain(), timeout]);
      clearTimeout(timer);
      // Appends still waiting for the database give up now (counted as failed).
      closing.abort();
      if (recorder.queued > 0) {
        deps.logger.warn({ queued: recorder.queued }, "stopping with denials not yet recorded");
      }
      await opening?.then((l) => l.flush()).catch(() => undefined);
      await pool.end();
    },
  };
}
