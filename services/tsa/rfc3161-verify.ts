/**
 * RFC 3161 TimeStampResp parsing and verification: status, content type, message imprint,
 * nonce, the CMS signature with the chain to a trusted CA, and the TSA certificate's critical
 * `timeStamping` extended key usage. Returns a reason instead of throwing for anything that
 * parses but does not verify; throws {@link TimestampFormatError} only for undecodable input.
 */
import { createHash } from "node:crypto";
import * as pkijs from "pkijs";
import { HASH_ALGORITHMS, integerHex, TimestampFormatError } from "./rfc3161-request.ts";
import { certificatesFromPem, hasCriticalTimeStampingEku, pkiCrypto } from "./tsa-certs.ts";

const ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4";
const ID_SIGNED_DATA = "1.2.840.113549.1.7.2";

/** A decoded response: its status, and the token's signed data and TSTInfo when granted. */
export interface ParsedResponse {
  readonly status: number;
  readonly statusText?: string;
  readonly signedData?: pkijs.SignedData;
  readonly tstInfo?: pkijs.TSTInfo;
}

/** Decodes a TimeStampResp; throws {@link TimestampFormatError} when it is not one. */
export function parseTimeStampResponse(der: Uint8Array): ParsedResponse {
  let resp: pkijs.TimeStampResp;
  try {
    resp = pkijs.TimeStampResp.fromBER(der);
  } catch (err) {
    throw new TimestampFormatError(`not a TimeStampResp: ${(err as Error).message}`);
  }
  const status = resp.status.status as number;
  const statusText = resp.status.statusStrings?.map((s) => s.valueBlock.value).join("; ");
  const base = { status, ...(statusText ? { statusText } : {}) };
  if (!resp.timeStampToken) return base;
  if (resp.timeStampToken.contentType !== ID_SIGNED_DATA) {
    throw new TimestampFormatError("the time-stamp token is not CMS SignedData");
  }
  try {
    const signedData = new pkijs.SignedData({ schema: resp.timeStampToken.content });
    if (
      signedData.encapContentInfo.eContentType !== ID_CT_TSTINFO ||
      !signedData.encapContentInfo.eContent
    ) {
      throw new Error("the signed content is not a TSTInfo");
    }
    // getValue() joins a constructed (BER) OCTET STRING, which some TSAs emit.
    const tstInfo = pkijs.TSTInfo.fromBER(signedData.encapContentInfo.eContent.getValue());
    return { ...base, signedData, tstInfo };
  } catch (err) {
    throw new TimestampFormatError(`malformed time-stamp token: ${(err as Error).message}`);
  }
}

/** What a verified token says. */
export interface TimestampInfo {
  readonly genTime: Date;
  readonly serialHex: string;
  readonly policy: string;
  readonly tsaSubject: string;
}

/**
 * Stable codes of the failures a person can act on (never branch on `reason` text).
 * `tsaIssuerUntrusted`: the token's signature may be fine, but the TSA certificate's issuing
 * CA is not among the trusted certificates — the verifier must be given that CA.
 */
export const TIMESTAMP_FAILURE = {
  tsaIssuerUntrusted: "tsa-issuer-untrusted",
} as const;

/** One of {@link TIMESTAMP_FAILURE}. */
export type TimestampFailureCode = (typeof TIMESTAMP_FAILURE)[keyof typeof TIMESTAMP_FAILURE];

/** The outcome of {@link verifyTimeStampResponse}. */
export type TimestampCheck =
  | ({ readonly ok: true } & TimestampInfo)
  | {
      readonly ok: false;
      readonly reason: string;
      /** Set for failures with a known remedy. */
      readonly code?: TimestampFailureCode;
      /** With `tsaIssuerUntrusted`: the distinguished name of the CA that is missing. */
      readonly missingIssuer?: string;
    };

/** Inputs of {@link verifyTimeStampResponse}. */
export interface VerifyTimestampOptions {
  /** The time-stamped data (its SHA-256/384/512 must be the token's imprint). */
  readonly data: Uint8Array;
  /** PEM certificates of the CAs (or TSA certificates) trusted to issue tokens. */
  readonly trustedPem: readonly string[];
  /** The request's nonce in hex, when the reply must answer a specific request. */
  readonly nonceHex?: string;
}

function subjectName(cert: pkijs.Certificate): string {
  return cert.subject.typesAndValues.map((tv) => String(tv.value.valueBlock.value)).join(", ");
}

function issuerName(cert: pkijs.Certificate): string {
  return cert.issuer.typesAndValues.map((tv) => String(tv.value.valueBlock.value)).join(", ");
}

/** pkijs's code for "the signer's certificate does not chain to a trusted certificate". */
const PKIJS_CHAIN_FAILED = 5;

/** Turns pkijs's chain failure ("Incorrect name chaining"…) into what is missing. */
function chainFailure(err: unknown): TimestampCheck | undefined {
  if (!(err instanceof pkijs.SignedDataVerifyError) || err.code !== PKIJS_CHAIN_FAILED) return;
  const cert = err.signerCertificate;
  const issuer = cert ? issuerName(cert) : "unknown";
  const subject = cert ? subjectName(cert) : "the TSA certificate";
  return {
    ok: false,
    code: TIMESTAMP_FAILURE.tsaIssuerUntrusted,
    missingIssuer: issuer,
    reason: `the TSA certificate "${subject}" is issued by "${issuer}", which is not a trusted certificate: the TSA's issuing CA certificate is missing`,
  };
}

function checkImprint(tst: pkijs.TSTInfo, data: Uint8Array): string | undefined {
  const alg = HASH_ALGORITHMS[tst.messageImprint.hashAlgorithm.algorithmId];
  if (!alg) return `token uses unsupported hash ${tst.messageImprint.hashAlgorithm.algorithmId}`;
  const want = createHash(alg.name).update(data).digest();
  const got = Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  return want.equals(got) ? undefined : "token's message imprint does not match the data";
}

/** Verifies a TimeStampResp over `data` against trusted CA certificates. */
export async function verifyTimeStampResponse(
  der: Uint8Array,
  opts: VerifyTimestampOptions,
): Promise<TimestampCheck> {
  let parsed: ParsedResponse;
  try {
    parsed = parseTimeStampResponse(der);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (parsed.status !== 0 && parsed.status !== 1) {
    return {
      ok: false,
      reason: `TSA refused the request (status ${parsed.status}${parsed.statusText ? `: ${parsed.statusText}` : ""})`,
    };
  }
  const { signedData, tstInfo } = parsed;
  if (!signedData || !tstInfo) return { ok: false, reason: "granted response without a token" };
  const imprintError = checkImprint(tstInfo, opts.data);
  if (imprintError) return { ok: false, reason: imprintError };
  if (opts.nonceHex !== undefined) {
    const got = tstInfo.nonce ? integerHex(tstInfo.nonce) : undefined;
    if (got !== opts.nonceHex.replace(/^(00)+(?=..)/, ""))
      return { ok: false, reason: "token nonce does not match the request" };
  }
  let trusted: pkijs.Certificate[];
  try {
    trusted = opts.trustedPem.flatMap((p) => certificatesFromPem(p));
  } catch (err) {
    return { ok: false, reason: `unreadable trusted TSA certificate: ${(err as Error).message}` };
  }
  if (trusted.length === 0) return { ok: false, reason: "no trusted TSA certificate" };
  const result = await signedData
    .verify(
      {
        signer: 0,
        data: new Uint8Array(opts.data).buffer,
        trustedCerts: trusted,
        checkChain: true,
        extendedMode: true,
      },
      pkiCrypto,
    )
    .catch((err: unknown) => ({
      signatureVerified: false,
      message: (err as Error).message,
      signerCertificate: null,
      chain: chainFailure(err),
    }));
  if ("chain" in result && result.chain) return result.chain;
  if (!result.signatureVerified) return { ok: false, reason: `token signature: ${result.message}` };
  const signer = result.signerCertificate;
  if (!signer || !hasCriticalTimeStampingEku(signer)) {
    return {
      ok: false,
      reason: "TSA certificate lacks the critical timeStamping extended key usage",
    };
  }
  return {
    ok: true,
    genTime: tstInfo.genTime,
    serialHex: integerHex(tstInfo.serialNumber),
    policy: tstInfo.policy,
    tsaSubject: subjectName(signer),
  };
}
