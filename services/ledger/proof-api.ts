/**
 * The ledger's HTTP proof API, Certificate-Transparency style: the latest signed tree head,
 * entries by range, inclusion proofs by leaf hash, consistency proofs between sizes, and
 * receipts and proof bundles by digest. Read-only, except the optional c2sp.org/tlog-witness
 * endpoint under /v1/witness (ADR 0083); `buildProofApi(deps)` returns the fastify app (tests
 * use `app.inject`).
 */
import fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import {
  describeError,
  isOutage,
  readinessReport,
  type DependencyStatus,
} from "../dependency-health/index.ts";
import type { FederationReceiptService } from "../federation/federation-receipt-service.ts";
import { registerFederationReceipts } from "../federation/federation-receipt-routes.ts";
import type { WitnessService } from "../federation/witness-service.ts";
import { WITNESS_MAX_BODY_BYTES } from "../federation/witness-protocol.ts";
import { instrumentFastify, type HttpMetrics } from "../metrics/index.ts";
import { exportBundle, ReceiptNotFoundError } from "./bundle.ts";
import type { Ledger } from "./ledger.ts";
import type { LedgerMetricsSink, VerifyCheck } from "./ledger-metrics.ts";

/** Dependencies of {@link buildProofApi}. */
export interface ProofApiDeps {
  readonly ledger: Ledger;
  readonly logger?: Logger;
  /** The dependencies /readyz reports (the ledger database); none listed when omitted. */
  readonly health?: { statuses(): DependencyStatus[] };
  /**
   * The c2sp.org/tlog-witness endpoint (`POST /v1/witness/add-checkpoint`, and
   * `GET /v1/witness/checkpoint?origin=` for monitors); not served when omitted (ADR 0083).
   */
  readonly witness?: Pick<WitnessService, "addCheckpoint" | "latest">;
  /**
   * The federation receipt proposals of peers (`POST /v1/federation/receipts`, ADR 0088); not
   * served when omitted.
   */
  readonly federation?: Pick<FederationReceiptService, "accept">;
  /**
   * `GET /metrics` serves `registry`; every request is counted by `http` (RED) and refused
   * verifications by `ledger` (ADR 0110). No /metrics route when omitted.
   */
  readonly metrics?: {
    readonly registry: Registry;
    readonly http: HttpMetrics;
    readonly ledger: Pick<LedgerMetricsSink, "verifyFailed">;
  };
}

/**
 * Answers of the witness and federation endpoints that mean a verification failed: 403 (a
 * signature that does not verify, an unknown key, a quarantined log) and 422 (a proof that does
 * not verify), as c2sp.org/tlog-witness assigns them. A 409 (stale size) is the protocol at work.
 */
const VERIFY_FAILURE_STATUSES: ReadonlySet<number> = new Set([403, 422]);

/** Most entries one `GET /v1/entries` returns. */
export const MAX_ENTRIES_PER_REQUEST = 1000;

const uint = { type: "integer", minimum: 0 } as const;
const hex32 = { type: "string", pattern: "^[0-9a-f]{64}$" } as const;
const digestParam = {
  type: "object",
  required: ["digest"],
  properties: { digest: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" } },
} as const;

function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: message });
}

function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(404).send({ error: message });
}

/** Builds the proof API. */
export function buildProofApi(deps: ProofApiDeps): FastifyInstance {
  const { ledger } = deps;
  const app = fastify({ loggerInstance: deps.logger }) as unknown as FastifyInstance;
  const metrics = deps.metrics;
  if (metrics) instrumentFastify(app, metrics.http);

  // Every error body is {error: sentence}; validation errors name the parameter.
  app.setErrorHandler(
    (err: { validation?: unknown; statusCode?: number; message: string }, req, reply) => {
      if (err.validation) return reply.code(400).send({ error: err.message });
      // fastify's own client errors (a body over the limit: 413, an unreadable body: 400).
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
        return reply.code(err.statusCode).send({ error: err.message });
      }
      if (isOutage(err)) {
        // The database is away (ADR 0071): a retryable answer, not an internal error.
        const why = describeError(err);
        req.log.warn({ err: why }, "proof API request failed: ledger database unavailable");
        return reply
          .code(503)
          .header("retry-after", "5")
          .send({ error: `ledger database unavailable: ${why}` });
      }
      req.log.error({ err }, "proof API request failed");
      return reply.code(500).send({ error: "internal error" });
    },
  );

  // Liveness: the process serves. Readiness: its database answers (each dependency listed).
  app.get("/healthz", (_req, reply) => reply.send({ ok: true }));
  app.get("/readyz", (_req, reply) => {
    const r = readinessReport([], deps.health?.statuses() ?? []);
    return reply
      .code(r.ready ? 200 : 503)
      .type("text/plain; charset=utf-8")
      .send(r.text);
  });

  app.get("/v1/tree-head", async (_req, reply) => {
    const head = await ledger.latestTreeHead();
    return head ? head : notFound(reply, "the log is empty");
  });

  app.get("/v1/checkpoint", async (_req, reply) => {
    const head = await ledger.latestTreeHead();
    if (!head) return notFound(reply, "the log is empty");
    return reply.type("text/plain; charset=utf-8").send(head.checkpoint);
  });

  app.get<{ Querystring: { start: number; end: number } }>(
    "/v1/entries",
    {
      schema: {
        querystring: {
          type: "object",
          required: ["start", "end"],
          properties: { start: uint, end: uint },
        },
      },
    },
    async (req, reply) => {
      const { start, end } = req.query;
      if (end <= start) return badRequest(reply, "end must be greater than start");
      if (end - start > MAX_ENTRIES_PER_REQUEST)
        return badRequest(reply, `at most ${MAX_ENTRIES_PER_REQUEST} entries per request`);
      return { entries: await ledger.entries(start, end) };
    },
  );

  app.get<{ Querystring: { leafHash: string; treeSize?: number } }>(
    "/v1/proof/inclusion",
    {
      schema: {
        querystring: {
          type: "object",
          required: ["leafHash"],
          properties: { leafHash: hex32, treeSize: uint },
        },
      },
    },
    async (req, reply) => {
      const entry = await ledger.getByLeafHash(req.query.leafHash);
      if (!entry) return notFound(reply, "no entry has this leaf hash");
      const latest = (await ledger.latestTreeHead())?.treeSize ?? 0;
      const size = req.query.treeSize ?? latest;
      if (size <= entry.logIndex || size > latest) {
        return badRequest(reply, `treeSize must be in (${entry.logIndex}, ${latest}]`);
      }
      return await ledger.inclusionProof(entry.logIndex, size);
    },
  );

  app.get<{ Querystring: { first: number; second: number } }>(
    "/v1/proof/consistency",
    {
      schema: {
        querystring: {
          type: "object",
          required: ["first", "second"],
          properties: { first: uint, second: uint },
        },
      },
    },
    async (req, reply) => {
      const { first, second } = req.query;
      const latest = (await ledger.latestTreeHead())?.treeSize ?? 0;
      if (first > second || second > latest)
        return badRequest(reply, `need first ≤ second ≤ ${latest}`);
      return { first, second, hashes: await ledger.consistencyProof(first, second) };
    },
  );

  app.get<{ Params: { digest: string } }>(
    "/v1/receipts/:digest",
    { schema: { params: digestParam } },
    async (req, reply) => {
      const entry = await ledger.getByDigest(req.params.digest);
      return entry ?? notFound(reply, "no receipt with this digest");
    },
  );

  app.get<{ Params: { digest: string } }>(
    "/v1/bundles/:digest",
    { schema: { params: digestParam } },
    async (req, reply) => {
      try {
        return await exportBundle(ledger, { digest: req.params.digest });
      } catch (err) {
        if (err instanceof ReceiptNotFoundError) return notFound(reply, err.message);
        throw err;
      }
    },
  );

  if (metrics) {
    app.get("/metrics", async (_req, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
  }
  const refused = (check: VerifyCheck) => (status: number) => {
    if (VERIFY_FAILURE_STATUSES.has(status)) metrics?.ledger.verifyFailed(check);
  };
  if (deps.witness) registerWitness(app, deps.witness, refused("witness_checkpoint"));
  if (deps.federation) {
    const service = deps.federation;
    const counted = refused("federation_receipt");
    registerFederationReceipts(app, {
      accept: async (proposal) => {
        const r = await service.accept(proposal);
        counted(r.status);
        return r;
      },
    });
  }
  return app;
}

/** The witness routes, in their own context: request bodies are read as raw bytes. */
function registerWitness(
  app: FastifyInstance,
  witness: NonNullable<ProofApiDeps["witness"]>,
  answered: (status: number) => void,
): void {
  void app.register(
    (w, _opts, done) => {
      // tlog-witness bodies are text/plain; read every type as bytes, checked by the parser.
      w.removeAllContentTypeParsers();
      w.addContentTypeParser(
        "*",
        { parseAs: "buffer", bodyLimit: WITNESS_MAX_BODY_BYTES },
        (_r, b, next) => next(null, b),
      );
      w.post("/add-checkpoint", { bodyLimit: WITNESS_MAX_BODY_BYTES }, async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const r = await witness.addCheckpoint(body);
        answered(r.status);
        return reply.code(r.status).type(r.contentType).send(r.body);
      });
      w.get<{ Querystring: { origin: string } }>(
        "/checkpoint",
        {
          schema: {
            querystring: {
              type: "object",
              required: ["origin"],
              properties: { origin: { type: "string", minLength: 1, maxLength: 1024 } },
            },
          },
        },
        async (req, reply) => {
          const latest = await witness.latest(req.query.origin);
          if (!latest)
            return notFound(reply, "this witness has cosigned no checkpoint of that origin");
          return reply.type("text/plain; charset=utf-8").send(latest.note);
        },
      );
      done();
    },
    { prefix: "/v1/witness" },
  );
}
