import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import type { FastifyInstance } from "fastify";
import type { JobRequest, ProviderJob } from "../provider-client/index.ts";
import { buildServer, jobIdFor, SIM_LABELS, type SimDeps, type SimFaults } from "./index.ts";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const AUTH = { authorization: "Bearer sim-token" };
const REQUEST: JobRequest = {
  gpu: { type: "a10g", count: 1 },
  region: "us-west",
  image: "ghcr.io/acme/train:1",
  maxPricePerHour: 1,
};

let t = T0;
let faults: SimFaults = {};
let slept: number[] = [];
let app: FastifyInstance;

function build(more: Partial<SimDeps> = {}): FastifyInstance {
  return buildServer({
    clock: { now: () => new Date(t) },
    faults,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    ...more,
  });
}

async function submit(
  key: string,
  body: unknown = REQUEST,
  headers: Record<string, string> = AUTH,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await app.inject({
    method: "POST",
    url: "/v1/jobs",
    headers: { ...headers, "idempotency-key": key },
    payload: body as object,
  });
  return { status: res.statusCode, json: res.json() };
}

async function get(id: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await app.inject({ method: "GET", url: `/v1/jobs/${id}`, headers: AUTH });
  return { status: res.statusCode, json: res.json() };
}

beforeEach(() => {
  t = T0;
  faults = {};
  slept = [];
  app = build();
});
afterEach(async () => {
  await app.close();
});

describe("provider simulator", () => {
  it("answers health without a token, on its clock", async () => {
    const res = await app.inject({ method: "GET", url: "/v1/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", provider: "sim", time: "2026-03-01T12:00:00.000Z" });
  });

  it("creates a queued job under an idempotency key", async () => {
    const { status, json } = await submit("gw-uid-a1");
    expect(status).toBe(201);
    expect(json).toEqual({
      id: jobIdFor("gw-uid-a1"),
      idempotencyKey: "gw-uid-a1",
      state: "queued",
      reason: "Queued",
      message: "waiting for a GPU",
      gpu: { type: "a10g", count: 1 },
      region: "us-west",
      pricePerHour: 0.85,
      createdAt: "2026-03-01T12:00:00.000Z",
    });
  });

  it.each<[string, Record<string, string>, number, Partial<ProviderJob>]>([
    ["queued before its queued time", {}, 999, { state: "queued" }],
    ["running after it", {}, 1000, { state: "running", startedAt: "2026-03-01T12:00:01.000Z" }],
    [
      "succeeded after its running time",
      {},
      6000,
      {
        state: "succeeded",
        reason: "Completed",
        startedAt: "2026-03-01T12:00:01.000Z",
        finishedAt: "2026-03-01T12:00:06.000Z",
      },
    ],
    [
      "failed when its fate is to fail",
      { [SIM_LABELS.fate]: "fail" },
      6000,
      { state: "failed", reason: "ContainerFailed", finishedAt: "2026-03-01T12:00:06.000Z" },
    ],
    [
      "queued forever when stuck",
      { [SIM_LABELS.fate]: "stuck" },
      3_600_000,
      { state: "queued", reason: "NoOffer" },
    ],
    [
      "on its own durations from labels",
      { [SIM_LABELS.queuedMs]: "0", [SIM_LABELS.runningMs]: "60000" },
      30_000,
      { state: "running", startedAt: "2026-03-01T12:00:00.000Z" },
    ],
  ])("reports a job %s", async (_what, labels, afterMs, want) => {
    const { json } = await submit("k", { ...REQUEST, labels });
    t = T0 + afterMs;
    const got = await get(json.id as string);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject(want);
  });

  it("replays a submission with the same key and request, whatever its key order", async () => {
    const first = await submit("k");
    t += 2000;
    const reordered = {
      maxPricePerHour: 1,
      image: REQUEST.image,
      region: "us-west",
      gpu: { count: 1, type: "a10g" },
    };
    const again = await submit("k", reordered);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: first.json.id, state: "running" });
  });

  it("refuses a key reused for a different request", async () => {
    await submit("k");
    const { status, json } = await submit("k", { ...REQUEST, image: "other:1" });
    expect(status).toBe(422);
    expect(json).toEqual({
      error: "Idempotency-Key k was used for a different request",
      code: "idempotency_key_reused",
      retryable: false,
    });
  });

  type Refusal = [string, string, unknown, Record<string, string>, number, string, string];
  it.each<Refusal>([
    ["no token", "k", REQUEST, {}, 401, "unauthorized", "a valid bearer token is required"],
    [
      "a wrong token",
      "k",
      REQUEST,
      { authorization: "Bearer nope" },
      401,
      "unauthorized",
      "a valid bearer token is required",
    ],
    [
      "a bad key",
      "a key with spaces",
      REQUEST,
      AUTH,
      400,
      "invalid_request",
      "header Idempotency-Key must match /^[A-Za-z0-9._:-]{1,255}$/",
    ],
    [
      "zero GPUs",
      "k",
      { ...REQUEST, gpu: { type: "a10g", count: 0 } },
      AUTH,
      400,
      "invalid_request",
      "gpu.count: Too small: expected number to be >=1",
    ],
    [
      "an unknown field",
      "k",
      { ...REQUEST, priority: 1 },
      AUTH,
      400,
      "invalid_request",
      'body: Unrecognized key: "priority"',
    ],
    [
      "a GPU type not offered",
      "k",
      { ...REQUEST, gpu: { type: "b200", count: 1 } },
      AUTH,
      422,
      "unsupported",
      "gpu type b200 is not offered",
    ],
    [
      "a region not served",
      "k",
      { ...REQUEST, region: "ap-south" },
      AUTH,
      422,
      "unsupported",
      "region ap-south is not served",
    ],
    [
      "a price above the maximum",
      "k",
      { ...REQUEST, maxPricePerHour: 0.5 },
      AUTH,
      422,
      "unsupported",
      "price 0.85/h exceeds maxPricePerHour 0.5",
    ],
  ])("refuses %s", async (...[, key, body, headers, wantStatus, wantCode, wantError]: Refusal) => {
    const { status, json } = await submit(key, body, headers);
    expect([status, json]).toEqual([
      wantStatus,
      { error: wantError, code: wantCode, retryable: false },
    ]);
  });

  it("refuses a job beyond its GPU capacity, and accepts it once GPUs are free", async () => {
    await app.close();
    app = build({ capacityGpus: 2 });
    expect((await submit("a", { ...REQUEST, gpu: { type: "a10g", count: 2 } })).status).toBe(201);
    const full = await submit("b");
    expect([full.status, full.json.code]).toEqual([409, "insufficient_capacity"]);
    t += 6000; // the first job has finished
    expect((await submit("b")).status).toBe(201);
  });

  it("cancels a running job once; cancelling again or after the end changes nothing", async () => {
    const { json } = await submit("k");
    t += 2000;
    const cancel = (): Promise<{ statusCode: number; json(): unknown }> =>
      app.inject({ method: "POST", url: `/v1/jobs/${String(json.id)}/cancel`, headers: AUTH });
    const first = await cancel();
    expect(first.json()).toMatchObject({
      state: "cancelled",
      startedAt: "2026-03-01T12:00:01.000Z",
      finishedAt: "2026-03-01T12:00:02.000Z",
    });
    t += 60_000;
    expect((await cancel()).json()).toEqual(first.json());

    const done = await submit("done");
    t += 60_000;
    const after = await app.inject({
      method: "POST",
      url: `/v1/jobs/${String(done.json.id)}/cancel`,
      headers: AUTH,
    });
    expect(after.json()).toMatchObject({ state: "succeeded" });
  });

  it("answers 404 for an unknown job", async () => {
    expect(await get("job-0")).toEqual({
      status: 404,
      json: { error: "job job-0 does not exist", code: "not_found", retryable: false },
    });
  });
});

describe("provider simulator faults", () => {
  it.each<[string, SimFaults]>([
    ["down", { down: true }],
    ["an error rate of 1", { errorRate: 1 }],
  ])("%s: answers 503 unavailable with Retry-After, and does nothing", async (_what, f) => {
    Object.assign(faults, f);
    const health = await app.inject({ method: "GET", url: "/v1/health" });
    expect([
      health.statusCode,
      health.headers["retry-after"],
      health.json<{ code: string }>().code,
    ]).toEqual([503, "1", "unavailable"]);
    expect((await submit("k")).status).toBe(503);
    faults.down = false;
    faults.errorRate = 0;
    expect(await get(jobIdFor("k"))).toMatchObject({ status: 404 });
  });

  it("a lost reply: the job is created though the caller sees 503; a replay returns it", async () => {
    faults.lostReplyRate = 1;
    const lost = await submit("k");
    expect([lost.status, lost.json.code]).toEqual([503, "unavailable"]);
    faults.lostReplyRate = 0;
    const replay = await submit("k");
    expect([replay.status, replay.json.id]).toEqual([200, jobIdFor("k")]);
  });

  it.each<[string, SimFaults, string]>([
    ["stuck jobs", { stuckRate: 1 }, "queued"],
    ["failing jobs", { failRate: 1 }, "failed"],
    ["below the rate (dice 0.5)", { stuckRate: 0.4, failRate: 0.4 }, "succeeded"],
  ])("%s", async (_what, f, wantState) => {
    Object.assign(faults, f);
    const { json } = await submit("k");
    t += 3_600_000;
    expect((await get(json.id as string)).json.state).toBe(wantState);
  });

  it("delays every answer by latencyMs", async () => {
    faults.latencyMs = 120;
    await app.inject({ method: "GET", url: "/v1/health" });
    await submit("k");
    expect(slept).toEqual([120, 120]);
  });
});
