/**
 * Timestampers for the ledger's tree-head publication: over HTTP to any RFC 3161 TSA, or
 * in-process to a {@link TsaResponder} (tests, single-binary air-gapped installs).
 */
import type { Timestamper } from "../ledger/tree-head.ts";
import { buildTimeStampRequest } from "./rfc3161-request.ts";
import { requestTimestamp, type FetchLike } from "./tsa-client.ts";
import type { TsaResponder } from "./tsa-responder.ts";

/** A timestamper that POSTs to `url`; `certificatesPem` are shipped in proof bundles. */
export function httpTimestamper(
  url: string,
  opts: { readonly certificatesPem?: readonly string[]; readonly fetch?: FetchLike } = {},
): Timestamper {
  return {
    ...(opts.certificatesPem ? { certificatesPem: opts.certificatesPem } : {}),
    async timestamp(data: Uint8Array): Promise<Uint8Array> {
      const trusted = opts.certificatesPem?.length ? { trustedPem: opts.certificatesPem } : {};
      const fetchOpt = opts.fetch ? { fetch: opts.fetch } : {};
      return (await requestTimestamp(url, data, { ...trusted, ...fetchOpt })).der;
    },
  };
}

/** A timestamper calling a responder directly. */
export function localTimestamper(responder: TsaResponder): Timestamper {
  return {
    certificatesPem: [responder.caCertificatePem],
    timestamp: (data) => responder.respond(buildTimeStampRequest(data).der),
  };
}
