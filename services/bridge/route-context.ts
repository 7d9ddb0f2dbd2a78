/**
 * What every route handler shares: request parsing with the zod schemas /openapi.json is made
 * from, handler deadlines (503 past them), and the caller's tenant — its impersonated view for
 * writes, and the read path (informer caches after an access review, ADR 0124, or the
 * impersonated view when the bridge runs without caches).
 */
import type { FastifyRequest } from "fastify";
import type { z } from "zod";
import type { GPUWorkload, Receipt } from "../../crds/index.ts";
import type { Caller } from "./api-key-auth.ts";
import type { BridgeDeps } from "./deps.ts";
import { ProblemError, ProblemReason, problem, validationProblem } from "./problem.ts";
import { TenantWorkloads } from "./tenant-workloads.ts";

/** Route options that reach here. */
export interface RouteOptions {
  readonly handlerTimeoutMs: number;
  readonly healthTimeoutMs?: number;
}

/** Parses `value` with `schema`, or throws a 400 problem naming the field under `root`. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ProblemError(validationProblem(root, r.error));
  return r.data;
}

/** `p`, or a 503 problem naming `what` once `ms` have passed. */
export async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
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

/** The per-request helpers of the routes. */
export interface RouteContext {
  readonly deps: BridgeDeps;
  readonly clock: () => Date;
  /** The route option that makes a route authenticated and rate limited. */
  readonly auth: { readonly config: { readonly auth: true } };
  readonly within: <T>(p: Promise<T>, what: string) => Promise<T>;
  /** The caller's impersonated view (writes, and reads without caches). */
  as(req: FastifyRequest): TenantWorkloads;
  workloads(req: FastifyRequest): Promise<GPUWorkload[]>;
  /** From the cache; undefined on a miss (the caller may then ask the apiserver). */
  cachedWorkload(req: FastifyRequest, name: string): Promise<GPUWorkload | undefined>;
  receipts(req: FastifyRequest): Promise<Receipt[]>;
  receipt(req: FastifyRequest, digest: string): Promise<Receipt | undefined>;
}

/** Builds the {@link RouteContext} of one server. */
export function routeContext(deps: BridgeDeps, opts: RouteOptions): RouteContext {
  const views = new Map<string, TenantWorkloads>();
  const tenantOf = (req: FastifyRequest): string => (req.caller as Caller).tenant;
  const as = (req: FastifyRequest): TenantWorkloads => {
    const tenant = tenantOf(req);
    let v = views.get(tenant);
    if (!v) {
      v = new TenantWorkloads(deps.kube, tenant);
      views.set(tenant, v);
    }
    return v;
  };
  const reads = deps.reads;
  return {
    deps,
    clock: deps.clock ?? ((): Date => new Date()),
    auth: { config: { auth: true } },
    within: (p, what) => deadline(p, opts.handlerTimeoutMs, what),
    as,
    workloads: (req) => (reads ? reads.workloads(tenantOf(req)) : as(req).list()),
    cachedWorkload: (req, name) =>
      reads ? reads.workload(tenantOf(req), name) : Promise.resolve(undefined),
    receipts: (req) => (reads ? reads.receipts(tenantOf(req)) : as(req).receipts()),
    receipt: (req, digest) =>
      reads ? reads.receipt(tenantOf(req), digest) : as(req).receipt(digest),
  };
}
