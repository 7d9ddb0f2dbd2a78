/**
 * An RFC 3161 client: hashes data, POSTs a TimeStampReq to a TSA URL and checks that the
 * reply answers this request (granted, same imprint, same nonce) before returning its DER.
 */
import { readAtMost, type CappedBodyStream } from "../read-at-most.ts";
import { buildTimeStampRequest, TimestampFormatError } from "./rfc3161-request.ts";
import {
  parseTimeStampResponse,
  verifyTimeStampResponse,
  type TimestampCheck,
} from "./rfc3161-verify.ts";

/** A fetch-compatible function (injectable for tests). */
export type FetchLike = (
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body: Uint8Array;
    signal?: AbortSignal;
  },
) => Promise<{
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
  /** The body as a stream (fetch's Response has one): read chunk by chunk, within the limit. */
  body?: BodyStream | null;
}>;

/** The part of a ReadableStream the client reads. */
export type BodyStream = CappedBodyStream;

/** Thrown when the TSA cannot be reached or answers with something other than a token. */
export class TsaRequestError extends Error {
  override readonly name = "TsaRequestError";
}

/** Options for {@link requestTimestamp}. */
export interface RequestTimestampOptions {
  readonly fetch?: FetchLike;
  /** PEM CA certificates to verify the token's signature against; when absent only the
   * status, imprint and nonce are checked (the caller verifies later, e.g. offline). */
  readonly trustedPem?: readonly string[];
  /** Time limit of the whole exchange, in ms: a TSA that hangs is an outage. @default 10000 */
  readonly timeoutMs?: number;
  /** Largest reply accepted, in bytes (a token is a few KB). @default 262144 */
  readonly maxReplyBytes?: number;
}

// POSTs the request and reads the reply, within the time and size limits; every failure is a
// TsaRequestError (the publisher retries at its next tick).
async function postRequest(
  url: string,
  body: Uint8Array,
  opts: RequestTimestampOptions,
): Promise<Uint8Array> {
  const max = opts.maxReplyBytes ?? 262_144;
  const tooLarge = (): TsaRequestError =>
    new TsaRequestError(`TSA reply is over ${max} bytes: not a TimeStampResp`);
  let der: Uint8Array;
  try {
    const res = await (opts.fetch ?? fetch)(url, {
      method: "POST",
      headers: { "content-type": "application/timestamp-query" },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    if (!res.ok) {
      await res.body
        ?.getReader()
        .cancel()
        .catch(() => undefined);
      throw new TsaRequestError(`TSA ${url} answered HTTP ${res.status}`);
    }
    // A declared length over the cap is refused before reading either way.
    der = await readAtMost(res, max, tooLarge);
    if (!res.body) der = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    if (err instanceof TsaRequestError) throw err;
    throw new TsaRequestError(`cannot reach TSA ${url}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (der.byteLength > max) throw tooLarge();
  return der;
}

/** Obtains a time-stamp token (DER TimeStampResp) over `data` from the TSA at `url`. */
export async function requestTimestamp(
  url: string,
  data: Uint8Array,
  opts: RequestTimestampOptions = {},
): Promise<{ der: Uint8Array; check?: TimestampCheck }> {
  const req = buildTimeStampRequest(data);
  const der = await postRequest(url, req.der, opts);
  let parsed;
  try {
    parsed = parseTimeStampResponse(der);
  } catch (err) {
    // Whatever the parser trips on (its own format error, or a decoder's RangeError on a
    // truncated length), the reply is not a TimeStampResp: one error type, with the reason.
    const why = err instanceof TimestampFormatError ? err.message : String(err);
    throw new TsaRequestError(`TSA reply is malformed: ${why}`, { cause: err });
  }
  if (parsed.status !== 0 && parsed.status !== 1) {
    throw new TsaRequestError(
      `TSA refused the request (status ${parsed.status}${parsed.statusText ? `: ${parsed.statusText}` : ""})`,
    );
  }
  const check = await verifyTimeStampResponse(der, {
    data,
    nonceHex: req.nonceHex,
    trustedPem: opts.trustedPem ?? [],
  });
  if (!check.ok && (opts.trustedPem || !/no trusted TSA certificate/.test(check.reason))) {
    throw new TsaRequestError(`TSA reply does not verify: ${check.reason}`);
  }
  return opts.trustedPem ? { der, check } : { der };
}
