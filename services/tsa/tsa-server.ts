/**
 * The development TSA over HTTP (RFC 3161 §3.4): POST `application/timestamp-query`,
 * answer `application/timestamp-reply`. `buildTsaServer(deps)` returns the fastify app
 * (tests use `app.inject`); `listenTsa` binds it.
 */
import fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { observeFastify } from "../metrics/index.ts";
import type { TsaResponder } from "./tsa-responder.ts";

/** Dependencies of {@link buildTsaServer}. */
export interface TsaServerDeps {
  readonly responder: TsaResponder;
  readonly logger?: Logger;
  /** Serve `GET /metrics` from this registry and count every request on it (RED, ADR 0110). */
  readonly metrics?: Registry;
}

const QUERY_TYPE = "application/timestamp-query";
const REPLY_TYPE = "application/timestamp-reply";

/** Builds the TSA HTTP app: `POST /` (and `/tsa`), `GET /tsa.crt`, `GET /tsa-ca.crt`, `GET /healthz`. */
export function buildTsaServer(deps: TsaServerDeps): FastifyInstance {
  const app = fastify({
    loggerInstance: deps.logger,
    bodyLimit: 64 * 1024,
  }) as unknown as FastifyInstance;
  if (deps.metrics) observeFastify(app, deps.metrics, "tsa");
  app.addContentTypeParser(QUERY_TYPE, { parseAs: "buffer" }, (_req, body, done) =>
    done(null, body),
  );
  const handler = async (
    req: { body: unknown },
    reply: { type(t: string): unknown },
  ): Promise<Buffer> => {
    const body = req.body as Buffer;
    const der = await deps.responder.respond(new Uint8Array(body));
    reply.type(REPLY_TYPE);
    return Buffer.from(der);
  };
  for (const path of ["/", "/tsa"]) {
    app.post(path, { schema: { headers: { type: "object" } } }, async (req, reply) => {
      if (req.headers["content-type"]?.split(";")[0]?.trim() !== QUERY_TYPE) {
        return await reply.code(415).send({ error: `content type must be ${QUERY_TYPE}` });
      }
      return await handler(req, reply);
    });
  }
  app.get("/tsa.crt", (_req, reply) =>
    reply.type("application/x-pem-file").send(deps.responder.certificatePem),
  );
  app.get("/tsa-ca.crt", (_req, reply) =>
    reply.type("application/x-pem-file").send(deps.responder.caCertificatePem),
  );
  app.get("/healthz", (_req, reply) => reply.send({ ok: true }));
  return app;
}

/** Starts the TSA on host:port; resolves with the bound URL. */
export async function listenTsa(
  app: FastifyInstance,
  port: number,
  host = "127.0.0.1",
): Promise<string> {
  return await app.listen({ port, host });
}
