/**
 * A rate-limited work queue with client-go semantics: a key is queued at most once; a key
 * being processed is never handed to a second worker, and adding it meanwhile marks it to be
 * processed again after `done`; failures back off exponentially per key up to a cap;
 * `addAfter` schedules a key (the earliest schedule wins).
 */

/** Timer functions, injectable so tests can drive time. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers (unref'd so a pending requeue never keeps the process alive). */
export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Delay after a key's first failure, by default. */
export const DEFAULT_QUEUE_BASE_DELAY_MS = 100;
/** Longest delay between retries of a failing key, by default. */
export const DEFAULT_QUEUE_MAX_DELAY_MS = 60_000;

/** Options of a {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Delay after the first failure of a key. @default 100 */
  readonly baseDelayMs?: number;
  /** Longest delay between retries of a failing key. @default 60000 */
  readonly maxDelayMs?: number;
  readonly timers?: Timers;
}

/** A deduplicating, per-key serialised queue of string keys. */
export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly scheduled = new Map<string, { at: number; handle: unknown }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly timers: Timers;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.timers = opts.timers ?? realTimers;
    this.baseDelayMs = opts.baseDelayMs ?? DEFAULT_QUEUE_BASE_DELAY_MS;
    this.maxDelayMs = opts.maxDelayMs ?? DEFAULT_QUEUE_MAX_DELAY_MS;
  }

  /** Queues `key` now, unless it is already queued. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued by done()
    const w = this.waiters.shift();
    if (w) {
      this.dirty.delete(key);
      this.processing.add(key);
      w(key);
      return;
    }
    this.queue.push(key);
  }

  /** Queues `key` after `ms`; an earlier pending schedule for the key is kept. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.timers.now() + ms;
    const cur = this.scheduled.get(key);
    if (cur && cur.at <= at) return;
    if (cur) this.timers.clearTimeout(cur.handle);
    const handle = this.timers.setTimeout(() => {
      this.scheduled.delete(key);
      this.add(key);
    }, ms);
    this.scheduled.set(key, { at, handle });
  }

  /** Queues `key` after its exponential backoff and counts one more failure. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = this.backoffFor(n);
    this.addAfter(key, delay);
    return delay;
  }

  /** The backoff after `failures` previous failures: base·2^failures, capped. */
  backoffFor(failures: number): number {
    return Math.min(this.baseDelayMs * 2 ** Math.min(failures, 30), this.maxDelayMs);
  }

  /** Forgets the failure count of `key` (after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Number of failures recorded for `key`. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for the next key; undefined once the queue is shut down and drained. */
  async get(): Promise<string | undefined> {
    if (this.head < this.queue.length) {
      const key = this.queue[this.head++] as string;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.dirty.delete(key);
      this.processing.add(key);
      return key;
    }
    if (this.shuttingDown) return undefined;
    return await new Promise((r) => this.waiters.push(r));
  }

  /** Marks `key` processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Keys waiting (not counting those in flight or scheduled for later). */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Keys being processed right now. */
  inFlight(): number {
    return this.processing.size;
  }

  /** Stops accepting keys; waiting `get` calls resolve undefined; scheduled adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const s of this.scheduled.values()) this.timers.clearTimeout(s.handle);
    this.scheduled.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
