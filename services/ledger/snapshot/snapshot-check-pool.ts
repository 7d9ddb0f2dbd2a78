/**
 * Worker threads for the per-entry checks of a snapshot (ADR 0145): each batch of whole lines
 * goes to the least busy worker as one transferred buffer and comes back with its
 * {@link EntryBatch}. Batches may finish in any order; the caller consumes them in file order.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { EntryBatch } from "./snapshot-entries.ts";

/** A batch of lines and what the checks found in it. */
export interface CheckedBatch {
  /** The batch's bytes (handed back by the worker). */
  readonly batch: Uint8Array;
  readonly result: EntryBatch;
}

/** Checks one batch of whole lines; the pool below, or the same checks inline. */
export type CheckBatch = (batch: Uint8Array) => Promise<CheckedBatch>;

interface Pending {
  resolve(b: CheckedBatch): void;
  reject(err: unknown): void;
}

/** Worker threads that check snapshot batches; `close` when done. */
export class EntryCheckPool {
  readonly #workers: Worker[];
  readonly #load: number[];
  readonly #pending = new Map<number, Pending>();
  readonly #tuples: boolean;
  #seq = 0;
  #failed: Error | undefined;

  /**
   * @param threads workers to start. @default availableParallelism()
   * @param tuples also encode the good entries as COPY tuples (restore)
   */
  constructor(opts: { readonly threads?: number; readonly tuples: boolean }) {
    this.#tuples = opts.tuples;
    const n = Math.max(1, opts.threads ?? availableParallelism());
    this.#load = new Array<number>(n).fill(0);
    this.#workers = Array.from({ length: n }, (_, k) => {
      const w = new Worker(new URL("./snapshot-check-worker.ts", import.meta.url));
      w.on("message", (m: { id: number } & CheckedBatch) => {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        this.#load[k]!--;
        p?.resolve({ batch: m.batch, result: m.result });
      });
      w.on("error", (err) => this.#fail(err));
      w.on("exit", (code) => this.#fail(new Error(`snapshot check worker exited (${code})`)));
      return w;
    });
  }

  /** Worker threads started. */
  get threads(): number {
    return this.#workers.length;
  }

  #fail(cause: unknown): void {
    const err = cause instanceof Error ? cause : new Error(String(cause));
    this.#failed ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** Checks `batch` in a worker; the buffer is moved there and back, not copied. */
  readonly check: CheckBatch = (batch) => {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    let k = 0;
    for (let i = 1; i < this.#load.length; i++) if (this.#load[i]! < this.#load[k]!) k = i;
    const id = this.#seq++;
    this.#load[k]!++;
    return new Promise<CheckedBatch>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#workers[k]!.postMessage({ id, batch, tuples: this.#tuples }, [
        batch.buffer as ArrayBuffer,
      ]);
    });
  };

  /** Stops the workers; batches still pending never settle (their caller has given up). */
  async close(): Promise<void> {
    this.#failed ??= new Error("snapshot check pool closed");
    this.#pending.clear();
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
