/**
 * The one place a long-lived client's `error` events are handled. An EventEmitter that emits
 * `error` with no listener throws, and Node exits: a Postgres server stopped with
 * `pg_ctl stop -m immediate` makes every pg client emit "Connection terminated unexpectedly" —
 * the pool's idle clients through the pool, and a checked-out client (inside a transaction,
 * between two queries) on the client itself, where pg-pool attaches no listener. Each guard
 * below attaches the listeners once, logs through the reporter (redacted), and marks the
 * dependency down; the next successful connection marks it up. Queries in flight still fail
 * with their own error, which the caller retries.
 */
import { OutageReason, outageReason } from "./dependency-errors.ts";
import type { DependencyReporter } from "./dependency-health.ts";

/** The EventEmitter surface the guards use (pg's Pool and Client, ioredis, node:events). */
export interface Emitter {
  // `any`, as node:events declares it: listeners of different events take different arguments.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/**
 * Guards a pg.Pool: pool `error` (an idle client lost its connection) and every client's own
 * `error` (attached on `connect`, so it also covers checked-out clients). Returns the pool.
 */
export function guardPgPool<P extends Emitter>(pool: P, dep: DependencyReporter): P {
  pool.on("error", (err: Error) => dep.down(outageReason(err) ?? OutageReason.ConnectionLost, err));
  pool.on("connect", (client: Emitter) => {
    client.on("error", (err: Error) =>
      dep.down(outageReason(err) ?? OutageReason.ConnectionLost, err),
    );
    dep.up();
  });
  return pool;
}

/**
 * Guards an ioredis connection: `error` marks it down (ioredis keeps reconnecting by itself),
 * `ready` marks it up, `end` (no more reconnects) marks it down for good.
 */
export function guardRedis<R extends Emitter>(redis: R, dep: DependencyReporter): R {
  redis.on("error", (err: Error) => dep.down(outageReason(err) ?? OutageReason.Unreachable, err));
  redis.on("ready", () => dep.up());
  redis.on("end", () =>
    dep.down(OutageReason.ConnectionLost, new Error("connection ended; no more reconnects")),
  );
  return redis;
}

/** Timers as the probe uses them (injected; unref'd in production). */
export interface ProbeTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const unrefTimers: ProbeTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Runs `check` now and then every `intervalMs` (every `downIntervalMs` while down, so a
 * return is noticed sooner), reporting up or down. A dependency nobody queries still shows
 * its true state on /readyz. Returns a stop function.
 */
export function startProbe(
  dep: DependencyReporter,
  check: () => Promise<unknown>,
  opts: { intervalMs: number; downIntervalMs?: number; timers?: ProbeTimers },
): () => void {
  const timers = opts.timers ?? unrefTimers;
  let handle: unknown;
  let stopped = false;
  const run = (): void => {
    check().then(
      () => {
        dep.up();
        schedule(opts.intervalMs);
      },
      (err: unknown) => {
        dep.down(outageReason(err) ?? OutageReason.ProbeFailed, err);
        schedule(opts.downIntervalMs ?? opts.intervalMs);
      },
    );
  };
  const schedule = (ms: number): void => {
    if (!stopped) handle = timers.setTimeout(run, ms);
  };
  run();
  return () => {
    stopped = true;
    timers.clearTimeout(handle);
  };
}
