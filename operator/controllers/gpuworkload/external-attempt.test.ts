// ExternalAttempts against the provider simulator (in-process through app.inject, on a fake
// clock): what each provider state and failure makes the reconciler do.
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import type { FastifyInstance } from "fastify";
import type { GPUWorkload, GPUWorkloadStatus, Treaty } from "../../../crds/index.ts";
import { ProviderClient } from "../../../services/provider-client/index.ts";
import { buildServer, type SimFaults } from "../../../services/provider-sim/index.ts";
import { gpuWorkload, treaty } from "../../../test/builders/objects.ts";
import { ExternalAttempts, provisionWait, type ExternalStep } from "./external-attempt.ts";
import { treatyUnfit, type Attempt } from "./in-cluster-attempt.ts";

const T0 = Date.parse("2026-03-01T12:00:00Z");
let t = T0;
let faults: SimFaults = {};
let app: FastifyInstance;
let ext: ExternalAttempts;

// fetch over app.inject: the real client and the real simulator, no sockets.
const injectFetch = (async (input: string | URL, init?: RequestInit) => {
  const url = new URL(input);
  const res = await app.inject({
    method: (init?.method ?? "GET") as "GET" | "POST",
    url: url.pathname,
    headers: init?.headers as Record<string, string>,
    ...(typeof init?.body === "string" ? { payload: init.body } : {}),
  });
  return new Response(res.statusCode === 204 ? null : res.body, {
    status: res.statusCode,
    headers: res.headers as Record<string, string>,
  });
}) as typeof fetch;

const wantTreaty: Treaty = (() => {
  const x = treaty("akash").external("akash", "http://sim.invalid", 0.5).obj();
  x.spec.slo = { availability: 0.99, maxProvisionTimeSeconds: 60 };
  x.spec.regions = ["us-west"];
  return x;
})();
const wl: GPUWorkload = (() => {
  const w = gpuWorkload("train", "tenant-a").obj();
  w.metadata.uid = "6f1c1f0e-0000-4000-8000-000000000001";
  w.spec.gpu.count = 2;
  return w;
})();
const placed: GPUWorkloadStatus = {
  placement: { treaty: "akash", provider: "akash", region: "us-west", pricePerHour: 0.5 },
};
const attempt: Attempt = {
  attempt: 1,
  treaty: "akash",
  provider: "akash",
  outcome: "Running",
  startTime: new Date(T0).toISOString(),
};

async function step(cur: Attempt, status: GPUWorkloadStatus = placed): Promise<ExternalStep> {
  return await ext.step(wl, status, cur, wantTreaty, new Date(t));
}
const withId = (s: ExternalStep): Attempt => ({
  ...attempt,
  externalId: s.kind === "abandon" ? "" : s.job.id,
});

beforeEach(() => {
  t = T0;
  faults = {};
  app = buildServer({
    clock: { now: () => new Date(t) },
    faults,
    pricing: { a10g: 0.5 },
    regions: ["us-west"],
    tokens: ["secret-token"],
    durations: { queuedMs: 10_000, runningMs: 3_600_000 },
    sleep: () => Promise.resolve(),
  });
  const client = new ProviderClient({
    endpoint: "http://sim.invalid",
    token: "secret-token",
    fetch: injectFetch,
    sleep: () => Promise.resolve(),
  });
  ext = new ExternalAttempts({
    // No env from Secrets in these workloads: nothing is read.
    client: { get: () => Promise.reject(new Error("no Secret is read in these tests")) },
    providers: { clientFor: () => Promise.resolve(client) },
    unfit: treatyUnfit,
    provisionTimeoutMs: 600_000,
  });
});
afterEach(async () => {
  await app.close();
});

describe("ExternalAttempts", () => {
  it("submits under the attempt's idempotency key, and a resubmission finds the same job", async () => {
    const first = await step(attempt);
    expect(first).toMatchObject({ kind: "queued" });
    const again = await step(attempt); // a crash before the status recorded the id
    expect(again.kind === "queued" && again.job.id).toBe(first.kind === "queued" && first.job.id);
    expect(first.kind === "queued" && first.job.idempotencyKey).toBe(`gw-${wl.metadata.uid}-a1`);
  });

  it("reports running, then the finished attempt with the provider's times and price", async () => {
    const cur = withId(await step(attempt));
    t += 11_000;
    expect(await step(cur, { ...placed, startTime: "x" })).toMatchObject({ kind: "running" });
    t += 3_600_000;
    const done = await step(cur, { ...placed, startTime: "x" });
    expect(done).toMatchObject({
      kind: "finished",
      finished: {
        attempt: 1,
        outcome: "Succeeded",
        treaty: "akash",
        provider: "akash",
        pricePerHour: 0.5,
        startTime: new Date(T0 + 10_000).toISOString(),
        completionTime: new Date(T0 + 3_610_000).toISOString(),
      },
    });
  });

  it("fails over a job queued past the treaty's provision time, cancelling it", async () => {
    faults.stuckRate = 1;
    const cur = withId(await step(attempt));
    t += 61_000;
    const s = await step(cur);
    expect(s).toMatchObject({ kind: "abandon" });
    expect(s.kind === "abandon" && s.reason).toMatch(/queued for 61s, past the provision time/);
    const job = await app.inject({
      method: "GET",
      url: `/v1/jobs/${cur.externalId}`,
      headers: { authorization: "Bearer secret-token" },
    });
    expect(job.json()).toMatchObject({ state: "cancelled" });
  });

  it("fails over when the provider is down before the job starts", async () => {
    faults.down = true;
    const s = await step(attempt);
    expect(s.kind === "abandon" && s.reason).toMatch(/submit to provider akash failed: .*503/);
  });

  it("fails over when the treaty is gone or the provider unreachable before start, retries once started", async () => {
    const treatyGone = await ext.step(wl, placed, attempt, undefined, new Date(t));
    expect(treatyGone).toMatchObject({ kind: "abandon" });

    const cur = withId(await step(attempt));
    t += 11_000;
    faults.down = true;
    // Started (status.startTime set): an unreachable provider is retried, never failed over.
    await expect(step(cur, { ...placed, startTime: "x" })).rejects.toThrow(/503/);
    // Not seen to start: it may be running there, so it is waited for within the treaty's
    // provision time (60 s) — failing over now could run it twice …
    await expect(step(cur)).rejects.toThrow(/503/);
    // … and past it, cancelled as far as we can and failed over.
    t = T0 + 61_000;
    expect(await step(cur)).toMatchObject({ kind: "abandon" });
  });

  it.each([
    { name: "within the treaty's provision time", ageS: 59, slo: 60, wantWait: true },
    { name: "past the treaty's provision time", ageS: 60, slo: 60, wantWait: false },
    { name: "no slo: the operator's default", ageS: 599, slo: undefined, wantWait: true },
    { name: "no slo, past the default", ageS: 600, slo: undefined, wantWait: false },
  ])("provisionWait: $name", ({ ageS, slo, wantWait }) => {
    const x = treaty("p").external("p", "http://p.invalid", 0.5).obj();
    if (slo !== undefined) x.spec.slo = { availability: 0.99, maxProvisionTimeSeconds: slo };
    const w = provisionWait(x, attempt, undefined, new Date(T0 + ageS * 1000), {
      provisionTimeoutMs: 600_000,
    });
    expect(w.ageMs < w.limitMs).toBe(wantWait);
  });

  it("provisionWait: an attempt with no start time counts as past any limit", () => {
    const w = provisionWait(wantTreaty, {}, undefined, new Date(T0), { provisionTimeoutMs: 1 });
    expect(w.ageMs).toBe(Infinity);
  });

  it("never puts the token in what it reports", async () => {
    faults.down = true;
    const s = await step(attempt);
    expect(JSON.stringify(s)).not.toContain("secret-token");
  });
});
