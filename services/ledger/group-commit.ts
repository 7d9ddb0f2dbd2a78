/**
 * Group commit: callers submit one item each; items that arrive while a batch is being
 * committed wait and go together in the next one. At most one batch is in flight, so a
 * light load commits each item at once and a heavy load fills batches up to `maxBatch`.
 */

interface Waiter<I, O> {
  readonly item: I;
  resolve(o: O): void;
  reject(err: unknown): void;
}

/** Batches submissions into calls of `run`, which returns one output per input, in order. */
export class GroupCommitter<I, O> {
  readonly #run: (items: readonly I[]) => Promise<readonly O[]>;
  readonly #maxBatch: number;
  #queue: Waiter<I, O>[] = [];
  #running = false;
  #idle: (() => void)[] = [];

  constructor(run: (items: readonly I[]) => Promise<readonly O[]>, maxBatch = 1024) {
    this.#run = run;
    this.#maxBatch = maxBatch;
  }

  /** Number of items waiting for the next batch. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Submits one item; resolves when the batch holding it has been committed. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#kick();
    });
  }

  /** Resolves once everything submitted so far has been committed (or failed). */
  async flush(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return;
    await new Promise<void>((r) => this.#idle.push(r));
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#drain();
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      try {
        const out = await this.#run(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(out[i]!));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#running = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const r of idle) r();
  }
}
