import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { GPUWorkloadSchema, type GPUWorkload } from "../../crds/index.ts";
import { startProviderSim, type RunningSim, type SimFaults } from "../provider-sim/index.ts";
import {
  idempotencyKeyFor,
  jobRequestFrom,
  ProviderClient,
  ProviderError,
  type JobRequest,
  type ProviderClientOptions,
} from "./index.ts";

const TOKEN = "s3cr3t-token-value";
const T0 = Date.parse("2026-03-01T12:00:00Z");
const REQUEST: JobRequest = { gpu: { type: "a10g", count: 1 }, image: "ghcr.io/acme/train:1" };

let t = T0;
const faults: SimFaults = {};
let sim: RunningSim;
let slept: number[];

beforeAll(async () => {
  sim = await startProviderSim({ clock: { now: () => new Date(t) }, faults, tokens: [TOKEN] });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  t = T0;
  for (const k of Object.keys(faults)) delete faults[k as keyof SimFaults];
  slept = [];
});

function client(more: Partial<ProviderClientOptions> = {}): ProviderClient {
  return new ProviderClient({
    endpoint: sim.url,
    token: TOKEN,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    ...more,
  });
}

/** The ProviderError a call rejects with. */
async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe("ProviderClient against the simulator on loopback", () => {
  it("submits once per key, follows the job to the end, and cancels idempotently", async () => {
    const c = client();
    const first = await c.submit("gw-uid-1-a1", REQUEST);
    const again = await c.submit("gw-uid-1-a1", REQUEST);
    expect([first.created, again.created, again.job.id]).toEqual([true, false, first.job.id]);
    t += 2000;
    expect((await c.get(first.job.id)).state).toBe("running");
    t += 10_000;
    expect(await c.get(first.job.id)).toMatchObject({
      state: "succeeded",
      startedAt: "2026-03-01T12:00:01.000Z",
      finishedAt: "2026-03-01T12:00:06.000Z",
    });
    expect((await c.cancel(first.job.id)).state).toBe("succeeded");
  });

  it("measures the RTT of health, without retrying", async () => {
    faults.latencyMs = 60;
    const { rttMs, health } = await client().ping();
    expect(health.provider).toBe("sim");
    expect(rttMs).toBeGreaterThanOrEqual(55);
  });

  it("retries a submission whose reply was lost and gets the job created, not a second one", async () => {
    faults.lostReplyRate = 1;
    const c = client({
      sleep: (ms) => {
        slept.push(ms);
        faults.lostReplyRate = 0; // the provider recovers before the retry
        return Promise.resolve();
      },
    });
    const { job, created } = await c.submit("gw-uid-2-a1", REQUEST);
    expect([job.idempotencyKey, created, slept.length]).toEqual(["gw-uid-2-a1", false, 1]);
  });

  it("gives up after its retries, honouring Retry-After", async () => {
    faults.errorRate = 1;
    const err = await failure(client({ retries: 2 }).submit("gw-uid-3-a1", REQUEST));
    expect([err.code, err.status, err.retryable]).toEqual(["unavailable", 503, true]);
    expect(slept).toEqual([1000, 1000]);
    expect(err.message).toBe(`POST ${sim.url}/v1/jobs: 503 unavailable: injected fault`);
  });

  it.each<[string, () => Promise<unknown>, string, boolean]>([
    ["a wrong token", () => client({ token: "wrong" }).get("job-0"), "unauthorized", false],
    ["an unknown job", () => client().get("job-0"), "not_found", false],
    [
      "a key reused for another request",
      async () => {
        await client().submit("gw-uid-4-a1", REQUEST);
        return client().submit("gw-uid-4-a1", { ...REQUEST, image: "other:2" });
      },
      "idempotency_key_reused",
      false,
    ],
    [
      "a malformed key (not sent)",
      () => client().submit("bad key", REQUEST),
      "invalid_request",
      false,
    ],
  ])("does not retry %s", async (_what, call, wantCode, wantRetryable) => {
    const err = await failure(call());
    expect([err.code, err.retryable, slept]).toEqual([wantCode, wantRetryable, []]);
  });

  it("times out a slow provider", async () => {
    faults.latencyMs = 400;
    const err = await failure(client({ timeoutMs: 50, retries: 0 }).ping());
    expect([err.code, err.retryable, err.message]).toEqual([
      "timeout",
      true,
      `GET ${sim.url}/v1/health: no answer within 50 ms`,
    ]);
  });

  it("reports a dropped connection as a retryable network error", async () => {
    faults.down = "reset";
    const err = await failure(client({ retries: 1 }).get("job-0"));
    expect([err.code, err.retryable, slept.length]).toEqual(["network", true, 1]);
  });

  it("reports a closed port as a network error", async () => {
    const gone = await startProviderSim({ clock: { now: () => new Date(t) } });
    const url = gone.url;
    await gone.close();
    const err = await failure(new ProviderClient({ endpoint: url, retries: 0 }).ping());
    expect(err.message).toBe(`GET ${url}/v1/health: network error (ECONNREFUSED)`);
  });

  it("never reveals the token: not in errors, inspection or JSON", async () => {
    const c = client({ endpoint: `${sim.url.replace("http://", "http://user:pass@")}/?token=x` });
    faults.errorRate = 1;
    const err = await failure(c.get("job-0"));
    for (const text of [
      err.message,
      err.stack ?? "",
      inspect(err),
      inspect(c),
      JSON.stringify(c),
    ]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain("pass");
      expect(text).not.toContain("token=x");
    }
  });

  it.each([
    { name: "declared", headers: { "content-length": "2048" } },
    { name: "streamed without a length", headers: {} },
  ])("refuses a response body over the limit ($name)", async ({ headers }) => {
    const html = `<html>${"x".repeat(2000)}</html>`;
    const huge = (() =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode(html));
              c.close();
            },
          }),
          { status: 502, headers },
        ),
      )) as typeof fetch;
    const err = await failure(client({ fetch: huge, maxResponseBytes: 1024 }).get("x"));
    expect([err.code, err.retryable, err.status]).toEqual(["response_too_large", false, 502]);
    expect(err.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/v1\/jobs\/x: response body over 1024 bytes/,
    );
  });

  it("refuses a response that does not follow the protocol", async () => {
    const junk = (() =>
      Promise.resolve(new Response(JSON.stringify({ id: "x" }), { status: 200 }))) as typeof fetch;
    const err = await failure(client({ fetch: junk }).get("x"));
    expect([err.code, err.retryable]).toEqual(["invalid_response", false]);
    expect(err.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/v1\/jobs\/x: invalid response at /,
    );
  });
});

describe("jobRequestFrom and idempotencyKeyFor", () => {
  const workload: GPUWorkload = GPUWorkloadSchema.parse({
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "GPUWorkload",
    metadata: { name: "train", namespace: "tenant-acme", uid: "u-1" },
    spec: {
      gpu: { type: "a10g", count: 2 },
      template: {
        image: "ghcr.io/acme/train:1",
        args: ["--epochs", "3"],
        env: [
          { name: "MODE", value: "offline" },
          { name: "TOKEN", valueFrom: { secretKeyRef: { name: "hf", key: "token" } } },
        ],
      },
      maxRuntimeSeconds: 600,
    },
  });

  it("builds the request from the workload and the placement", () => {
    const got = jobRequestFrom(workload, { region: "us-west", pricePerHour: 0.85 }, (ref) =>
      ref.name === "hf" && ref.key === "token" ? "hf_value" : undefined,
    );
    expect(got).toEqual({
      gpu: { type: "a10g", count: 2 },
      region: "us-west",
      image: "ghcr.io/acme/train:1",
      args: ["--epochs", "3"],
      env: [
        { name: "MODE", value: "offline" },
        { name: "TOKEN", value: "hf_value" },
      ],
      maxRuntimeSeconds: 600,
      maxPricePerHour: 0.85,
      labels: { "vaultmesh.cloud/workload-uid": "u-1" },
    });
  });

  it("names an unresolved secret env var, not a value", () => {
    expect(() => jobRequestFrom(workload, { pricePerHour: 1 })).toThrow(
      "spec.template.env TOKEN: Secret hf key token could not be resolved",
    );
  });

  it("derives the key from the workload uid and the attempt", () => {
    expect(idempotencyKeyFor("6f1c1f0e-4d7e-4a57-9a43-1c0f2b2d7e11", 3)).toBe(
      "gw-6f1c1f0e-4d7e-4a57-9a43-1c0f2b2d7e11-a3",
    );
  });
});
