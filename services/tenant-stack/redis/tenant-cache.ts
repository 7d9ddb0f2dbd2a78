/**
 * The tenant's Redis side: an ACL user `tenant-<name>` confined to keys and channels
 * `tenant:<name>:*` with a fixed set of data commands (no key enumeration, no admin, no
 * server-wide scripting), and the tenant's API limits stored where the bridge reads them.
 * Reads come before writes, so an unchanged tenant costs no write; commands are counted.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { describeError, isOutage } from "../../dependency-health/index.ts";

/** Commands a tenant user may run, after `-@all`. Order matters: later rules win. */
export const TENANT_COMMAND_RULES: readonly string[] = [
  "-@all",
  "+@read",
  "+@write",
  "+@keyspace",
  "+@string",
  "+@hash",
  "+@list",
  "+@set",
  "+@sortedset",
  "+@stream",
  "+@bitmap",
  "+@hyperloglog",
  "+@geo",
  "+@transaction",
  "+@pubsub",
  "+@connection",
  "+eval",
  "+evalsha",
  "+eval_ro",
  "+evalsha_ro",
  "+script|load",
  "+script|exists",
  // Enumeration would leak other tenants' key and channel names; functions are server-wide.
  "-@dangerous",
  "-@admin",
  "-scan",
  "-randomkey",
  "-dbsize",
  "-select",
  "-move",
  "-swapdb",
  "-sort",
  "-sort_ro",
  "-pubsub",
  "-function",
];

/** The tenant's API limits as the bridge reads them. */
export interface TenantLimits {
  readonly requestsPerMinute: number;
  readonly suspended: boolean;
}

/** The outcome of one rate-limited request. */
export interface RateDecision {
  readonly allowed: boolean;
  /** Requests left in the current minute (0 when refused or not counted). */
  readonly remaining: number;
  /** The tenant's limit (0 when unknown: not stored, or Redis did not answer). */
  readonly limit: number;
  /**
   * Why a request was refused — or `LimiterUnavailable`: Redis did not answer, and the request
   * was let through without being counted (fail open, ADR 0072).
   */
  readonly reason?: "RateLimited" | "Suspended" | "UnknownTenant" | "LimiterUnavailable";
  /** With `LimiterUnavailable`: what went wrong (redacted), for the caller's log and metric. */
  readonly degraded?: string;
}

/** Options of {@link TenantCache.consumeRateLimit}. */
export interface RateLimitOptions {
  /**
   * Longest wait for Redis, in ms: past it the request fails open. ioredis queues a command
   * while it reconnects, so without a bound a stopped Redis would hold every API request.
   * @default RATE_LIMIT_TIMEOUT_MS
   */
  readonly timeoutMs?: number;
}

/** The default {@link RateLimitOptions.timeoutMs}: an API request waits at most this long. */
export const RATE_LIMIT_TIMEOUT_MS = 250;

/** Thrown inside {@link TenantCache.consumeRateLimit} when Redis did not answer in time. */
class LimiterTimeout extends Error {
  override readonly name = "LimiterTimeout";
}

/** `p`, or a LimiterTimeout after `ms` (the timer never holds the process open). */
async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new LimiterTimeout(`redis did not answer within ${ms} ms`)),
      ms,
    );
    timer.unref();
  });
  // The command may still fail after the timeout: nobody waits for it any more.
  p.catch(() => undefined);
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** Redis username of tenant `name`. */
export const redisUser = (name: string): string => `tenant-${name}`;
/** The key prefix tenant `name` may use. */
export const tenantKeyPrefix = (name: string): string => `tenant:${name}:`;
/** Key of the tenant's limits (hash-tagged so the rate-limit script works on a cluster). */
export const limitsKey = (name: string): string => `vaultmesh:{tenant:${name}}:limits`;
const windowKey = (name: string, minute: number): string =>
  `vaultmesh:{tenant:${name}}:rl:${minute}`;

// Fixed one-minute window: count the request, refuse past the stored limit or when suspended.
const RATE_SCRIPT = `
local limit = tonumber(redis.call('HGET', KEYS[1], 'requestsPerMinute'))
if not limit then return {-1, 0, 0} end
if redis.call('HGET', KEYS[1], 'suspended') == '1' then return {limit, 0, 1} end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return {limit, n, 0}`;

/** Command counters. */
export interface CacheCounters {
  commands: number;
  writes: number;
}

type AclUser = Record<string, unknown>;

const asString = (v: unknown): string => (typeof v === "string" ? v : "");

function toRecord(reply: unknown): AclUser | undefined {
  if (!Array.isArray(reply)) return undefined;
  const out: AclUser = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  return out;
}

/** Tenant-scoped Redis operations, on a connection with ACL admin rights. */
export class TenantCache {
  /** Commands issued and writes among them since construction. */
  readonly counters: CacheCounters = { commands: 0, writes: 0 };
  readonly #redis: Redis;
  /** Redis's normalized form of {@link TENANT_COMMAND_RULES}, learned once per process. */
  #normalizedCommands: string | undefined;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async #read<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    this.counters.commands++;
    return await fn(this.#redis);
  }

  async #write<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    this.counters.commands++;
    this.counters.writes++;
    return await fn(this.#redis);
  }

  async #getUser(user: string): Promise<AclUser | undefined> {
    return toRecord(await this.#read((r) => r.call("ACL", "GETUSER", user)));
  }

  async #expectedCommands(): Promise<string> {
    if (this.#normalizedCommands !== undefined) return this.#normalizedCommands;
    // Redis rewrites the rules into its own normal form; learn it from a disabled probe user.
    // The probe's name is unique: with a shared name, a second process learning at the same
    // time could delete it between our SETUSER and GETUSER, and we would cache an empty form
    // and rewrite every user on every reconcile.
    const probe = `vaultmesh-acl-probe-${randomBytes(6).toString("hex")}`;
    await this.#write((r) =>
      r.call("ACL", "SETUSER", probe, "reset", "off", ...TENANT_COMMAND_RULES),
    );
    const u = await this.#getUser(probe);
    await this.#write((r) => r.call("ACL", "DELUSER", probe));
    if (typeof u?.commands !== "string") {
      throw new Error(
        `redis: ACL GETUSER ${probe} returned no commands; cannot learn the ACL normal form`,
      );
    }
    this.#normalizedCommands = u.commands;
    return this.#normalizedCommands;
  }

  /**
   * Makes sure the tenant's ACL user exists with exactly our rules and this password; returns
   * whether anything was written. Only the password's SHA-256 is sent (`#<hash>`), never the
   * password itself.
   */
  async ensureUser(name: string, password: string): Promise<boolean> {
    const user = redisUser(name);
    const cur = await this.#getUser(user);
    const hash = createHash("sha256").update(password).digest("hex");
    const prefix = tenantKeyPrefix(name);
    if (cur) {
      const flags = (cur.flags as string[] | undefined) ?? [];
      const same =
        flags.includes("on") &&
        !flags.includes("nopass") &&
        JSON.stringify(cur.passwords) === JSON.stringify([hash]) &&
        cur.keys === `~${prefix}*` &&
        cur.channels === `&${prefix}*` &&
        (cur.selectors as unknown[] | undefined)?.length === 0 &&
        cur.commands === (await this.#expectedCommands());
      if (same) return false;
    }
    await this.#write((r) =>
      r.call(
        "ACL",
        "SETUSER",
        user,
        "reset",
        "on",
        `#${hash}`,
        `~${prefix}*`,
        `&${prefix}*`,
        ...TENANT_COMMAND_RULES,
      ),
    );
    // The user now holds exactly our rules: its commands field is their normal form.
    this.#normalizedCommands ??= asString((await this.#getUser(user))?.commands);
    return true;
  }

  /** Stores the tenant's limits for the bridge; returns whether anything was written. */
  async setLimits(name: string, limits: TenantLimits): Promise<boolean> {
    const want = {
      requestsPerMinute: String(limits.requestsPerMinute),
      suspended: limits.suspended ? "1" : "0",
    };
    const cur = await this.#read((r) => r.hgetall(limitsKey(name)));
    if (cur.requestsPerMinute === want.requestsPerMinute && cur.suspended === want.suspended) {
      return false;
    }
    await this.#write((r) => r.hset(limitsKey(name), want));
    return true;
  }

  /** Reads the tenant's stored limits, or undefined when none are stored. */
  async getLimits(name: string): Promise<TenantLimits | undefined> {
    const cur = await this.#read((r) => r.hgetall(limitsKey(name)));
    if (cur.requestsPerMinute === undefined) return undefined;
    return { requestsPerMinute: Number(cur.requestsPerMinute), suspended: cur.suspended === "1" };
  }

  /**
   * Counts one API request of the tenant against its per-minute limit (for the bridge).
   * Fails open (ADR 0072): when Redis is away or does not answer within `timeoutMs`, the
   * request is allowed, uncounted, with reason `LimiterUnavailable` — a rate limiter's outage
   * must not become every tenant's API outage. Any other error (a refused script, an ACL
   * error) and a reply of the wrong shape are thrown: those are bugs, not outages.
   */
  async consumeRateLimit(
    name: string,
    nowMs: number,
    opts: RateLimitOptions = {},
  ): Promise<RateDecision> {
    const minute = Math.floor(nowMs / 60_000);
    let reply: unknown;
    try {
      reply = await within(
        this.#write((r) =>
          r.eval(RATE_SCRIPT, 2, limitsKey(name), windowKey(name, minute), 120_000),
        ),
        opts.timeoutMs ?? RATE_LIMIT_TIMEOUT_MS,
      );
    } catch (err) {
      if (!(err instanceof LimiterTimeout) && !isOutage(err)) throw err;
      return {
        allowed: true,
        remaining: 0,
        limit: 0,
        reason: "LimiterUnavailable",
        degraded: describeError(err),
      };
    }
    if (!Array.isArray(reply) || reply.length !== 3 || !reply.every(isInt)) {
      throw new Error(
        `redis: the rate-limit script returned ${JSON.stringify(reply)?.slice(0, 100)}; expected [limit, count, suspended]`,
      );
    }
    const [limit, n, suspended] = reply as [number, number, number];
    if (limit < 0) return { allowed: false, remaining: 0, limit: 0, reason: "UnknownTenant" };
    if (suspended === 1) return { allowed: false, remaining: 0, limit, reason: "Suspended" };
    if (n > limit) return { allowed: false, remaining: 0, limit, reason: "RateLimited" };
    return { allowed: true, remaining: limit - n, limit };
  }

  async #scan(match: string, onBatch: (keys: string[]) => Promise<void>): Promise<void> {
    let cursor = "0";
    do {
      const [next, keys] = await this.#read((r) => r.scan(cursor, "MATCH", match, "COUNT", 1000));
      cursor = next;
      if (keys.length > 0) await onBatch(keys);
    } while (cursor !== "0");
  }

  /**
   * Deletes the tenant's ACL user (Redis disconnects its clients), its keys and its limits;
   * returns the number of keys removed. Idempotent.
   */
  async deleteTenant(name: string): Promise<number> {
    if (await this.#getUser(redisUser(name))) {
      await this.#write((r) => r.call("ACL", "DELUSER", redisUser(name)));
    }
    let removed = 0;
    const unlink = async (keys: string[]): Promise<void> => {
      removed += await this.#write((r) => r.unlink(...keys));
    };
    await this.#scan(`${tenantKeyPrefix(name)}*`, unlink);
    await this.#scan(`vaultmesh:{tenant:${name}}:*`, unlink);
    return removed;
  }

  /** True when anything of the tenant remains: its user, a key or its limits. */
  async tenantExists(name: string): Promise<boolean> {
    if (await this.#getUser(redisUser(name))) return true;
    let found = false;
    const mark = (): Promise<void> => {
      found = true;
      return Promise.resolve();
    };
    await this.#scan(`${tenantKeyPrefix(name)}*`, mark);
    await this.#scan(`vaultmesh:{tenant:${name}}:*`, mark);
    return found;
  }
}
