import { describe, expect, it } from "@jest/globals";
import type { KubeClient } from "../kube/index.ts";
import { generateApiKey, hashSecret } from "../tenant-stack/postgres/api-keys.ts";
import { authenticate, type KeyStore, type StoredKey } from "./api-key-auth.ts";
import { CachingKeyStore } from "./key-cache.ts";
import { ProblemReason } from "./problem.ts";
import { TenantAccess } from "./tenant-reads.ts";

const stored = (tenant: string, secret: string, suspended = false): StoredKey => ({
  tenantId: `id-${tenant}`,
  tenantName: tenant,
  suspended,
  secretSha256: hashSecret(secret),
});

/** The database: rows by key id, a query counter, and an outage switch. */
class Db implements KeyStore {
  readonly rows = new Map<string, StoredKey>();
  queries = 0;
  down = false;
  lookup(id: string): Promise<StoredKey | undefined> {
    this.queries++;
    if (this.down) return Promise.reject(new Error("connect ECONNREFUSED"));
    return Promise.resolve(this.rows.get(id));
  }
}

function setup(opts: { ttlMs?: number; maxEntries?: number } = {}) {
  const db = new Db();
  let now = 1_000_000;
  const cache = new CachingKeyStore(db, { ttlMs: 5_000, ...opts, now: () => now });
  return {
    db,
    cache,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("CachingKeyStore", () => {
  it("asks the database once per key within the TTL, and again once it expired", async () => {
    const { db, cache, advance } = setup();
    db.rows.set("k1", stored("acme", "s"));
    await cache.lookup("k1");
    advance(4_999);
    expect((await cache.lookup("k1"))?.tenantName).toBe("acme");
    expect(db.queries).toBe(1);
    advance(1);
    await cache.lookup("k1");
    expect(db.queries).toBe(2);
  });

  it("sees a revocation and a suspension no later than the TTL", async () => {
    const { db, cache, advance } = setup();
    db.rows.set("k1", stored("acme", "s"));
    db.rows.set("k2", stored("beta", "s"));
    await cache.lookup("k1");
    await cache.lookup("k2");
    db.rows.delete("k1"); // revoked_at set: the store no longer returns it
    db.rows.set("k2", stored("beta", "s", true));
    advance(2_000);
    // Within the TTL the cached record may still answer (the documented bound)…
    expect(await cache.lookup("k1")).toBeDefined();
    advance(3_000);
    // …and at the TTL it never does.
    expect(await cache.lookup("k1")).toBeUndefined();
    expect((await cache.lookup("k2"))?.suspended).toBe(true);
  });

  it("never caches a failed lookup: unknown keys and store errors ask again every time", async () => {
    const { db, cache } = setup();
    expect(await cache.lookup("nope")).toBeUndefined();
    db.rows.set("nope", stored("acme", "s"));
    expect(await cache.lookup("nope")).toBeDefined();
    expect(db.queries).toBe(2);
    cache.forget();
    db.down = true;
    await expect(cache.lookup("nope")).rejects.toThrow(/ECONNREFUSED/);
    await expect(cache.lookup("nope")).rejects.toThrow(/ECONNREFUSED/);
    expect(db.queries).toBe(4);
    expect(cache.size).toBe(0);
  });

  it("holds at most maxEntries keys, evicting the least recently used", async () => {
    const { db, cache } = setup({ maxEntries: 2 });
    for (const k of ["a", "b", "c"]) db.rows.set(k, stored(k, "s"));
    await cache.lookup("a");
    await cache.lookup("b");
    await cache.lookup("a"); // a is now the most recent
    await cache.lookup("c"); // evicts b
    expect(cache.size).toBe(2);
    const before = db.queries;
    await cache.lookup("a");
    await cache.lookup("c");
    expect(db.queries).toBe(before);
    await cache.lookup("b");
    expect(db.queries).toBe(before + 1);
  });

  it("coalesces concurrent lookups of one key into one query", async () => {
    const { db, cache } = setup();
    db.rows.set("k1", stored("acme", "s"));
    const all = await Promise.all([1, 2, 3, 4].map(() => cache.lookup("k1")));
    expect(all.every((k) => k?.tenantName === "acme")).toBe(true);
    expect(db.queries).toBe(1);
  });

  it("still compares the secret on every request: a cached key with a wrong secret is 401", async () => {
    const { db, cache } = setup();
    const key = generateApiKey();
    db.rows.set(key.keyId, stored("acme", key.secret));
    const good = await authenticate(`Bearer ${key.plaintext}`, cache, () => "");
    expect(good.ok).toBe(true);
    const forged = `${key.plaintext.slice(0, -1)}${key.plaintext.endsWith("A") ? "B" : "A"}`;
    const bad = await authenticate(`Bearer ${forged}`, cache, () => "");
    expect(bad).toMatchObject({ ok: false, problem: { status: 401 } });
    expect(db.queries).toBe(1);
  });

  it("rejects a bad TTL or size naming the option", () => {
    expect(() => new CachingKeyStore(new Db(), { ttlMs: -1 })).toThrow(/ttlMs/);
    expect(() => new CachingKeyStore(new Db(), { maxEntries: 0 })).toThrow(/maxEntries/);
  });
});

/** A kube client answering SelfSubjectAccessReviews from a table, recording the identities. */
function reviewer(allowed: Record<string, boolean>) {
  const asked: string[] = [];
  let headers: Record<string, string> = {};
  const client = {
    withHeaders(h: Record<string, string>) {
      headers = h;
      return client;
    },
    request(_m: string, _p: string, body: { spec: { resourceAttributes: { namespace: string } } }) {
      const user = headers["Impersonate-User"] ?? "";
      asked.push(`${user} ${body.spec.resourceAttributes.namespace}`);
      return Promise.resolve({ status: { allowed: allowed[user] === true } });
    },
  };
  return { client: client as unknown as KubeClient, asked };
}

describe("TenantAccess", () => {
  it("asks as the tenant, caches a yes for the TTL and never a no", async () => {
    const { client, asked } = reviewer({ "vaultmesh:tenant-api:acme": true });
    let now = 0;
    const access = new TenantAccess(client, { ttlMs: 10_000, now: () => now });
    await access.check("acme", "gpuworkloads");
    await access.check("acme", "gpuworkloads");
    expect(asked).toEqual(["vaultmesh:tenant-api:acme tenant-acme"]);
    now = 10_000;
    await access.check("acme", "gpuworkloads");
    expect(asked).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      await expect(access.check("beta", "receipts")).rejects.toMatchObject({
        problem: { status: 403, reason: ProblemReason.Forbidden },
      });
    }
    expect(asked).toHaveLength(4);
  });
});
