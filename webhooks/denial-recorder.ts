// Carries denials to the ledger off the admission path: `record` only queues (constant time,
// never throws, never waits), a few workers append from the queue, and a full queue drops the
// newest denial, counting and logging it — a slow or absent ledger costs receipts, never
// admission latency. Results are counted on the webhook server's /metrics.
import type { DenialRecord, WebhookLogger } from "./deps.ts";
import { denialReceipt, type DenialReceipt } from "./denial-receipt.ts";
import type { WebhookMetrics } from "./metrics.ts";

/** Appends one denial receipt; `existing` when the ledger held its digest already. */
export type DenialSink = (receipt: DenialReceipt) => Promise<{ readonly existing: boolean }>;

/** Options of {@link DenialRecorder}. */
export interface DenialRecorderOptions {
  readonly sink: DenialSink;
  readonly metrics: WebhookMetrics;
  readonly logger: WebhookLogger;
  /** Most denials waiting for the ledger; one more is dropped. @default 1000 */
  readonly capacity?: number;
  /** Appends in flight at once (the ledger group-commits them). @default 4 */
  readonly concurrency?: number;
}

/** The default {@link DenialRecorderOptions.capacity}. */
export const DEFAULT_DENIAL_QUEUE_CAPACITY = 1000;

/** A bounded queue of denials with workers that append them to the ledger. */
export class DenialRecorder {
  readonly #opts: DenialRecorderOptions;
  readonly #capacity: number;
  readonly #concurrency: number;
  readonly #queue: DenialRecord[] = [];
  #inFlight = 0;
  /** Drops since the queue last had room; logged once when the episode starts and ends. */
  #droppedInEpisode = 0;
  #idle: (() => void)[] = [];

  constructor(opts: DenialRecorderOptions) {
    this.#opts = opts;
    this.#capacity = opts.capacity ?? DEFAULT_DENIAL_QUEUE_CAPACITY;
    this.#concurrency = opts.concurrency ?? 4;
    if (!Number.isInteger(this.#capacity) || this.#capacity < 1) {
      throw new RangeError(`capacity: expected a positive integer, got ${this.#capacity}`);
    }
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new RangeError(`concurrency: expected a positive integer, got ${this.#concurrency}`);
    }
  }

  /** Queues a denial for the ledger (the `recordDenial` hook); drops it when the queue is full. */
  readonly record = (denial: DenialRecord): void => {
    if (this.#queue.length >= this.#capacity) {
      this.#opts.metrics.denialReceipts.inc({ result: "dropped" });
      if (this.#droppedInEpisode++ === 0) {
        this.#opts.logger.warn(
          { uid: denial.requestUid, capacity: this.#capacity },
          "policy.denied queue full: dropping denials until the ledger catches up",
        );
      }
      return;
    }
    this.#queue.push(denial);
    this.#opts.metrics.denialReceiptQueue.set(this.#queue.length);
    this.#pump();
  };

  /** Denials queued and not yet appending. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves once every denial queued so far has been appended, or has failed. */
  async drain(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#inFlight < this.#concurrency && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      this.#opts.metrics.denialReceiptQueue.set(this.#queue.length);
      this.#inFlight++;
      void this.#append(next).finally(() => {
        this.#inFlight--;
        this.#pump();
        this.#notifyIdle();
      });
    }
    if (this.#droppedInEpisode > 0 && this.#queue.length < this.#capacity) {
      this.#opts.logger.warn(
        { dropped: this.#droppedInEpisode },
        "policy.denied queue has room again; denials were dropped without receipts",
      );
      this.#droppedInEpisode = 0;
    }
  }

  async #append(denial: DenialRecord): Promise<void> {
    const { metrics, logger } = this.#opts;
    try {
      const { existing } = await this.#opts.sink(denialReceipt(denial));
      metrics.denialReceipts.inc({ result: existing ? "duplicate" : "recorded" });
    } catch (err) {
      metrics.denialReceipts.inc({ result: "failed" });
      logger.error(
        { err: (err as Error).message, uid: denial.requestUid, webhook: denial.webhook },
        "recording policy.denied failed",
      );
    }
  }

  #notifyIdle(): void {
    if (this.#queue.length > 0 || this.#inFlight > 0) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const w of waiters) w();
  }
}
