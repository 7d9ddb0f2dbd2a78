// The ledger end of policy.denied receipts: a Postgres pool and a Remembrancer ledger opened on
// first use (and again after a failed open), so the server starts and admits while Postgres is
// down; each receipt is signed with the decision time as its issuedAt and appended with
// `appendReceipt`, idempotent by digest. main.ts imports this module only when recording is on,
// so a server without it never loads pg or the ledger.
import { readFileSync } from "node:fs";
import pg from "pg";
import type { Logger } from "pino";
import { DependencyHealth, guardPgPool } from "../services/dependency-health/index.ts";
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

/** Signs a denial receipt at its decision time and appends it to `ledger`. */
export function ledgerSink(ledger: () => Promise<Ledger>, signer: Ed25519Signer): DenialSink {
  return async (r: DenialReceipt) => {
    const { type, subject, payload } = r;
    const signed = signReceipt({ type, subject, payload }, signer, fixedClock(r.issuedAt));
    const result = await (await ledger()).appendReceipt(signed.receipt);
    return { existing: result.existing };
  };
}

/** The recorder wired to a ledger, and how to stop it. */
export interface DenialLedger {
  readonly recorder: DenialRecorder;
  /** Waits up to `timeoutMs` for queued denials, then closes the ledger's connections. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Opens the recorder of `settings`: reads the signing key now (a missing key is a configuration
 * error, reported at start), connects to the ledger lazily.
 */
export function openDenialLedger(
  settings: DenialLedgerSettings,
  deps: { readonly logger: Logger; readonly metrics: WebhookMetrics },
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
  const health = new DependencyHealth({ clock: systemClock, logger: deps.logger });
  guardPgPool(
    pool,
    health.register("ledger-postgres", { whileDown: "denial receipts queue and are retried" }),
  );
  const logger = deps.logger.child({ component: "ledger" });
  let opening: Promise<Ledger> | undefined;
  const ledger = (): Promise<Ledger> => {
    opening ??= Ledger.open({ pool, clock: systemClock, logger, signer }).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
  const recorder = new DenialRecorder({
    sink: ledgerSink(ledger, signer),
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
      await Promise.race([recorder.drain(), timeout]);
      clearTimeout(timer);
      if (recorder.queued > 0) {
        deps.logger.warn({ queued: recorder.queued }, "stopping with denials not yet recorded");
      }
      await opening?.then((l) => l.flush()).catch(() => undefined);
      await pool.end();
    },
  };
}
