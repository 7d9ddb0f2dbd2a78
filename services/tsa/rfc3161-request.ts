/**
 * RFC 3161 TimeStampReq: build one (client side) and parse one (TSA side). Requests always
 * carry a random 64-bit nonce and ask for the TSA certificate, so a reply can be matched to
 * its request and verified without fetching anything.
 */
import * as asn1js from "asn1js";
import { createHash, randomBytes } from "node:crypto";
import * as pkijs from "pkijs";
import { positiveIntegerBytes } from "./der-integer.ts";

/** Hash algorithms a TSA accepts, by OID, with their digest lengths. */
export const HASH_ALGORITHMS: Readonly<Record<string, { name: string; length: number }>> = {
  "2.16.840.1.101.3.4.2.1": { name: "sha256", length: 32 },
  "2.16.840.1.101.3.4.2.2": { name: "sha384", length: 48 },
  "2.16.840.1.101.3.4.2.3": { name: "sha512", length: 64 },
};
/** OID of SHA-256. */
export const SHA256_OID = "2.16.840.1.101.3.4.2.1";

/** Thrown when DER input is not the RFC 3161 structure it should be. */
export class TimestampFormatError extends Error {
  override readonly name = "TimestampFormatError";
}

/** A built request: the DER to send and the nonce to expect back (hex). */
export interface BuiltRequest {
  readonly der: Uint8Array;
  readonly nonceHex: string;
  readonly imprint: Uint8Array;
}

/** Builds a SHA-256 TimeStampReq over `data` with a fresh nonce and certReq = true. */
export function buildTimeStampRequest(
  data: Uint8Array,
  nonce: Uint8Array = randomBytes(8),
): BuiltRequest {
  const imprint = new Uint8Array(createHash("sha256").update(data).digest());
  const n = positiveIntegerBytes(nonce);
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA256_OID }),
      hashedMessage: new asn1js.OctetString({ valueHex: imprint }),
    }),
    nonce: new asn1js.Integer({ valueHex: n }),
    certReq: true,
  });
  return {
    der: new Uint8Array(req.toSchema().toBER(false)),
    nonceHex: Buffer.from(n).toString("hex"),
    imprint,
  };
}

/** The fields of a TimeStampReq a TSA acts on. */
export interface ParsedRequest {
  readonly hashAlgorithm: string;
  readonly hashedMessage: Uint8Array;
  readonly nonce?: asn1js.Integer;
  readonly certReq: boolean;
  readonly policy?: string;
  readonly hasExtensions: boolean;
  readonly messageImprint: pkijs.MessageImprint;
}

/** Parses DER into a TimeStampReq; throws {@link TimestampFormatError} when malformed. */
export function parseTimeStampRequest(der: Uint8Array): ParsedRequest {
  let req: pkijs.TimeStampReq;
  try {
    req = pkijs.TimeStampReq.fromBER(der);
  } catch (err) {
    throw new TimestampFormatError(`not a TimeStampReq: ${(err as Error).message}`);
  }
  if (req.version !== 1)
    throw new TimestampFormatError(`unsupported TimeStampReq version ${req.version}`);
  const mi = req.messageImprint;
  return {
    hashAlgorithm: mi.hashAlgorithm.algorithmId,
    hashedMessage: new Uint8Array(mi.hashedMessage.valueBlock.valueHexView),
    ...(req.nonce ? { nonce: req.nonce } : {}),
    certReq: req.certReq ?? false,
    ...(req.reqPolicy ? { policy: req.reqPolicy } : {}),
    hasExtensions: (req.extensions?.length ?? 0) > 0,
    messageImprint: mi,
  };
}

/** Hex of an ASN.1 INTEGER's value bytes without leading zero padding. */
export function integerHex(i: asn1js.Integer): string {
  return Buffer.from(i.valueBlock.valueHexView)
    .toString("hex")
    .replace(/^(00)+(?=..)/, "");
}
