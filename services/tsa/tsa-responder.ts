/**
 * The TSA's signing core: TimeStampReq DER in, TimeStampResp DER out. A granted response
 * holds a CMS SignedData over a TSTInfo, signed with ECDSA P-256 and carrying the signed
 * attributes OpenSSL insists on (content type, message digest, ESS signingCertificateV2).
 * Bad requests get a `rejection` response with a PKIFailureInfo bit, never an exception.
 */
import * as asn1js from "asn1js";
import { createHash } from "node:crypto";
import * as pkijs from "pkijs";
import type { Clock } from "../ledger/clock.ts";
import { randomPositiveInteger } from "./der-integer.ts";
import {
  HASH_ALGORITHMS,
  parseTimeStampRequest,
  TimestampFormatError,
  type ParsedRequest,
} from "./rfc3161-request.ts";
import {
  certificateDer,
  certificatesFromPem,
  importSigningKey,
  pkiCrypto,
  type TsaCredentialFiles,
} from "./tsa-certs.ts";

/** The development TSA policy OID (a private arc; production TSAs publish their own). */
export const DEV_TSA_POLICY = "1.3.6.1.4.1.57264.99.1";
const ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4";
const ID_SIGNED_DATA = "1.2.840.113549.1.7.2";

/** PKIFailureInfo bits used here (RFC 3161 §2.4.2). */
const FAIL = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
} as const;

/** Turns requests into signed responses. */
export interface TsaResponder {
  readonly certificatePem: string;
  readonly caCertificatePem: string;
  respond(requestDer: Uint8Array): Promise<Uint8Array>;
}

function failInfo(bit: number): asn1js.BitString {
  const bytes = new Uint8Array(Math.floor(bit / 8) + 1);
  bytes[bytes.length - 1] = 0x80 >> (bit % 8);
  return new asn1js.BitString({ valueHex: bytes.buffer, unusedBits: 7 - (bit % 8) });
}

function rejection(bit: number, text: string): Uint8Array {
  const resp = new pkijs.TimeStampResp({
    status: new pkijs.PKIStatusInfo({
      status: pkijs.PKIStatus.rejection,
      statusStrings: [new asn1js.Utf8String({ value: text })],
      failInfo: failInfo(bit),
    }),
  });
  return new Uint8Array(resp.toSchema().toBER(false));
}

function attribute(type: string, value: asn1js.BaseBlock): pkijs.Attribute {
  return new pkijs.Attribute({ type, values: [value] });
}

/** ESS SigningCertificateV2 with one ESSCertIDv2 (SHA-256, the DER default, so omitted). */
function signingCertificateV2(certDer: Uint8Array): asn1js.Sequence {
  const hash = createHash("sha256").update(certDer).digest();
  const essCertId = new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: hash })] });
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertId] })] });
}

function checkRequest(req: ParsedRequest, policy: string): Uint8Array | undefined {
  const alg = HASH_ALGORITHMS[req.hashAlgorithm];
  if (!alg) return rejection(FAIL.badAlg, `unsupported hash algorithm ${req.hashAlgorithm}`);
  if (req.hashedMessage.length !== alg.length) {
    return rejection(FAIL.badDataFormat, `a ${alg.name} imprint is ${alg.length} bytes`);
  }
  if (req.policy !== undefined && req.policy !== policy) {
    return rejection(FAIL.unacceptedPolicy, `policy ${req.policy} is not offered`);
  }
  if (req.hasExtensions) return rejection(FAIL.unacceptedExtension, "extensions are not supported");
  return undefined;
}

/** Options for {@link createTsaResponder}. */
export interface TsaResponderOptions {
  readonly credentials: Pick<
    TsaCredentialFiles,
    "certificatePem" | "privateKeyPem" | "caCertificatePem"
  >;
  readonly clock: Clock;
  /** @default DEV_TSA_POLICY */
  readonly policy?: string;
}

/** Creates a responder from PEM credentials. */
export async function createTsaResponder(opts: TsaResponderOptions): Promise<TsaResponder> {
  const cert = certificatesFromPem(opts.credentials.certificatePem)[0]!;
  const certDer = certificateDer(cert);
  const key = await importSigningKey(opts.credentials.privateKeyPem);
  const policy = opts.policy ?? DEV_TSA_POLICY;

  async function grant(req: ParsedRequest): Promise<Uint8Array> {
    const serial = randomPositiveInteger(16);
    const tstInfo = new pkijs.TSTInfo({
      version: 1,
      policy,
      messageImprint: req.messageImprint,
      serialNumber: new asn1js.Integer({ valueHex: serial }),
      genTime: opts.clock.now(),
      accuracy: new pkijs.Accuracy({ seconds: 1 }),
      ...(req.nonce ? { nonce: req.nonce } : {}),
    });
    const content = new Uint8Array(tstInfo.toSchema().toBER(false));
    const digest = createHash("sha256").update(content).digest();
    const encap = new pkijs.EncapsulatedContentInfo({ eContentType: ID_CT_TSTINFO });
    // Set after construction: the constructor would re-wrap it as a constructed (BER-only)
    // OCTET STRING, and the token should be DER.
    encap.eContent = new asn1js.OctetString({ valueHex: content });
    const signed = new pkijs.SignedData({
      version: 3,
      encapContentInfo: encap,
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({
            issuer: cert.issuer,
            serialNumber: cert.serialNumber,
          }),
          signedAttrs: new pkijs.SignedAndUnsignedAttributes({
            type: 0,
            attributes: [
              attribute(
                "1.2.840.113549.1.9.3",
                new asn1js.ObjectIdentifier({ value: ID_CT_TSTINFO }),
              ),
              attribute("1.2.840.113549.1.9.4", new asn1js.OctetString({ valueHex: digest })),
              attribute("1.2.840.113549.1.9.16.2.47", signingCertificateV2(certDer)),
            ],
          }),
        }),
      ],
      ...(req.certReq ? { certificates: [cert] } : {}),
    });
    await signed.sign(key, 0, "SHA-256", undefined, pkiCrypto);
    const resp = new pkijs.TimeStampResp({
      status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.granted }),
      timeStampToken: new pkijs.ContentInfo({
        contentType: ID_SIGNED_DATA,
        content: signed.toSchema(true),
      }),
    });
    return new Uint8Array(resp.toSchema().toBER(false));
  }

  return {
    certificatePem: opts.credentials.certificatePem,
    caCertificatePem: opts.credentials.caCertificatePem,
    async respond(requestDer: Uint8Array): Promise<Uint8Array> {
      let req: ParsedRequest;
      try {
        req = parseTimeStampRequest(requestDer);
      } catch (err) {
        if (err instanceof TimestampFormatError) return rejection(FAIL.badDataFormat, err.message);
        throw err;
      }
      return checkRequest(req, policy) ?? (await grant(req));
    },
  };
}

export { FAIL as PKI_FAILURE_BITS };
