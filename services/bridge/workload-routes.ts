/**
 * The workload routes: create and cancel **as the tenant** (impersonation, ADR 0121, with the
 * Idempotency-Key of ADR 0122), list and get from the informer cache after the cached access
 * review (ADR 0124) — a get that misses the cache asks the apiserver as the tenant, so a
 * workload just created is found before its watch event lands.
 */
import type { FastifyInstance } from "fastify";
import type { GPUWorkload } from "../../crds/index.ts";
import { ProblemError, ProblemReason, problem } from "./problem.ts";
import { parse, type RouteContext } from "./route-context.ts";
import { CreateWorkloadSchema, IdempotencyKeySchema, WorkloadParamsSchema } from "./schemas.ts";

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

const notFound = (name: string): ProblemError =>
  new ProblemError(problem(404, ProblemReason.NotFound, `workload ${name} not found`));

/** Registers POST/GET/DELETE /v1/workloads… on `app`. */
export function registerWorkloadRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { auth, within } = ctx;

  app.post("/v1/workloads", auth, async (req, reply) => {
    const body = parse(CreateWorkloadSchema, req.body, "/body");
    const rawKey = req.headers["idempotency-key"];
    const key =
      rawKey === undefined
        ? undefined
        : parse(IdempotencyKeySchema, rawKey, "/headers/idempotency-key");
    // The raw spec goes to the apiserver: its strict field validation names unknown fields.
    const raw = (req.body as { spec: Record<string, unknown> }).spec;
    const r = await within(ctx.as(req).create(body.name, raw, key), "kubernetes");
    return reply.code(r.replayed ? 200 : 201).send(workloadView(r.workload));
  });

  app.get("/v1/workloads", auth, async (req) => {
    const items = await within(ctx.workloads(req), "kubernetes");
    return { items: items.map(workloadView) };
  });

  app.get("/v1/workloads/:name", auth, async (req) => {
    const { name } = parse(WorkloadParamsSchema, req.params, "/path");
    const w =
      (await within(ctx.cachedWorkload(req, name), "kubernetes")) ??
      (await within(ctx.as(req).get(name), "kubernetes"));
    if (!w) throw notFound(name);
    return workloadView(w);
  });

  app.delete("/v1/workloads/:name", auth, async (req, reply) => {
    const { name } = parse(WorkloadParamsSchema, req.params, "/path");
    const w = await within(ctx.as(req).cancel(name), "kubernetes");
    if (!w) throw notFound(name);
    return reply.code(202).send({ ...workloadView(w), deleting: true });
  });
}
