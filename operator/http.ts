/**
 * The operator's HTTP endpoints: /metrics (Prometheus text), /healthz (the process serves)
 * and /readyz (every informer cache has synced). Plain node:http — three GET routes do not
 * need a framework.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** What the endpoints report on. */
export interface HealthSource {
  healthy(): boolean;
  ready(): boolean;
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
): Promise<OperatorHttp> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (code: number, body: string, type = "text/plain; charset=utf-8"): void => {
      res.writeHead(code, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "GET") return reply(405, "method not allowed\n");
    if (path === "/healthz")
      return health.healthy() ? reply(200, "ok\n") : reply(500, "unhealthy\n");
    if (path === "/readyz")
      return health.ready() ? reply(200, "ok\n") : reply(503, "caches not synced\n");
    if (path === "/metrics") {
      registry
        .metrics()
        .then((text) => reply(200, text, registry.contentType))
        .catch((err: Error) => reply(500, `${err.message}\n`));
      return;
    }
    reply(404, "not found\n");
  });
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
