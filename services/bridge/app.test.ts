import { describe, expect, it } from "@jest/globals";
import type { KubeClient } from "../kube/index.ts";
import { generateApiKey, hashSecret } from "../tenant-stack/postgres/api-keys.ts";
import type { RateDecision } from "../tenant-stack/redis/tenant-cache.ts";
import type { KeyStore, StoredKey } from "./api-key-auth.ts";
import { buildServer } from "./app.ts";
import type { BridgeDeps, HealthChecks } from "./deps.ts";
import { ProblemReason } from "./problem.ts";
import { rateLimitHeaders, secondsToWindowEnd } from "./rate-limit.ts";
import {
  IDEMPOTENCY_KEY_ANNOTATION,
  REQUEST_DIGEST_ANNOTATION,
  nameForIdempotencyKey,
  replayVerdict,
} from "./tenant-workloads.ts";

const key = generateApiKey();
const suspendedKey = generateApiKey();

class MemoryKeys implements KeyStore {
  readonly rows = new Map<string, StoredKey>([
    [
      key.keyId,
      {
        tenantId: "t1",
        tenantName: "acme",
        suspended: false,
        secretSha256: hashSecret(key.secret),
      },
    ],
    [
      suspendedKey.keyId,
      {
        tenantId: "t2",
        tenantName: "late",
        suspended: true,
        secretSha256: hashSecret(suspendedKey.secret),
      },
    ],
  ]);
  down = false;
  lookup(id: string): Promise<StoredKey | undefined> {
    if (this.down)
      return Promise.reject(
        Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      );
    return Promise.resolve(this.rows.get(id));
  }
}

const ok = (): Promise<void> => Promise.resolve();
function deps(over: Partial<BridgeDeps> = {}, health: Partial<HealthChecks> = {}): BridgeDeps {
  let n = 0;
  return {
    keys: new MemoryKeys(),
    limiter: {
      consumeRateLimit: (): Promise<RateDecision> => {
        n++;
        return Promise.resolve(
          n > 2
            ? { allowed: false, remaining: 0, limit: 2, reason: "RateLimited" }
            : { allowed: true, remaining: 2 - n, limit: 2 },
        );
      },
    },
    kube: {} as KubeClient,
    treaties: { list: () => [] },
    tenants: { get: () => undefined },
    ledger: { bundle: () => Promise.resolve(undefined) },
    health: { database: ok, redis: ok, ledger: ok, kubernetes: ok, ...health },
    clock: () => new Date("2026-12-03T12:00:30Z"),
    ...over,
  };
}
const bearer = (k: { plaintext: string }): Record<string, string> => ({
  authorization: `Bearer ${k.plaintext}`,
});
const spec = {
  gpu: { type: "a100-80gb", count: 1 },
  template: { image: "ghcr.io/acme/train:1.4" },
};

describe("tenant API plumbing", () => {
  it("serves an OpenAPI 3.1 document with every route and the problem schema", async () => {
    const app = buildServer(deps(), { maxEventLoopDelayMs: 0 });
    const r = await app.inject({ method: "GET", url: "/openapi.json" });
    expect(r.statusCode).toBe(200);
    const doc = r.json<{ openapi: string; paths: Record<string, object> }>();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/health",
      "/v1/quote",
      "/v1/receipts/{digest}",
      "/v1/receipts/{digest}/proof",
      "/v1/usage",
      "/v1/workloads",
      "/v1/workloads/{name}",
    ]);
  });

  it.each([
    ["no header", {}, 401, ProblemReason.Unauthenticated],
    ["not a key", { authorization: "Bearer nope" }, 401, ProblemReason.Unauthenticated],
    ["unknown key", bearer(generateApiKey()), 401, ProblemReason.Unauthenticated],
    [
      "right id, wrong secret",
      { authorization: `Bearer vmk_${key.keyId}_${"A".repeat(43)}` },
      401,
      ProblemReason.Unauthenticated,
    ],
    ["suspended tenant", bearer(suspendedKey), 403, ProblemReason.TenantSuspended],
  ])("%s → %s %s, never echoing the key", async (_n, headers, wantStatus, wantReason) => {
    const app = buildServer(deps(), { maxEventLoopDelayMs: 0 });
    const r = await app.inject({ method: "GET", url: "/v1/usage", headers });
    expect(r.statusCode).toBe(wantStatus);
    expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(r.json<{ reason: string }>().reason).toBe(wantReason);
    expect(r.body).not.toContain(key.secret);
    expect(r.body).not.toContain(suspendedKey.secret);
  });

  it("names the invalid field in a 400 problem", async () => {
    const app = buildServer(deps(), { maxEventLoopDelayMs: 0 });
    const r = await app.inject({
      method: "POST",
      url: "/v1/quote",
      headers: bearer(key),
      payload: { spec: { ...spec, gpu: { type: "a100-80gb", count: 0 } } },
    });
    expect(r.statusCode).toBe(400);
    const p = r.json<{ reason: string; errors: { pointer: string }[]; detail: string }>();
    expect(p.reason).toBe(ProblemReason.InvalidRequest);
    expect(p.errors.map((e) => e.pointer)).toEqual(["/body/spec/gpu/count"]);
    expect(p.detail).toMatch(/^\/body\/spec\/gpu\/count: /);
  });

  it.each([
    ["unknown top-level field", { spec, extra: 1 }, 400, ProblemReason.InvalidRequest],
    ["malformed JSON", "{not json", 400, ProblemReason.MalformedJson],
    ["a huge body", { spec, pad: "x".repeat(200_000) }, 413, ProblemReason.BodyTooLarge],
  ])("%s → %s %s", async (_n, payload, wantStatus, wantReason) => {
    const app = buildServer(deps(), { maxEventLoopDelayMs: 0 });
    const r = await app.inject({
      method: "POST",
      url: "/v1/quote",
      headers: { ...bearer(key), "content-type": "application/json" },
      payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    });
    expect(r.statusCode).toBe(wantStatus);
    expect(r.json<{ reason: string }>().reason).toBe(wantReason);
  });

  it("answers 429 with Retry-After and RateLimit-* once the tenant's budget is spent", async () => {
    const app = buildServer(deps(), { maxEventLoopDelayMs: 0 });
    const call = () =>
      app.inject({ method: "POST", url: "/v1/quote", headers: bearer(key), payload: { spec } });
    const first = await call();
    expect(first.statusCode).toBe(200);
    expect(first.headers["ratelimit-remaining"]).toBe("1");
    await call();
    const third = await call();
    expect(third.statusCode).toBe(429);
    expect(third.headers["retry-after"]).toBe("30");
    expect(third.headers["ratelimit-limit"]).toBe("2");
    expect(third.headers["ratelimit-remaining"]).toBe("0");
  });

  it("answers 503 on authenticated routes while the key store is down; /openapi.json still works", async () => {
    const keys = new MemoryKeys();
    keys.down = true;
    const app = buildServer(deps({ keys }), { maxEventLoopDelayMs: 0 });
    const r = await app.inject({ method: "GET", url: "/v1/usage", headers: bearer(key) });
    expect(r.statusCode).toBe(503);
    expect(r.json<{ reason: string }>().reason).toBe(ProblemReason.DependencyUnavailable);
    expect((await app.inject({ method: "GET", url: "/openapi.json" })).statusCode).toBe(200);
  });

  it("/health is 503 naming the dependency that is down", async () => {
    const down = (): Promise<void> =>
      Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
    const app = buildServer(deps({}, { redis: down }), { maxEventLoopDelayMs: 0 });
    const r = await app.inject({ method: "GET", url: "/health" });
    expect(r.statusCode).toBe(503);
    const h = r.json<Record<string, string>>();
    expect(h).toMatchObject({ status: "degraded", database: "connected", ledger: "connected" });
    expect(h.redis).toMatch(/ECONNREFUSED/);
  });

  it("counts requests by route template in /metrics, without keys", async () => {
    const app = buildServer(deps(), { maxEventLoopDelayMs: 0 });
    await app.inject({ method: "GET", url: "/v1/usage", headers: bearer(generateApiKey()) });
    const m = (await app.inject({ method: "GET", url: "/metrics" })).body;
    expect(m).toMatch(
      /vaultmesh_http_requests_total\{server="bridge",route="\/v1\/usage",method="GET",code="401"\} 1/,
    );
    expect(m).not.toContain("vmk_");
  });
});

describe("rateLimitHeaders", () => {
  it.each([
    [{ allowed: true, remaining: 7, limit: 10 }, { "ratelimit-remaining": "7" }, false],
    [
      { allowed: false, remaining: 0, limit: 10, reason: "RateLimited" as const },
      { "retry-after": "15" },
      true,
    ],
  ])("%j", (d, want, wantRetry) => {
    const h = rateLimitHeaders(d, Date.parse("2026-12-03T12:00:45Z"));
    expect(h).toMatchObject({ "ratelimit-limit": "10", "ratelimit-reset": "15", ...want });
    expect("retry-after" in h).toBe(wantRetry);
  });

  it("says nothing when the limiter did not answer", () => {
    expect(
      rateLimitHeaders({ allowed: true, remaining: 0, limit: 0, reason: "LimiterUnavailable" }, 0),
    ).toEqual({});
  });

  it.each([
    ["2026-12-03T12:00:00.000Z", 60],
    ["2026-12-03T12:00:59.500Z", 1],
  ])("%s → %d s to the window's end", (at, want) => {
    expect(secondsToWindowEnd(Date.parse(at))).toBe(want);
  });
});

describe("replayVerdict", () => {
  const obj = (k?: string, r?: string) => ({
    metadata: {
      annotations: {
        ...(k ? { [IDEMPOTENCY_KEY_ANNOTATION]: k } : {}),
        ...(r ? { [REQUEST_DIGEST_ANNOTATION]: r } : {}),
      },
    },
  });
  it.each([
    ["same key, same request", obj("k", "r"), "k", "r", "replay"],
    ["same key, other request", obj("k", "r"), "k", "r2", "key-reused"],
    ["other key", obj("k", "r"), "k2", "r", "conflict"],
    ["no key on the request", obj("k", "r"), undefined, "r", "conflict"],
    ["created without a key", obj(undefined, "r"), "k", "r", "conflict"],
  ])("%s", (_n, existing, keyHash, requestHash, want) => {
    expect(replayVerdict(existing, keyHash, requestHash)).toBe(want);
  });

  it("derives the same name from the same key", () => {
    expect(nameForIdempotencyKey("abc")).toBe(nameForIdempotencyKey("abc"));
    expect(nameForIdempotencyKey("abc")).not.toBe(nameForIdempotencyKey("abd"));
    expect(nameForIdempotencyKey("abc")).toMatch(/^w-[0-9a-f]{16}$/);
  });
});
