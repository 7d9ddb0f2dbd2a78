/**
 * The tenant API's routes: workloads (workload-routes.ts), quotes (the operator's router over
 * this process's Treaty cache), usage and receipts (the tenant's own Receipts — from the
 * informer cache after the cached access review, ADR 0124 — so another tenant's digest is
 * simply not found), proofs (the ledger's bundle, once the receipt is known to be the
 * caller's), /health, /metrics and /openapi.json.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { route } from "../routing/index.ts";
import { describeError } from "../dependency-health/index.ts";
import type { Caller } from "./api-key-auth.ts";
import type { BridgeMetrics } from "./bridge-metrics.ts";
import type { BridgeDeps } from "./deps.ts";
import { openApiDocument } from "./openapi.ts";
import { ProblemError, ProblemReason, problem } from "./problem.ts";
import { deadline, parse, routeContext, type RouteOptions } from "./route-context.ts";
import { DigestParamsSchema, QuoteRequestSchema, type Health } from "./schemas.ts";
import { usageOf } from "./usage.ts";
import { registerWorkloadRoutes } from "./workload-routes.ts";

async function settle(check: () => Promise<void>, ms: number): Promise<string> {
  try {
    await deadline(check(), ms, "health check");
    return "connected";
  } catch (err) {
    return err instanceof ProblemError ? `timeout after ${ms} ms` : describeError(err);
  }
}

/** Runs every /health check in parallel, each bounded. */
export async function healthReport(deps: BridgeDeps, timeoutMs: number): Promise<Health> {
  const h = deps.health;
  const [database, redis, ledger, kubernetes] = await Promise.all([
    settle(h.database, timeoutMs),
    settle(h.redis, timeoutMs),
    settle(h.ledger, timeoutMs),
    settle(h.kubernetes, timeoutMs),
  ]);
  const all = [database, redis, ledger, kubernetes];
  return {
    status: all.every((s) => s === "connected") ? "ok" : "degraded",
    database,
    redis,
    ledger,
    kubernetes,
  };
}

/** Registers every route on `app`. */
export function registerRoutes(
  app: FastifyInstance,
  deps: BridgeDeps,
  metrics: BridgeMetrics,
  opts: RouteOptions,
): void {
  const ctx = routeContext(deps, opts);
  const { auth, within, clock } = ctx;
  registerWorkloadRoutes(app, ctx);

  app.post("/v1/quote", auth, (req) => {
    const { spec } = parse(QuoteRequestSchema, req.body, "/body");
    const tenant = deps.tenants.get((req.caller as Caller).tenant);
    const now = clock();
    const d = route({
      spec,
      tenant: tenant?.spec,
      treaties: deps.treaties.list(),
      now,
    });
    return {
      ...(d.placement ? { placement: d.placement } : {}),
      candidates: d.candidates.map(({ codes: _codes, ...c }) => c),
      decidedAt: now.toISOString(),
    };
  });

  app.get("/v1/usage", auth, async (req) => {
    const receipts = await within(ctx.receipts(req), "kubernetes");
    return usageOf(receipts, clock());
  });

  app.get("/v1/receipts/:digest", auth, async (req) => {
    const { digest } = parse(DigestParamsSchema, req.params, "/path");
    const r = await within(ctx.receipt(req, digest), "kubernetes");
    if (!r)
      throw new ProblemError(problem(404, ProblemReason.NotFound, `receipt ${digest} not found`));
    return {
      digest,
      name: r.metadata.name ?? "",
      type: r.spec.type,
      subject: r.spec.subject,
      payload: r.spec.payload,
      issuedAt: r.spec.issuedAt,
      ...(r.status ? { status: r.status } : {}),
    };
  });

  app.get("/v1/receipts/:digest/proof", auth, async (req) => {
    const { digest } = parse(DigestParamsSchema, req.params, "/path");
    // Ownership first: the ledger holds every tenant's receipts.
    const r = await within(ctx.receipt(req, digest), "kubernetes");
    if (!r)
      throw new ProblemError(problem(404, ProblemReason.NotFound, `receipt ${digest} not found`));
    const bundle = await within(deps.ledger.bundle(digest), "ledger");
    if (!bundle) {
      throw new ProblemError(
        problem(404, ProblemReason.NotFound, `receipt ${digest} is not in the ledger yet`),
      );
    }
    return bundle;
  });

  app.get("/health", async (_req, reply: FastifyReply) => {
    const h = await healthReport(deps, opts.healthTimeoutMs ?? 1000);
    return reply.code(h.status === "ok" ? 200 : 503).send(h);
  });

  const doc = openApiDocument();
  app.get("/openapi.json", () => doc);
  app.get("/metrics", async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
