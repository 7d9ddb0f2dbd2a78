// A provider speaking protocol v1 (docs/provider-protocol.md), for tests and the routing
// war-game: jobs progress on an injected clock, and faults — latency, error rate, lost
// replies, stuck and failing jobs, a provider that is down — are injected through a mutable
// `faults` object read on every request. `buildServer(deps)` returns the fastify app (tests
// use `app.inject`); server.ts listens.
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { observeFastify } from "../metrics/index.ts";
import {
  ERRORS,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  isTerminal,
  JobRequestSchema,
  type ErrorCode,
  type JobRequest,
} from "../provider-client/index.ts";
import {
  jobIdFor,
  planJob,
  stableJson,
  viewOf,
  type SimDurations,
  type SimJob,
} from "./sim-jobs.ts";

/** Faults to inject; every field is read on every request, so a test may change them live. */
export interface SimFaults {
  /** Delay before each answer, in ms of real time (it is what an RTT probe measures). */
  latencyMs?: number;
  /** Share of requests (0..1) refused with 503 unavailable before doing anything. */
  errorRate?: number;
  /** Share of requests (0..1) carried out but answered 503 (the reply is "lost"). */
  lostReplyRate?: number;
  /** Share of new jobs (0..1) that stay queued forever. */
  stuckRate?: number;
  /** Share of new jobs (0..1) that fail when their running time is up. */
  failRate?: number;
  /** Down: every request, health included, gets 503; `"reset"` closes the connection instead. */
  down?: boolean | "reset";
}

/** Dependencies and settings of the simulator. */
export interface SimDeps {
  /** The clock jobs progress on. */
  readonly clock: { now(): Date };
  /** Faults, read on every request. @default {} */
  readonly faults?: SimFaults;
  /** Name reported by `GET /v1/health`. @default "sim" */
  readonly provider?: string;
  /** Bearer tokens accepted. @default ["sim-token"] */
  readonly tokens?: readonly string[];
  /** USD per GPU-hour by GPU type; other types are refused. @default a10g 0.85, a100-80gb 1.8, h100 2.5 */
  readonly pricing?: Readonly<Record<string, number>>;
  /** Regions served. @default ["us-west", "us-east", "eu-west"] */
  readonly regions?: readonly string[];
  /** GPUs that queued and running jobs may hold at once. @default Infinity */
  readonly capacityGpus?: number;
  /** Default durations of a job. @default 1 s queued, 5 s running */
  readonly durations?: SimDurations;
  /** Random numbers in [0, 1) for the fault rates. @default Math.random */
  readonly random?: () => number;
  /** Waits `ms` of real time (latency faults). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly logger?: Logger;
  /**
   * Serve `GET /metrics` from this registry (never subject to the faults: it observes the
   * simulator, not the simulated provider) and count every request on it (RED, ADR 0110).
   */
  readonly metrics?: Registry;
}

const DEFAULT_PRICING = { a10g: 0.85, "a100-80gb": 1.8, h100: 2.5 };
const DEFAULT_REGIONS = ["us-west", "us-east", "eu-west"];

function fail(reply: FastifyReply, code: ErrorCode, error: string): FastifyReply {
  const { status, retryable } = ERRORS[code];
  if (retryable) void reply.header("retry-after", "1");
  return reply.code(status).send({ error, code, retryable });
}

function onError(
  err: { statusCode?: number; message: string },
  req: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (err.statusCode !== undefined && err.statusCode < 500) {
    return fail(reply, "invalid_request", err.message);
  }
  req.log.error({ err }, "provider simulator request failed");
  return fail(reply, "internal", "internal error");
}

// Faults first: a down or flaky provider fails before authentication or any work.
function injectFaults(
  app: FastifyInstance,
  opts: {
    readonly faults: SimFaults;
    readonly random: () => number;
    readonly sleep: (ms: number) => Promise<void>;
    /** `GET /metrics` is served and exempt from the faults. */
    readonly metrics: boolean;
  },
): void {
  const { faults, random, sleep } = opts;
  app.addHook("onRequest", async (req, reply) => {
    if (opts.metrics && req.routeOptions.url === "/metrics") return undefined;
    if (faults.down === "reset") {
      req.raw.socket.destroy();
      return reply.hijack();
    }
    if ((faults.latencyMs ?? 0) > 0) await sleep(faults.latencyMs ?? 0);
    if (faults.down === true) return fail(reply, "unavailable", "the provider is down");
    if (random() < (faults.errorRate ?? 0)) return fail(reply, "unavailable", "injected fault");
    return undefined;
  });
}

function isAuthorized(
  tokens: readonly string[],
  req: FastifyRequest,
  reply: FastifyReply,
): boolean {
  const auth = req.headers.authorization ?? "";
  const token = auth.startsWith("Bearer ") ? auth.slice(7) : undefined;
  if (token !== undefined && tokens.includes(token)) return true;
  void fail(reply, "unauthorized", "a valid bearer token is required");
  return false;
}

/** The Idempotency-Key and body of a create request, or why they are invalid. */
function readCreate(
  req: FastifyRequest,
): { readonly key: string; readonly request: JobRequest } | { readonly invalid: string } {
  const key = req.headers[IDEMPOTENCY_KEY_HEADER];
  if (typeof key !== "string" || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    return { invalid: `header Idempotency-Key must match ${IDEMPOTENCY_KEY_PATTERN}` };
  }
  const parsed = JobRequestSchema.safeParse(req.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join(".") || "body";
    return { invalid: `${path}: ${issue?.message ?? "invalid"}` };
  }
  return { key, request: parsed.data };
}

/** What the simulator offers: prices by GPU type, regions, GPUs it may hold at once. */
interface SimOffer {
  readonly pricing: Readonly<Record<string, number>>;
  readonly regions: readonly string[];
  readonly capacity: number;
}

/** The offer `deps` configure, with the defaults for what they leave out. */
function offerOf(deps: SimDeps): SimOffer {
  return {
    pricing: deps.pricing ?? DEFAULT_PRICING,
    regions: deps.regions ?? DEFAULT_REGIONS,
    capacity: deps.capacityGpus ?? Infinity,
  };
}

function gpusInUse(jobs: ReadonlyMap<string, SimJob>, now: number): number {
  let n = 0;
  for (const j of jobs.values()) if (!isTerminal(viewOf(j, now).state)) n += j.request.gpu.count;
  return n;
}

/** Why the request cannot be served (GPU type, region, price, capacity), or undefined. */
function refusal(
  r: JobRequest,
  offer: SimOffer,
  jobs: ReadonlyMap<string, SimJob>,
  now: number,
): [ErrorCode, string] | undefined {
  const price = offer.pricing[r.gpu.type];
  if (price === undefined) return ["unsupported", `gpu type ${r.gpu.type} is not offered`];
  if (r.region !== undefined && !offer.regions.includes(r.region)) {
    return ["unsupported", `region ${r.region} is not served`];
  }
  if (r.maxPricePerHour !== undefined && price > r.maxPricePerHour) {
    return ["unsupported", `price ${price}/h exceeds maxPricePerHour ${r.maxPricePerHour}`];
  }
  if (gpusInUse(jobs, now) + r.gpu.count > offer.capacity) {
    return ["insufficient_capacity", `no ${r.gpu.count}× ${r.gpu.type} available now`];
  }
  return undefined;
}

/** Builds the simulator's fastify app. */
export function buildServer(deps: SimDeps): FastifyInstance {
  const faults = deps.faults ?? {};
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const tokens = deps.tokens ?? ["sim-token"];
  const offer = offerOf(deps);
  const durations = deps.durations ?? { queuedMs: 1000, runningMs: 5000 };
  const jobs = new Map<string, SimJob>();
  const byKey = new Map<string, SimJob>();
  const nowMs = (): number => deps.clock.now().getTime();
  const app = fastify({ loggerInstance: deps.logger }) as unknown as FastifyInstance;
  if (deps.metrics) observeFastify(app, deps.metrics, "provider-sim");

  app.setErrorHandler(onError);
  injectFaults(app, { faults, random, sleep, metrics: deps.metrics !== undefined });

  app.get("/v1/health", () => ({
    status: "ok",
    provider: deps.provider ?? "sim",
    time: deps.clock.now().toISOString(),
  }));

  const authorized = (req: FastifyRequest, reply: FastifyReply): boolean =>
    isAuthorized(tokens, req, reply);
  // Carried out, then maybe "lost": the caller sees 503 but the effect stands.
  const answer = (reply: FastifyReply, status: number, body: unknown): FastifyReply =>
    random() < (faults.lostReplyRate ?? 0)
      ? fail(reply, "unavailable", "injected fault after the request was carried out")
      : reply.code(status).send(body);

  app.post("/v1/jobs", (req, reply) => {
    if (!authorized(req, reply)) return reply;
    const read = readCreate(req);
    if ("invalid" in read) return fail(reply, "invalid_request", read.invalid);
    const { key, request } = read;
    const fingerprint = stableJson(request);
    const now = nowMs();
    const existing = byKey.get(key);
    if (existing !== undefined) {
      if (existing.fingerprint !== fingerprint) {
        return fail(
          reply,
          "idempotency_key_reused",
          `Idempotency-Key ${key} was used for a different request`,
        );
      }
      return answer(reply, 200, viewOf(existing, now));
    }
    const refused = refusal(request, offer, jobs, now);
    if (refused !== undefined) return fail(reply, ...refused);
    const plan = planJob(request, durations, {
      stuck: random() < (faults.stuckRate ?? 0),
      failed: random() < (faults.failRate ?? 0),
    });
    const job: SimJob = {
      id: jobIdFor(key),
      key,
      fingerprint,
      request,
      pricePerHour: offer.pricing[request.gpu.type] ?? 0,
      createdMs: now,
      ...plan,
    };
    jobs.set(job.id, job);
    byKey.set(key, job);
    return answer(reply, 201, viewOf(job, now));
  });

  app.get<{ Params: { id: string } }>("/v1/jobs/:id", (req, reply) => {
    if (!authorized(req, reply)) return reply;
    const job = jobs.get(req.params.id);
    if (job === undefined) return fail(reply, "not_found", `job ${req.params.id} does not exist`);
    return answer(reply, 200, viewOf(job, nowMs()));
  });

  app.post<{ Params: { id: string } }>("/v1/jobs/:id/cancel", (req, reply) => {
    if (!authorized(req, reply)) return reply;
    const job = jobs.get(req.params.id);
    if (job === undefined) return fail(reply, "not_found", `job ${req.params.id} does not exist`);
    const now = nowMs();
    if (!isTerminal(viewOf(job, now).state)) job.cancelledMs = now;
    return answer(reply, 200, viewOf(job, now));
  });

  return app;
}
