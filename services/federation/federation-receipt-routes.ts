/**
 * `POST /v1/federation/receipts` on the ledger's proof API (ADR 0088): a peer proposes the
 * `FederationSynced` receipt of a sync; the body is JSON read as bytes with a 64 KiB cap, and
 * every refusal — an unreadable or oversized body included — is an RFC 9457 problem document
 * naming the reason constant and the field at fault.
 */
import type { FastifyError, FastifyInstance } from "fastify";
import { FEDERATION_MAX_PROPOSAL_BYTES, FederationReceiptReason } from "./federation-receipt.ts";
import { federationProblem, type FederationReceiptService } from "./federation-receipt-service.ts";

const PROBLEM = "application/problem+json";

/** Registers the receipt-proposal endpoint under `/v1/federation`. */
export function registerFederationReceipts(
  app: FastifyInstance,
  service: Pick<FederationReceiptService, "accept">,
): void {
  void app.register(
    (f, _opts, done) => {
      f.removeAllContentTypeParsers();
      f.addContentTypeParser(
        "*",
        { parseAs: "buffer", bodyLimit: FEDERATION_MAX_PROPOSAL_BYTES },
        (_r, b, next) => next(null, b),
      );
      f.setErrorHandler((err: FastifyError, _req, reply) => {
        const status =
          err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 0;
        if (!status) throw err; // the proof API's handler: outages → 503, the rest → 500
        const problem = federationProblem(
          { reason: FederationReceiptReason.Malformed, field: "body", message: err.message },
          status,
        );
        return reply.code(status).type(PROBLEM).send(problem);
      });
      f.post("/receipts", { bodyLimit: FEDERATION_MAX_PROPOSAL_BYTES }, async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        let json: unknown;
        try {
          json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
        } catch (err) {
          const problem = federationProblem({
            reason: FederationReceiptReason.Malformed,
            field: "body",
            message: `body: expected a UTF-8 JSON proposal (${(err as Error).message})`,
          });
          return reply.code(400).type(PROBLEM).send(problem);
        }
        const r = await service.accept(json);
        return r.status === 200
          ? reply.code(200).send(r.body)
          : reply.code(r.status).type(PROBLEM).send(r.body);
      });
      done();
    },
    { prefix: "/v1/federation" },
  );
}
