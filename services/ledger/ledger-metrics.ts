/**
 * The ledger's own metrics (ADR 0110; definitions in services/metrics/catalog.ts): appends and
 * their latency, tree size and entries not yet published (read from the database at scrape
 * time), publication lag and results, TSA latency and errors, and refused verifications. A
 * {@link Ledger} reports through the {@link LedgerMetricsSink} it is opened with; the tree
 * gauges and the TSA wrapper are registered by the process that serves (`remembrancer serve`).
 */
import type pg from "pg";
import type { Counter, Histogram, Registry } from "prom-client";
import { isOutage } from "../dependency-health/index.ts";
import {
  counter,
  gauge,
  histogram,
  LEDGER_APPEND_DURATION,
  LEDGER_APPENDS,
  LEDGER_PUBLICATIONS,
  LEDGER_PUBLISH_LAG,
  LEDGER_TREE_SIZE,
  LEDGER_TSA_DURATION,
  LEDGER_TSA_ERRORS,
  LEDGER_UNPUBLISHED,
  LEDGER_VERIFY_FAILURES,
  oncePerScrape,
} from "../metrics/index.ts";
import type { Timestamper } from "./tree-head.ts";

/** Results of an append. */
export type AppendResultLabel = "appended" | "existing" | "error";
/** Results of a publication attempt. */
export type PublicationResult = "published" | "postponed" | "failed";
/** The verifications whose failures are counted. */
export type VerifyCheck = "receipt_digest" | "witness_checkpoint" | "federation_receipt";

/** What a Ledger reports (LedgerOptions.metrics). */
export interface LedgerMetricsSink {
  append(result: AppendResultLabel, seconds: number): void;
  publication(result: PublicationResult, lagSeconds?: number): void;
  verifyFailed(check: VerifyCheck): void;
}

/** The ledger metrics on a process's registry. */
export class LedgerMetrics implements LedgerMetricsSink {
  readonly registry: Registry;
  readonly #appends: Counter<"result">;
  readonly #appendSeconds: Histogram;
  readonly #lag: Histogram;
  readonly #publications: Counter<"result">;
  readonly #verify: Counter<"check">;
  readonly #tsaSeconds: Histogram;
  readonly #tsaErrors: Counter<"reason">;

  constructor(registry: Registry) {
    this.registry = registry;
    this.#appends = counter(registry, LEDGER_APPENDS);
    this.#appendSeconds = histogram(registry, LEDGER_APPEND_DURATION);
    this.#lag = histogram(registry, LEDGER_PUBLISH_LAG);
    this.#publications = counter(registry, LEDGER_PUBLICATIONS);
    this.#verify = counter(registry, LEDGER_VERIFY_FAILURES);
    this.#tsaSeconds = histogram(registry, LEDGER_TSA_DURATION);
    this.#tsaErrors = counter(registry, LEDGER_TSA_ERRORS);
    // Every label value from the start, so rates and alerts see 0 rather than no series.
    for (const result of ["appended", "existing", "error"]) this.#appends.inc({ result }, 0);
    for (const result of ["published", "postponed", "failed"]) {
      this.#publications.inc({ result }, 0);
    }
    for (const check of ["receipt_digest", "witness_checkpoint", "federation_receipt"]) {
      this.#verify.inc({ check }, 0);
    }
    for (const reason of ["outage", "bad_reply"]) this.#tsaErrors.inc({ reason }, 0);
  }

  append(result: AppendResultLabel, seconds: number): void {
    this.#appends.inc({ result });
    if (result !== "error") this.#appendSeconds.observe(seconds);
  }

  publication(result: PublicationResult, lagSeconds?: number): void {
    this.#publications.inc({ result });
    if (lagSeconds !== undefined) this.#lag.observe(Math.max(0, lagSeconds));
  }

  verifyFailed(check: VerifyCheck): void {
    this.#verify.inc({ check });
  }

  /**
   * Registers `vaultmesh_ledger_tree_size` and `vaultmesh_ledger_unpublished_entries`, read from
   * the ledger's database at each scrape (one query). While the database is away the gauges keep
   * their last values (the scrape still answers; `vaultmesh_dependency_up` tells the outage).
   */
  treeGaugesFrom(pool: Pick<pg.Pool, "query">): void {
    // One query serves both gauges of a scrape.
    const read = oncePerScrape(() => readTreeCounts(pool).catch(() => undefined));
    gauge(this.registry, LEDGER_TREE_SIZE, async function () {
      const c = await read();
      if (c) this.set(c.treeSize);
    });
    gauge(this.registry, LEDGER_UNPUBLISHED, async function () {
      const c = await read();
      if (c) this.set(c.treeSize - c.publishedSize);
    });
  }

  /** `ts` with its requests timed and its failures counted by reason (outage or bad_reply). */
  instrumentTimestamper(ts: Timestamper): Timestamper {
    const duration = this.#tsaSeconds;
    const errors = this.#tsaErrors;
    return {
      ...(ts.certificatesPem ? { certificatesPem: ts.certificatesPem } : {}),
      async timestamp(data: Uint8Array): Promise<Uint8Array> {
        const t0 = performance.now();
        try {
          return await ts.timestamp(data);
        } catch (err) {
          errors.inc({ reason: isOutage(err) ? "outage" : "bad_reply" });
          throw err;
        } finally {
          duration.observe((performance.now() - t0) / 1000);
        }
      },
    };
  }
}

/** The log's size and the size its newest published tree head covers. */
export interface TreeCounts {
  readonly treeSize: number;
  readonly publishedSize: number;
}

/** Reads {@link TreeCounts} (0 for an empty log or one never published). */
export async function readTreeCounts(pool: Pick<pg.Pool, "query">): Promise<TreeCounts> {
  const r = await pool.query<{ size: string | null; published: string | null }>(
    `SELECT (SELECT max(tree_size) FROM ledger_tree_heads) AS size,
            (SELECT max(tree_size) FROM ledger_tree_head_stamps) AS published`,
  );
  const row = r.rows[0];
  return { treeSize: Number(row?.size ?? 0), publishedSize: Number(row?.published ?? 0) };
}
