/**
 * The controller loop: informers feed keys into a {@link WorkQueue}; workers call the
 * reconciler with one key at a time (never two workers on the same key); the result decides
 * what happens next. The contract is controller-runtime's: level-based (the reconciler reads
 * the world, not the event), an error retries with per-key exponential backoff, a
 * {@link TerminalError} is recorded and not retried, `requeueAfterMs` waits, and every key is
 * reconciled again at each periodic resync.
 */
import { isDeepStrictEqual } from "node:util";
import { tenantOfNamespace } from "../../crds/domain/index.ts";
import {
  objectKey,
  ownerReferencesOf,
  silentLogger,
  splitKey,
  type ChangeHandler,
  type Informer,
  type KubeObject,
  type Logger,
} from "../../services/kube/index.ts";
import { realTimers, WorkQueue, type Timers } from "./work-queue.ts";

/** What a reconcile asks for next. An empty result means "done until something changes". */
export interface Result {
  /** Reconcile again after this many milliseconds (a wait, not a failure). */
  readonly requeueAfterMs?: number;
}

/** An error that retrying cannot fix (bad input): logged and counted, not retried. */
export class TerminalError extends Error {
  override readonly name = "TerminalError";
}

/** The object a reconcile is about. */
export interface Request {
  readonly key: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

/** Reconciles one key. */
export type ReconcileFn = (req: Request) => Promise<Result | void>;

/** Outcome labels of one reconcile, for metrics. */
export type ReconcileOutcome = "success" | "requeue" | "error" | "terminal";

/** Hooks a controller reports through (implemented by operator/metrics.ts). */
export interface ControllerMetrics {
  reconciled(controller: string, outcome: ReconcileOutcome, seconds: number): void;
  queueDepth(controller: string, depth: number): void;
  /** A key was queued (duplicates of a waiting key included, as client-go counts adds). */
  queued?(controller: string): void;
  /** A failed reconcile's key was queued again after its backoff. */
  retried?(controller: string): void;
}

/** What a watch reads: the change stream of an informer (an `Informer<T>` fits). */
export interface WatchSource<T extends KubeObject> {
  on(handler: ChangeHandler<T>): void;
}

/**
 * A secondary watch: changes of `informer`'s objects enqueue the keys `map` returns. Typed by
 * the watched kind, so `map` and `when` read its fields without casts.
 */
export interface WatchSpec<T extends KubeObject = KubeObject> {
  readonly informer: WatchSource<T>;
  readonly map: (obj: T) => readonly string[];
  /**
   * Which changes matter (e.g. spec or conditions changed, not a counter in status); all
   * when omitted. Filtering here keeps one busy object from re-queueing many keys.
   */
  readonly when?: (type: "add" | "update" | "delete", obj: T, old?: T) => boolean;
  /**
   * Queue each mapped key at most once per this many milliseconds: a change after a quiet
   * interval queues it at once, changes within the interval after that queue it once at the
   * interval's end (a throttle with leading and trailing edge). A status that sums up many
   * objects (a Treaty's usage) is then written at most once per interval under a burst, not
   * once per change, and a lone change is not delayed. @default 0 (every change, at once)
   */
  readonly coalesceMs?: number;
}

/**
 * A list of watches of different kinds, one {@link WatchSpec} per element of `W` (inferred
 * from the informers: `[{ informer: jobs, map: (job) => … }]` types `job` as a Job).
 */
export type WatchSpecs<W extends readonly KubeObject[]> = {
  readonly [K in keyof W]: WatchSpec<W[K]>;
};

/** Everything a {@link Controller} needs but its secondary watches. */
export interface ControllerSettings<T extends KubeObject> {
  /** Name used in logs and metrics (e.g. "gpuworkload"). */
  readonly name: string;
  /** Informer of the primary kind; its changes enqueue the object's own key. */
  readonly for: Informer<T>;
  readonly reconcile: ReconcileFn;
  /** Concurrent workers (each on a different key). @default 2 */
  readonly workers?: number;
  /** Reconcile every primary key this often. @default 300000 (5 minutes); 0 disables. */
  readonly resyncMs?: number;
  /** Backoff of failing keys. @default 100 ms doubling to 60 s */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /**
   * An update of a primary object that changes only its status (same generation, labels,
   * annotations, finalizers and deletion state) is throttled like a watch's
   * {@link WatchSpec.coalesceMs}, sharing its per-key interval: the reconciler's own status
   * write then does not start an extra pass while a burst is coalesced. @default 0
   */
  readonly statusUpdateCoalesceMs?: number;
  readonly logger?: Logger;
  readonly metrics?: ControllerMetrics;
  readonly timers?: Timers;
}

/** True when `obj` differs from `old` in its status at most (what a status write changes). */
export function onlyStatusChanged(old: KubeObject, obj: KubeObject): boolean {
  const a = old.metadata ?? {};
  const b = obj.metadata ?? {};
  return (
    a.generation === b.generation &&
    isDeepStrictEqual(a.deletionTimestamp, b.deletionTimestamp) &&
    isDeepStrictEqual(a.labels ?? {}, b.labels ?? {}) &&
    isDeepStrictEqual(a.annotations ?? {}, b.annotations ?? {}) &&
    isDeepStrictEqual(a.finalizers ?? [], b.finalizers ?? [])
  );
}

/** Everything a {@link Controller} needs, with its secondary watches (children, references). */
export interface ControllerOptions<
  T extends KubeObject,
  W extends readonly KubeObject[] = readonly KubeObject[],
> extends ControllerSettings<T> {
  /** Secondary watches (children, referenced objects), one kind each. */
  readonly watches?: WatchSpecs<W>;
}

/** Maps an owned object to its controller owner's key (`namespace/name`) of `kind`. */
export function ownerKeys(kind: string): (obj: KubeObject) => string[] {
  return (obj) => {
    const ns = obj.metadata?.namespace;
    return ownerReferencesOf(obj)
      .filter((r) => r.kind === kind && r.controller)
      .map((r) => (ns ? `${ns}/${r.name}` : r.name));
  };
}

// Above this many throttled keys, those whose interval has passed are forgotten.
const THROTTLE_PRUNE_SIZE = 1024;

/** One controller: a queue, its workers and the watches that feed it. */
export class Controller<T extends KubeObject = KubeObject> {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly opts: ControllerSettings<T>;
  private readonly log: Logger;
  private readonly timers: Timers;
  private running = false;
  private workers: Promise<void>[] = [];
  private resyncHandle: unknown;
  // When each throttled key was (or is scheduled to be) last queued: see enqueueThrottled. A
  // time after now means a queueing is pending and the key has not been taken since.
  private readonly throttled = new Map<string, number>();

  constructor(opts: ControllerSettings<T>) {
    this.name = opts.name;
    this.opts = opts;
    this.log = opts.logger ?? silentLogger;
    this.timers = opts.timers ?? realTimers;
    this.queue = this.newQueue();
    const statusMs = opts.statusUpdateCoalesceMs ?? 0;
    opts.for.on((type, obj, old) => {
      const statusOnly =
        statusMs > 0 && type === "update" && old !== undefined && onlyStatusChanged(old, obj);
      this.enqueueThrottled(objectKey(obj), statusOnly ? statusMs : 0);
    });
  }

  /** Adds a secondary watch: changes of its informer's objects enqueue the keys it maps to. */
  watch<U extends KubeObject>(w: WatchSpec<U>): this {
    w.informer.on((type, obj, old) => {
      if (w.when && !w.when(type, obj, old)) return;
      const ms = w.coalesceMs ?? 0;
      const keys = w.map(obj);
      for (const k of keys) this.enqueueThrottled(k, ms);
      // The old version's keys too (a child moved to another owner), each key once per change:
      // queueing it twice would count twice and, throttled, schedule a needless trailing pass.
      if (!old || old === obj) return;
      for (const k of w.map(old)) if (!keys.includes(k)) this.enqueueThrottled(k, ms);
    });
    return this;
  }

  private newQueue(): WorkQueue {
    return new WorkQueue({
      timers: this.timers,
      ...(this.opts.baseDelayMs !== undefined ? { baseDelayMs: this.opts.baseDelayMs } : {}),
      ...(this.opts.maxDelayMs !== undefined ? { maxDelayMs: this.opts.maxDelayMs } : {}),
    });
  }

  /** Queues a key for reconcile (ignored while the controller is stopped). */
  enqueue(key: string): void {
    if (!this.running) return;
    this.queue.add(key);
    this.opts.metrics?.queued?.(this.name);
    this.opts.metrics?.queueDepth(this.name, this.queue.len());
  }

  /**
   * Queues `key` at most once per `ms` (at once when 0): at once when its last throttled
   * queueing is `ms` or more ago, else at that queueing plus `ms` (once, however many changes
   * come in between). A reconcile that starts counts as that queueing (see `taken`): an
   * earlier retry or requeue that overtook the scheduled one saw the changes so far, and the
   * next change schedules its own, so none is left unseen.
   */
  enqueueThrottled(key: string, ms: number): void {
    if (ms <= 0) return this.enqueue(key);
    if (!this.running) return;
    const now = this.timers.now();
    const last = this.throttled.get(key);
    if (last === undefined || now - last >= ms) {
      this.pruneThrottled(now, ms);
      this.throttled.set(key, now);
      this.enqueue(key);
      return;
    }
    if (last > now) return; // already scheduled, and not taken since: that pass sees it
    this.throttled.set(key, last + ms);
    this.queue.addAfter(key, last + ms - now);
  }

  // A worker took `key`: its reconcile sees every change so far. A throttled queueing still
  // pending (an earlier schedule of the key, a retry or a requeue, ran first) is moved to now,
  // so a later change within the interval schedules a pass at now + ms instead of relying on
  // one the queue never kept.
  private taken(key: string): void {
    const now = this.timers.now();
    const at = this.throttled.get(key);
    if (at !== undefined && at > now) this.throttled.set(key, now);
  }

  // Forgets keys whose interval has passed, so the map holds only recently queued keys.
  private pruneThrottled(now: number, ms: number): void {
    if (this.throttled.size < THROTTLE_PRUNE_SIZE) return;
    for (const [k, at] of this.throttled) if (now - at >= ms) this.throttled.delete(k);
  }

  /** True while workers run. */
  isRunning(): boolean {
    return this.running;
  }

  /** Starts the workers and enqueues every cached primary object (the initial full pass). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const n = this.opts.workers ?? 2;
    this.workers = Array.from({ length: n }, () => this.work());
    this.resync();
  }

  private resync(): void {
    for (const o of this.opts.for.list()) this.enqueue(objectKey(o));
    const every = this.opts.resyncMs ?? 300000;
    if (every > 0 && this.running) {
      this.resyncHandle = this.timers.setTimeout(() => this.resync(), every);
    }
  }

  /** Stops taking keys and waits for in-flight reconciles to finish (graceful shutdown). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.timers.clearTimeout(this.resyncHandle);
    this.queue.shutDown();
    this.throttled.clear();
    await Promise.all(this.workers);
    this.workers = [];
    // A fresh queue for a later start (e.g. leadership regained).
    (this as { queue: WorkQueue }).queue = this.newQueue();
  }

  private async work(): Promise<void> {
    const q = this.queue;
    for (;;) {
      const key = await q.get();
      if (key === undefined) return;
      this.taken(key);
      try {
        await this.processOne(q, key);
      } finally {
        q.done(key);
        this.opts.metrics?.queueDepth(this.name, q.len());
      }
    }
  }

  private async processOne(q: WorkQueue, key: string): Promise<void> {
    const t0 = performance.now();
    const { namespace, name } = splitKey(key);
    let outcome: ReconcileOutcome = "success";
    try {
      const res = await this.opts.reconcile({ key, namespace, name });
      q.forget(key);
      if (res?.requeueAfterMs !== undefined && res.requeueAfterMs >= 0) {
        outcome = "requeue";
        q.addAfter(key, res.requeueAfterMs);
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        outcome = "terminal";
        q.forget(key);
        this.log.warn(
          { controller: this.name, key, tenant: tenantOfNamespace(namespace), err: err.message },
          "terminal error",
        );
      } else {
        outcome = "error";
        const delay = q.addRateLimited(key);
        this.opts.metrics?.retried?.(this.name);
        this.log.info(
          {
            controller: this.name,
            key,
            tenant: tenantOfNamespace(namespace),
            err: (err as Error).message,
            retryInMs: delay,
          },
          "reconcile failed; retrying",
        );
      }
    } finally {
      this.opts.metrics?.reconciled(this.name, outcome, (performance.now() - t0) / 1000);
    }
  }
}
