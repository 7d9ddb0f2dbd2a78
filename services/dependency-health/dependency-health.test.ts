import { EventEmitter } from "node:events";
import { describe, expect, it } from "@jest/globals";
import { fixedClock } from "../ledger/clock.ts";
import { guardPgPool, guardRedis, startProbe } from "./client-guards.ts";
import { describeError, OutageReason, outageReason, redact } from "./dependency-errors.ts";
import {
  DependencyHealth,
  DependencyState,
  readinessReport,
  type DependencyStatus,
} from "./dependency-health.ts";

const err = (message: string, code?: string): Error => Object.assign(new Error(message), { code });

const logged: { level: string; msg: string | undefined }[] = [];
const logger = {
  info: (_o: object, msg?: string) => void logged.push({ level: "info", msg }),
  warn: (_o: object, msg?: string) => void logged.push({ level: "warn", msg }),
};
const newHealth = (): DependencyHealth =>
  new DependencyHealth({ clock: fixedClock("2026-01-01T00:00:00Z", 1000), logger });

describe("outageReason", () => {
  it.each([
    {
      name: "pg idle client on immediate stop",
      e: err("Connection terminated unexpectedly"),
      want: OutageReason.ConnectionLost,
    },
    {
      name: "refused",
      e: err("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
      want: OutageReason.Unreachable,
    },
    { name: "reset", e: err("read ECONNRESET", "ECONNRESET"), want: OutageReason.ConnectionLost },
    {
      name: "pg admin shutdown",
      e: err("terminating connection due to administrator command", "57P01"),
      want: OutageReason.ServerUnavailable,
    },
    {
      name: "pg starting up",
      e: err("the database system is starting up", "57P03"),
      want: OutageReason.ServerUnavailable,
    },
    {
      name: "pg connection exception class 08",
      e: err("connection failure", "08006"),
      want: OutageReason.ServerUnavailable,
    },
    {
      name: "pool connect timeout",
      e: err("timeout exceeded when trying to connect"),
      want: OutageReason.Unreachable,
    },
    {
      name: "both address families refused",
      e: new AggregateError([err("x", "ECONNREFUSED")], ""),
      want: OutageReason.Unreachable,
    },
    {
      name: "fetch wraps the socket error",
      e: Object.assign(new TypeError("fetch failed"), { cause: err("x", "ECONNRESET") }),
      want: OutageReason.Unreachable,
    },
    {
      name: "ioredis gave up on a queued command",
      e: err(
        'Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.',
      ),
      want: OutageReason.Unreachable,
    },
    {
      name: "ioredis offline queue off",
      e: err("Stream isn't writeable and enableOfflineQueue options is false"),
      want: OutageReason.Unreachable,
    },
    { name: "unique violation", e: err("duplicate key value", "23505"), want: undefined },
    { name: "a bug", e: new TypeError("x is undefined"), want: undefined },
    { name: "not an error", e: "boom", want: undefined },
  ])("$name → $want", ({ e, want }) => {
    expect(outageReason(e)).toBe(want);
  });
});

describe("redact / describeError", () => {
  it.each([
    { in: "postgres://app:s3cret@db:5432/x refused", want: "postgres://app:***@db:5432/x refused" },
    { in: "Authorization: Bot abcdefghijklmnop", want: "Authorization: Bot ***" },
    { in: "key sk_test_51Habc rejected", want: "key sk_test_*** rejected" },
    { in: "plain message", want: "plain message" },
  ])("$in", ({ in: text, want }) => {
    expect(redact(text)).toBe(want);
  });

  it("names the code, redacts and bounds the message", () => {
    expect(describeError(err("connect to redis://u:pw@h:6379 failed", "ECONNREFUSED"))).toBe(
      "ECONNREFUSED: connect to redis://u:***@h:6379 failed",
    );
    expect(describeError(err("x".repeat(1000))).length).toBe(300);
  });
});

describe("DependencyHealth", () => {
  it("logs transitions once and keeps the latest detail", () => {
    logged.length = 0;
    const h = newHealth();
    const dep = h.register("ledger-postgres", { whileDown: "completions wait" });
    expect(dep.status().state).toBe(DependencyState.Unknown);
    dep.up();
    dep.down(OutageReason.ConnectionLost, err("Connection terminated unexpectedly"));
    dep.down(OutageReason.ConnectionLost, err("Connection terminated unexpectedly again"));
    dep.up();
    expect(logged).toEqual([
      { level: "warn", msg: "ledger-postgres is down" },
      { level: "info", msg: "ledger-postgres is back" },
    ]);
    expect(h.statuses()).toMatchObject([{ name: "ledger-postgres", state: "Up" }]);
  });
});

describe("DependencyHealth.onReturn", () => {
  it("fires on each return after an outage, never on the first connection or for another dependency", () => {
    const h = newHealth();
    const redis = h.register("redis");
    const pg = h.register("pg");
    let returns = 0;
    h.onReturn("redis", () => returns++);
    redis.up();
    pg.down(OutageReason.ConnectionLost, err("gone"));
    pg.up();
    expect(returns).toBe(0);
    redis.down(OutageReason.Unreachable, err("refused", "ECONNREFUSED"));
    redis.down(OutageReason.ConnectionLost, err("reset", "ECONNRESET"));
    expect(returns).toBe(0);
    redis.up();
    redis.up();
    expect(returns).toBe(1);
    redis.down(OutageReason.Unreachable, err("refused", "ECONNREFUSED"));
    redis.up();
    expect(returns).toBe(2);
  });

  it("keeps a throwing listener from the reporter and from the other listeners", () => {
    logged.length = 0;
    const h = newHealth();
    const redis = h.register("redis");
    let returns = 0;
    h.onReturn("redis", () => {
      throw new Error("requeue failed");
    });
    h.onReturn("redis", () => returns++);
    redis.down(OutageReason.Unreachable, err("refused", "ECONNREFUSED"));
    expect(() => redis.up()).not.toThrow();
    expect(returns).toBe(1);
    expect(logged).toContainEqual({ level: "warn", msg: "a listener of redis's state failed" });
  });
});

describe("readinessReport", () => {
  const status = (over: Partial<DependencyStatus>): DependencyStatus => ({
    name: "db",
    state: DependencyState.Up,
    reason: "Connected",
    message: "",
    since: "2026-01-01T00:00:00.000Z",
    required: false,
    whileDown: "",
    ...over,
  });
  it.each([
    { name: "all up", checks: [true], deps: [status({})], wantReady: true, wantLine: "[+]db ok" },
    {
      name: "optional dependency down: degraded, still ready",
      checks: [true],
      deps: [
        status({
          state: "Down",
          reason: "ConnectionLost",
          message: "gone",
          whileDown: "receipts wait",
        }),
      ],
      wantReady: true,
      wantLine:
        "[~]db down: ConnectionLost: gone (since 2026-01-01T00:00:00.000Z); degraded: receipts wait",
    },
    {
      name: "required dependency down",
      checks: [true],
      deps: [status({ state: "Down", reason: "Unreachable", message: "refused", required: true })],
      wantReady: false,
      wantLine: "[-]db down: Unreachable: refused (since 2026-01-01T00:00:00.000Z)",
    },
    {
      name: "caches not synced",
      checks: [false],
      deps: [],
      wantReady: false,
      wantLine: "[-]informers failed: caches not synced",
    },
  ])("$name", ({ checks, deps, wantReady, wantLine }) => {
    const r = readinessReport(
      checks.map((ok) => ({ name: "informers", ok, message: "caches not synced" })),
      deps,
    );
    expect(r.ready).toBe(wantReady);
    expect(r.text.split("\n")).toContain(wantLine);
  });
});

describe("client guards", () => {
  it("a pg pool's and its checked-out clients' error events mark the dependency down instead of throwing", () => {
    const h = newHealth();
    const dep = h.register("pg");
    const pool = guardPgPool(new EventEmitter(), dep);
    const client = new EventEmitter();
    pool.emit("connect", client);
    expect(dep.status().state).toBe("Up");
    // Without a listener, either emit would throw "Unhandled 'error' event".
    expect(() => client.emit("error", err("Connection terminated unexpectedly"))).not.toThrow();
    expect(dep.status()).toMatchObject({ state: "Down", reason: OutageReason.ConnectionLost });
    expect(() => pool.emit("error", err("read ECONNRESET", "ECONNRESET"))).not.toThrow();
    pool.emit("connect", new EventEmitter());
    expect(dep.status().state).toBe("Up");
  });

  it("redis: error marks down, ready marks up, end marks down for good", () => {
    const dep = newHealth().register("redis");
    const redis = guardRedis(new EventEmitter(), dep);
    expect(() => redis.emit("error", err("connect ECONNREFUSED", "ECONNREFUSED"))).not.toThrow();
    expect(dep.status()).toMatchObject({ state: "Down", reason: OutageReason.Unreachable });
    redis.emit("ready");
    expect(dep.status().state).toBe("Up");
    redis.emit("end");
    expect(dep.status()).toMatchObject({ state: "Down", reason: OutageReason.ConnectionLost });
  });

  it("a probe reports each result and probes sooner while down", async () => {
    const dep = newHealth().register("tsa");
    const delays: number[] = [];
    let next: (() => void) | undefined;
    const timers = {
      setTimeout: (fn: () => void, ms: number) => {
        delays.push(ms);
        next = fn;
        return ms;
      },
      clearTimeout: () => undefined,
    };
    const answers = [false, true];
    const settled = (): Promise<void> => new Promise((r) => setImmediate(r));
    const stop = startProbe(
      dep,
      () => (answers.shift() ? Promise.resolve() : Promise.reject(err("x", "ECONNREFUSED"))),
      { intervalMs: 10_000, downIntervalMs: 1_000, timers },
    );
    await settled();
    expect(dep.status().state).toBe("Down");
    next?.();
    await settled();
    expect(dep.status().state).toBe("Up");
    expect(delays).toEqual([1_000, 10_000]);
    stop();
  });
});
