/**
 * Listens: the tenant API on a port, with graceful shutdown — on close the server stops
 * accepting connections, answers new requests on kept-alive connections with 503 (fastify's
 * return503OnClosing), lets in-flight requests finish, then closes idle connections.
 */
import type { FastifyInstance } from "fastify";
import { buildServer, type BridgeOptions } from "./app.ts";
import type { BridgeDeps } from "./deps.ts";

/** Options of {@link startBridgeServer}. */
export interface BridgeServeOptions extends BridgeOptions {
  readonly deps: BridgeDeps;
  /** @default 0.0.0.0 */
  readonly host?: string;
  /** 0 picks a free port. @default 8080 */
  readonly port?: number;
}

/** A listening tenant API. */
export interface RunningBridge {
  readonly app: FastifyInstance;
  readonly port: number;
  /** `http(s)://<host>:<port>` (127.0.0.1 when listening on every interface). */
  readonly url: string;
  /** Graceful shutdown: in-flight requests finish first. */
  close(): Promise<void>;
}

/** Builds the app and listens. */
export async function startBridgeServer(opts: BridgeServeOptions): Promise<RunningBridge> {
  const app = buildServer(opts.deps, opts);
  const host = opts.host ?? "0.0.0.0";
  await app.listen({ host, port: opts.port ?? 8080 });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : (opts.port ?? 8080);
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    app,
    port,
    url: `http://${shown}:${port}`,
    async close(): Promise<void> {
      await app.close();
    },
  };
}
