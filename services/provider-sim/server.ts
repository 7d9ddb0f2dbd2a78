// Runs the provider simulator on a TCP port (loopback by default) for tests, the war-game and
// local development against the operator.
import type { FastifyInstance } from "fastify";
import { buildServer, type SimDeps } from "./app.ts";

/** Where to listen. */
export interface ListenOptions {
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
}

/** A listening simulator. */
export interface RunningSim {
  readonly app: FastifyInstance;
  /** Base URL, e.g. `http://127.0.0.1:41234` (a Treaty's spec.endpoint). */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Builds the simulator and listens; resolves once it accepts connections. */
export async function startProviderSim(
  deps: SimDeps,
  options: ListenOptions = {},
): Promise<RunningSim> {
  const app = buildServer(deps);
  const host = options.host ?? "127.0.0.1";
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") {
    await app.close();
    throw new Error("provider simulator is not listening on a TCP port");
  }
  const hostPart = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    app,
    url: `http://${hostPart}:${address.port}`,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
