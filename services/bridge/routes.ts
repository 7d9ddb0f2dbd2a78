/**
 * The tenant API's routes: workloads (as the tenant, through impersonation), quotes (the
 * operator's router over this process's Treaty cache), usage and receipts (the tenant's own
 * Receipts, read as the tenant, so another tenant's digest is simply not found), proofs (the
 * ledger's bundle, once the receipt is known to be the caller's), /health, /metrics and
 * /openapi.json. Request shapes are checked with the zod schemas /openapi.json is made from.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import type { GPUWorkload, Receipt } from "../../crds/index.ts";
import { route } from "../routing/index.ts";
import { describeError } from "../dependency-health/index.ts";
import type { Caller } from "./api-key-auth.ts";
import type { BridgeMetrics } from "./bridge-metrics.ts";
import type { BridgeDeps } from "./deps.ts";
import { openApiDocument } from "./openapi.ts";
import { ProblemError, ProblemReason, problem, validationProblem } from "./problem.ts";
import {
  CreateWorkloadSchema,
  DigestParamsSchema,
  IdempotencyKeySchema,
  QuoteRequestSchema,
  WorkloadParamsSchema,
  type Health,
} from "./schemas.ts";
import { TenantWorkloads } from "./tenant-workloads.ts";
import { usageOf } from "./usage.ts";

/** Route options that reach here. */
export interface RouteOptions {
  readonly handlerTimeoutMs: number;
  readonly healthTimeoutMs?: number;
}

function parse<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ProblemError(validationProblem(root, r.error));
  return r.data;
}

async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_res, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ProblemError(
            problem(503, ProblemReason.DependencyUnavailable, `${what}: no answer within ${ms} ms`),
            { "retry-after": "5" },
          ),
        ),
      ms,
    );
  });
  p.catch(() => undefined);
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The workload as the API shows it. */
export function workloadView(w: GPUWorkload): Record<string, unknown> {
  return {
    name: w.metadata.name ?? "",
    namespace: w.metadata.namespace ?? "",
    uid: w.metadata.uid ?? "",
    ...(w.metadata.creationTimestamp ? { createdAt: String(w.metadata.creationTimestamp) } : {}),
    deleting: w.metadata.deletionTimestamp !== undefined,
    spec: w.spec,
    ...(w.status ? { status: w.status } : {}),
  };
}

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
  const clock = deps.clock ?? ((): Date => new Date());
  const views = new Map<string, TenantWorkloads>();
  const as = (req: FastifyRequest): TenantWorkloads => {
    const c = req.caller as Caller;
    let v = views.get(c.tenant);
    if (!v) {
      v = new TenantWorkloads(deps.kube, c.tenant);
      views.set(c.tenant, v);
    }
    return v;
  };
  const within = <T>(p: Promise<T>, what: string): Promise<T> =>
    deadline(p, opts.handlerTimeoutMs, what);
  const auth = { config: { auth: true } };

  app.post("/v1/workloads", auth, async (req, reply) => {
    const body = parse(CreateWorkloadSchema, req.body, "/body");
    const rawKey = req.headers["idempotency-key"];
    const key =
      rawKey === undefined
        ? undefined
        : parse(IdempotencyKeySchema, rawKey, "/headers/idempotency-key");
    // The raw spec goes to the apiserver: its strict field validation names unknown fields.
    const raw = (req.body as { spec: Record<string, unknown> }).spec;
    const r = await within(as(req).create(body.name, raw, key), "kubernetes");
    return reply.code(r.replayed ? 200 : 201).send(workloadView(r.workload));
  });

  const reads = deps.reads;
  const tenantOf = (req: FastifyRequest): string => (req.caller as Caller).tenant;
  const receiptsOf = (req: FastifyRequest): Promise<Receipt[]> =>
    reads ? reads.receipts(tenantOf(req)) : as(req).receipts();
  const receiptOf = (req: FastifyRequest, digest: string): Promise<Receipt | undefined> =>
    reads ? reads.receipt(tenantOf(req), digest) : as(req).receipt(digest);

  app.get("/v1/workloads", auth, async (req) => {
    const items = await within(
      reads ? reads.workloads(tenantOf(req)) : as(req).list(),
      "kubernetes",
    );
    return { items: items.map(workloadView) };
  });

  app.get("/v1/workloads/:name", auth, async (req) => {
    const { name } = parse(WorkloadParamsSchema, req.params, "/path");
    // A cache miss asks the apiserver (as the tenant): a workload created a moment ago is
    // found even before its watch event arrives.
    const w =
      (reads ? await within(reads.workload(tenantOf(req), name), "kubernetes") : undefined) ??
      (await within(as(req).get(name), "kubernetes"));
    if (!w)
      throw new ProblemError(problem(404, ProblemReason.NotFound, `workload ${name} not found`));
    return workloadView(w);
  });

  app.delete("/v1/workloads/:name", auth, async (req, reply) => {
    const { name } = parse(WorkloadParamsSchema, req.params, "/path");
    const w = await within(as(req).cancel(name), "kubernetes");
    if (!w)
      throw new ProblemError(problem(404, ProblemReason.NotFound, `workload ${name} not found`));
    return reply.code(202).send({ ...workloadView(w), deleting: true });
  });

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
    const receipts = await within(receiptsOf(req), "kubernetes");
    return usageOf(receipts, clock());
  });

  app.get("/v1/receipts/:digest", auth, async (req) => {
    const { digest } = parse(DigestParamsSchema, req.params, "/path");
    const r = await within(receiptOf(req, digest), "kubernetes");
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
    const r = await within(receiptOf(req, digest), "kubernetes");
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
