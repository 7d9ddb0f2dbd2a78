/**
 * The tenant API ("aurora-bridge") as a fastify app. buildServer() does not listen (server.ts
 * does), so tests drive it with app.inject and the bench measures the code the cluster runs.
 * Cross-cutting concerns live here: problem details for every error, API-key authentication,
 * the per-tenant rate limit with RateLimit-* headers, RED metrics, load shedding
 * (@fastify/under-pressure), body limits and handler deadlines. Routes are in routes.ts.
 */
import underPressure from "@fastify/under-pressure";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { describeError, isOutage } from "../dependency-health/index.ts";
import { instrumentFastify } from "../metrics/index.ts";
import { authenticate, type Caller } from "./api-key-auth.ts";
import { BridgeMetrics } from "./bridge-metrics.ts";
import type { BridgeDeps } from "./deps.ts";
import {
  PROBLEM_CONTENT_TYPE,
  ProblemError,
  ProblemReason,
  problem,
  type Problem,
} from "./problem.ts";
import { rateLimitHeaders } from "./rate-limit.ts";
import { registerRoutes } from "./routes.ts";

/** Largest request body, in bytes: a GPUWorkload spec is a few KiB. @default 64 KiB */
export const DEFAULT_BODY_LIMIT = 64 * 1024;
/** Longest a handler may take before the caller gets a 503. @default 10 s */
export const DEFAULT_HANDLER_TIMEOUT_MS = 10_000;
/** Event-loop delay past which requests are shed with 503. @default 200 ms */
export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 200;

/** Options of {@link buildServer} that are not dependencies. */
export interface BridgeOptions {
  /** @default DEFAULT_BODY_LIMIT */
  readonly bodyLimit?: number;
  /** @default DEFAULT_HANDLER_TIMEOUT_MS */
  readonly handlerTimeoutMs?: number;
  /** Load shedding threshold; 0 turns shedding off (tests). @default DEFAULT_MAX_EVENT_LOOP_DELAY_MS */
  readonly maxEventLoopDelayMs?: number;
  /** Longest a /health check waits for one dependency. @default 1000 */
  readonly healthTimeoutMs?: number;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated tenant, set on routes with `config.auth`. */
    caller?: Caller;
  }
  interface FastifyContextConfig {
    /** The route needs an API key (and counts against the tenant's rate limit). */
    auth?: boolean;
  }
}

/** Sends a problem (with extra headers) as application/problem+json. */
export function sendProblem(
  reply: FastifyReply,
  p: Problem,
  headers: Readonly<Record<string, string>> = {},
): FastifyReply {
  return reply.code(p.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(p);
}

/** Why tenant `name` is suspended, from its Tenant's status (Spec, PaymentFailed, Deleting). */
export function suspensionReason(deps: BridgeDeps, name: string): string {
  const t = deps.tenants.get(name);
  const why = t?.status?.suspendedReason;
  if (why === "Spec") return "Spec: spec.suspended is true";
  if (why === "PaymentFailed") return "PaymentFailed: the last invoice was not paid";
  if (why === "Deleting") return "Deleting: the tenant is being torn down";
  return t?.spec.suspended ? "Spec: spec.suspended is true" : "Suspended";
}

// fastify's own client errors, by code → our reason.
const FASTIFY_ERRORS: Record<string, [number, ProblemReason, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, ProblemReason.BodyTooLarge, "body: larger than the limit"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    415,
    ProblemReason.UnsupportedMediaType,
    "header Content-Type: expected application/json",
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, ProblemReason.MalformedJson, "body: empty JSON body"],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, ProblemReason.MalformedJson, "body: not valid JSON"],
};

function errorProblem(err: unknown): { problem: Problem; headers: Record<string, string> } {
  if (err instanceof ProblemError) return { problem: err.problem, headers: { ...err.headers } };
  const e = err as { code?: string; statusCode?: number; message?: string };
  const known = e.code ? FASTIFY_ERRORS[e.code] : undefined;
  if (known) return { problem: problem(known[0], known[1], known[2]), headers: {} };
  if (err instanceof SyntaxError || (e.statusCode === 400 && e.code?.startsWith("FST_ERR_CTP"))) {
    return {
      problem: problem(400, ProblemReason.MalformedJson, "body: not valid JSON"),
      headers: {},
    };
  }
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      problem: problem(e.statusCode, ProblemReason.InvalidRequest, e.message ?? "bad request"),
      headers: {},
    };
  }
  if (isOutage(err)) {
    return {
      problem: problem(
        503,
        ProblemReason.DependencyUnavailable,
        `a dependency is unavailable: ${describeError(err)}`,
      ),
      headers: { "retry-after": "5" },
    };
  }
  return {
    problem: problem(500, ProblemReason.Internal, "internal error; see the bridge's log"),
    headers: {},
  };
}

async function authorize(
  deps: BridgeDeps,
  metrics: BridgeMetrics,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  let auth;
  try {
    auth = await authenticate(req.headers.authorization, deps.keys, (n) =>
      suspensionReason(deps, n),
    );
  } catch (err) {
    metrics.auth.inc({ outcome: "unavailable" });
    deps.logger?.warn({ err: describeError(err) }, "api key lookup failed");
    return sendProblem(
      reply,
      problem(503, ProblemReason.DependencyUnavailable, "database: API keys cannot be checked now"),
      { "retry-after": "5" },
    );
  }
  if (!auth.ok) {
    metrics.auth.inc({ outcome: auth.problem.status === 403 ? "suspended" : "unauthenticated" });
    return sendProblem(reply, auth.problem, { "www-authenticate": 'Bearer realm="vaultmesh"' });
  }
  metrics.auth.inc({ outcome: "ok" });
  req.caller = auth.caller;
  const now = (deps.clock ?? ((): Date => new Date()))().getTime();
  const d = await deps.limiter.consumeRateLimit(auth.caller.tenant, now);
  const headers = rateLimitHeaders(d, now);
  reply.headers(headers);
  if (d.reason === "LimiterUnavailable") {
    // Fail open (ADR 0072), said out loud: a metric and a log line, never a silent pass.
    metrics.rateLimit.inc({ decision: "unavailable" });
    deps.logger?.warn({ tenant: auth.caller.tenant, err: d.degraded }, "rate limiter unavailable");
    return undefined;
  }
  if (d.allowed) {
    metrics.rateLimit.inc({ decision: "allowed" });
    return undefined;
  }
  metrics.rateLimit.inc({ decision: "limited" });
  if (d.reason === "Suspended") {
    const why = suspensionReason(deps, auth.caller.tenant);
    return sendProblem(
      reply,
      problem(
        403,
        ProblemReason.TenantSuspended,
        `tenant ${auth.caller.tenant} is suspended: ${why}`,
      ),
    );
  }
  if (d.reason === "UnknownTenant") {
    return sendProblem(
      reply,
      problem(403, ProblemReason.Forbidden, `tenant ${auth.caller.tenant} has no API limits yet`),
    );
  }
  return sendProblem(
    reply,
    problem(
      429,
      ProblemReason.RateLimited,
      `tenant ${auth.caller.tenant}: ${d.limit} requests per minute`,
    ),
    headers,
  );
}

/** Builds the tenant API (not listening). */
export function buildServer(deps: BridgeDeps, options: BridgeOptions = {}): FastifyInstance {
  const metrics = deps.metrics ?? new BridgeMetrics();
  const handlerTimeoutMs = options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
    // Slow clients cannot hold a connection open forever (slowloris).
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 65_000,
  }) as unknown as FastifyInstance;
  app.removeContentTypeParser("text/plain");
  // First, so requests shed by under-pressure are counted too.
  instrumentFastify(app, metrics.http);

  const maxDelay = options.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS;
  if (maxDelay > 0) {
    void app.register(underPressure, {
      maxEventLoopDelay: maxDelay,
      retryAfter: 5,
      pressureHandler: (_req, reply, type) => {
        sendProblem(
          reply,
          problem(503, ProblemReason.Overloaded, `server under pressure (${type}); retry later`),
          { "retry-after": "5" },
        );
      },
    });
  }

  app.addHook("preHandler", async (req, reply) => {
    if (!req.routeOptions.config.auth) return;
    const refused = await authorize(deps, metrics, req, reply);
    if (refused) return refused;
  });
  app.addHook("onTimeout", (req, _reply, done) => {
    deps.logger?.warn({ route: req.routeOptions.url }, "request timed out");
    done();
  });

  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      reply,
      problem(404, ProblemReason.NotFound, `no route ${req.method} ${req.url.split("?")[0]}`),
    ),
  );
  app.setErrorHandler((err, req, reply) => {
    const { problem: p, headers } = errorProblem(err);
    if (p.status >= 500) {
      deps.logger?.error(
        { route: req.routeOptions.url, err: describeError(err) },
        "tenant API request failed",
      );
    }
    return sendProblem(reply, p, headers);
  });

  registerRoutes(app, deps, metrics, { ...options, handlerTimeoutMs });
  return app;
}
