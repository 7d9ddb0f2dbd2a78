/**
 * RED metrics (rate, errors, duration) for every HTTP server we run, one implementation for
 * all (ADR 0110): `vaultmesh_http_requests_total{server,route,method,code}`,
 * `vaultmesh_http_request_errors_total{server,route,method}`,
 * `vaultmesh_http_request_duration_seconds{server,route,method}` and
 * `vaultmesh_http_requests_in_flight{server}`. Fastify servers (webhooks, ledger proof API, TSA,
 * provider simulator) add {@link instrumentFastify}; plain node:http servers (the operator's)
 * wrap their handler with {@link instrumentHandler}. `route` is the route's template, never the
 * URL, so label values stay bounded by the code.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import { HTTP_DURATION, HTTP_ERRORS, HTTP_IN_FLIGHT, HTTP_REQUESTS } from "./catalog.ts";
import { counter, gauge, histogram } from "./define.ts";

/** The route label of a request no route matched (404s of unknown paths). */
export const UNMATCHED_ROUTE = "unmatched";

/** Methods kept as they are; any other becomes `other` (the label stays bounded). */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The method label of `method`. Pure. */
export function methodLabel(method: string | undefined): string {
  const m = (method ?? "").toUpperCase();
  return METHODS.has(m) ? m : "other";
}

/** Whether an answer with `code` (or none: the connection closed first) counts as an error. Pure. */
export function isServerError(code: number | undefined): boolean {
  return code === undefined || code >= 500;
}

/** The RED metrics of one server, on its process's registry. */
export class HttpMetrics {
  readonly server: string;
  readonly #requests: Counter<"server" | "route" | "method" | "code">;
  readonly #errors: Counter<"server" | "route" | "method">;
  readonly #duration: Histogram<"server" | "route" | "method">;
  readonly #inFlight: Gauge<"server">;

  /** `server` names the server in the labels (operator, webhooks, ledger, tsa, provider-sim). */
  constructor(registry: Registry, server: string) {
    this.server = server;
    const existing = <T>(name: string): T | undefined =>
      registry.getSingleMetric(name) as T | undefined;
    // Two servers of one process (tests) share the metrics on its registry.
    this.#requests = existing(HTTP_REQUESTS.name) ?? counter(registry, HTTP_REQUESTS);
    this.#errors = existing(HTTP_ERRORS.name) ?? counter(registry, HTTP_ERRORS);
    this.#duration = existing(HTTP_DURATION.name) ?? histogram(registry, HTTP_DURATION);
    this.#inFlight = existing(HTTP_IN_FLIGHT.name) ?? gauge(registry, HTTP_IN_FLIGHT);
    this.#inFlight.set({ server }, 0);
  }

  /** A request began. */
  started(): void {
    this.#inFlight.inc({ server: this.server });
  }

  /** A request ended: answered with `code`, or its connection closed first (`code` undefined). */
  finished(
    route: string,
    method: string | undefined,
    code: number | undefined,
    seconds: number,
  ): void {
    const labels = { server: this.server, route, method: methodLabel(method) };
    this.#inFlight.dec({ server: this.server });
    if (code !== undefined) this.#requests.inc({ ...labels, code: String(code) });
    if (isServerError(code)) this.#errors.inc(labels);
    this.#duration.observe(labels, seconds);
  }
}

/**
 * Records RED metrics for every request `app` serves (its 404s included). Call right after
 * creating the app, before its routes.
 */
export function instrumentFastify(app: FastifyInstance, metrics: HttpMetrics): void {
  const startedAt = new WeakMap<FastifyRequest, number>();
  const end = (req: FastifyRequest, code: number | undefined): void => {
    const t0 = startedAt.get(req);
    if (t0 === undefined) return; // counted already (an abort, then the response hook)
    startedAt.delete(req);
    const route = req.routeOptions.url ?? UNMATCHED_ROUTE;
    metrics.finished(route, req.method, code, (performance.now() - t0) / 1000);
  };
  app.addHook("onRequest", (req, _reply, done) => {
    startedAt.set(req, performance.now());
    metrics.started();
    done();
  });
  app.addHook("onResponse", (req, reply, done) => {
    end(req, reply.statusCode);
    done();
  });
  app.addHook("onRequestAbort", (req, done) => {
    end(req, undefined);
    done();
  });
}

/**
 * Wraps a node:http request handler with RED metrics; `routeOf(path)` maps a request's path to
 * its route label (a fixed set of paths, else {@link UNMATCHED_ROUTE}).
 */
export function instrumentHandler(
  metrics: HttpMetrics,
  routeOf: (path: string) => string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const t0 = performance.now();
    metrics.started();
    let ended = false;
    const end = (code: number | undefined): void => {
      if (ended) return;
      ended = true;
      const route = routeOf((req.url ?? "/").split("?")[0] ?? "/");
      metrics.finished(route, req.method, code, (performance.now() - t0) / 1000);
    };
    res.once("finish", () => end(res.statusCode));
    res.once("close", () => end(res.writableFinished ? res.statusCode : undefined));
    handler(req, res);
  };
}

/** A route label function for a server with a fixed set of paths. Pure. */
export function fixedRoutes(paths: readonly string[]): (path: string) => string {
  const known = new Set(paths);
  return (path) => (known.has(path) ? path : UNMATCHED_ROUTE);
}

/**
 * Observes a fastify server: RED metrics for every request (`server` names it) and
 * `GET /metrics` serving `registry`. Call right after creating the app, before its routes.
 */
export function observeFastify(app: FastifyInstance, registry: Registry, server: string): void {
  instrumentFastify(app, new HttpMetrics(registry, server));
  app.get("/metrics", async (_req, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
}
