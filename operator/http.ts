/**
 * The operator's HTTP endpoints: /metrics (Prometheus text), /healthz (the process serves)
 * and /readyz (every informer cache has synced, and each dependency's state with its reason).
 * Liveness never looks at dependencies: a process whose database is away is degraded, not
 * dead, and a restart would only add a crash loop to the outage (ADR 0071). Plain node:http —
 * three GET routes do not need a framework. Every request is counted (RED, services/metrics).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { readinessReport, type DependencyStatus } from "../services/dependency-health/index.ts";
import { fixedRoutes, HttpMetrics, instrumentHandler } from "../services/metrics/index.ts";

/** What the endpoints report on. */
export interface HealthSource {
  healthy(): boolean;
  ready(): boolean;
}

/** The dependencies /readyz lists (services/dependency-health's DependencyHealth fits). */
export interface DependencySource {
  statuses(): DependencyStatus[];
}

/** The /readyz verdict and body for the caches' state and the dependencies. Pure. */
export function readyzReply(
  cachesSynced: boolean,
  deps: readonly DependencyStatus[],
): { code: number; body: string } {
  const r = readinessReport(
    [{ name: "informers", ok: cachesSynced, message: "caches not synced" }],
    deps,
  );
  return { code: r.ready ? 200 : 503, body: r.text };
}

/** A listening server and its bound port. */
export interface OperatorHttp {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts serving /metrics, /healthz and /readyz on host:port (port 0 picks a free one). */
export async function serveOperatorHttp(
  health: HealthSource,
  registry: Registry,
  host: string,
  port: number,
  dependencies: DependencySource = { statuses: () => [] },
): Promise<OperatorHttp> {
  // RED metrics of these endpoints on the same registry (services/metrics, ADR 0110).
  const red = new HttpMetrics(registry, "operator");
  const routes = fixedRoutes(["/metrics", "/healthz", "/readyz"]);
  const server = createServer(
    instrumentHandler(red, routes, (req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      const reply = (code: number, body: string, type = "text/plain; charset=utf-8"): void => {
        res.writeHead(code, { "content-type": type });
        res.end(body);
      };
      if (req.method !== "GET") return reply(405, "method not allowed\n");
      if (path === "/healthz")
        return health.healthy() ? reply(200, "ok\n") : reply(500, "unhealthy\n");
      if (path === "/readyz") {
        const r = readyzReply(health.ready(), dependencies.statuses());
        return reply(r.code, r.body);
      }
      if (path === "/metrics") {
        registry
          .metrics()
          .then((text) => reply(200, text, registry.contentType))
          .catch((err: Error) => reply(500, `${err.message}\n`));
        return;
      }
      reply(404, "not found\n");
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
