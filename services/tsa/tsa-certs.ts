/**
 * Key material for the development TSA: a self-signed CA and a TSA certificate it issues
 * with the critical `id-kp-timeStamping` extended key usage RFC 3161 §2.3 requires. Keys are
 * ECDSA P-256 (WebCrypto), which pkijs, OpenSSL and every TSA client understand.
 */
import * as asn1js from "asn1js";
import type { webcrypto } from "node:crypto";
import * as pkijs from "pkijs";
import type { Clock } from "../ledger/clock.ts";
import { randomPositiveInteger } from "./der-integer.ts";
import { keyUsageBits as keyUsage, x509Extension as extension } from "./x509-extensions.ts";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** The pkijs crypto engine over Node's WebCrypto. */
export const pkiCrypto = new pkijs.CryptoEngine({ name: "node", crypto: globalThis.crypto });

/** OID of id-kp-timeStamping. */
export const TIME_STAMPING_EKU = "1.3.6.1.5.5.7.3.8";
const EC_PARAMS = { name: "ECDSA", namedCurve: "P-256" } as const;

/** PEM-armours DER bytes. */
export function pemEncode(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

/** Decodes every PEM block with `label` (throws when there is none). */
export function pemDecodeAll(pem: string, label: string): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, "g");
  const out = [...pem.matchAll(re)].map(
    (m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")),
  );
  if (out.length === 0) throw new Error(`no PEM ${label} block found`);
  return out;
}

/** Parses PEM certificates (a bundle may hold several). */
export function certificatesFromPem(pem: string): pkijs.Certificate[] {
  return pemDecodeAll(pem, "CERTIFICATE").map((der) => pkijs.Certificate.fromBER(der));
}

/** The DER bytes of a certificate. */
export function certificateDer(cert: pkijs.Certificate): Uint8Array {
  return new Uint8Array(cert.toSchema(true).toBER(false));
}

/** Imports a PKCS#8 PEM ECDSA P-256 private key for signing. */
export async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = pemDecodeAll(pem, "PRIVATE KEY")[0]!;
  return await globalThis.crypto.subtle.importKey("pkcs8", der, EC_PARAMS, false, ["sign"]);
}

/** PEM files for a CA and the TSA certificate it issued. */
export interface TsaCredentialFiles {
  readonly caCertificatePem: string;
  readonly caPrivateKeyPem: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

function commonName(cn: string): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [
      new pkijs.AttributeTypeAndValue({
        type: "2.5.4.10",
        value: new asn1js.Utf8String({ value: "VaultMesh" }),
      }),
      new pkijs.AttributeTypeAndValue({
        type: "2.5.4.3",
        value: new asn1js.Utf8String({ value: cn }),
      }),
    ],
  });
}

async function keyIdentifier(key: CryptoKey): Promise<Uint8Array> {
  const spki = await globalThis.crypto.subtle.exportKey("spki", key);
  const info = pkijs.PublicKeyInfo.fromBER(spki);
  const digest = await globalThis.crypto.subtle.digest(
    "SHA-1",
    info.subjectPublicKey.valueBlock.valueHexView,
  );
  return new Uint8Array(digest);
}

interface CertSpec {
  readonly subject: string;
  readonly issuer: string;
  readonly publicKey: CryptoKey;
  readonly signingKey: CryptoKey;
  readonly authorityKeyId: Uint8Array;
  readonly extensions: pkijs.Extension[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

async function issue(spec: CertSpec): Promise<pkijs.Certificate> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ valueHex: randomPositiveInteger(16) });
  cert.subject = commonName(spec.subject);
  cert.issuer = commonName(spec.issuer);
  cert.notBefore.value = spec.notBefore;
  cert.notAfter.value = spec.notAfter;
  await cert.subjectPublicKeyInfo.importKey(spec.publicKey, pkiCrypto);
  const ski = await keyIdentifier(spec.publicKey);
  cert.extensions = [
    ...spec.extensions,
    extension("2.5.29.14", false, new asn1js.OctetString({ valueHex: ski })),
    extension(
      "2.5.29.35",
      false,
      new pkijs.AuthorityKeyIdentifier({
        keyIdentifier: new asn1js.OctetString({ valueHex: spec.authorityKeyId }),
      }),
    ),
  ];
  await cert.sign(spec.signingKey, "SHA-256", pkiCrypto);
  return cert;
}

async function exportPkcs8(key: CryptoKey): Promise<string> {
  return pemEncode("PRIVATE KEY", await globalThis.crypto.subtle.exportKey("pkcs8", key));
}

/** Generates a development CA and a TSA certificate valid for `validDays` from `clock`'s now. */
export async function generateTsaCredentials(
  clock: Clock,
  validDays = 3650,
): Promise<TsaCredentialFiles> {
  const gen = (): Promise<CryptoKeyPair> =>
    globalThis.crypto.subtle.generateKey(EC_PARAMS, true, ["sign", "verify"]);
  const ca = await gen();
  const tsa = await gen();
  const now = clock.now();
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000); // tolerate clock skew
  const notAfter = new Date(now.getTime() + validDays * 86_400_000);
  const caKeyId = await keyIdentifier(ca.publicKey);
  const caCert = await issue({
    subject: "VaultMesh Development TSA Root",
    issuer: "VaultMesh Development TSA Root",
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    authorityKeyId: caKeyId,
    notBefore,
    notAfter,
    extensions: [
      extension("2.5.29.19", true, new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      extension("2.5.29.15", true, keyUsage(0x06, 1)), // keyCertSign, cRLSign
    ],
  });
  const tsaCert = await issue({
    subject: "VaultMesh Development TSA",
    issuer: "VaultMesh Development TSA Root",
    publicKey: tsa.publicKey,
    signingKey: ca.privateKey,
    authorityKeyId: caKeyId,
    notBefore,
    notAfter,
    extensions: [
      extension("2.5.29.19", false, new pkijs.BasicConstraints({ cA: false })),
      extension("2.5.29.15", true, keyUsage(0xc0, 6)), // digitalSignature, nonRepudiation
      extension("2.5.29.37", true, new pkijs.ExtKeyUsage({ keyPurposes: [TIME_STAMPING_EKU] })),
    ],
  });
  return {
    caCertificatePem: pemEncode("CERTIFICATE", certificateDer(caCert)),
    caPrivateKeyPem: await exportPkcs8(ca.privateKey),
    certificatePem: pemEncode("CERTIFICATE", certificateDer(tsaCert)),
    privateKeyPem: await exportPkcs8(tsa.privateKey),
  };
}

/** True when `cert` carries exactly one, critical, EKU extension listing only timeStamping. */
export function hasCriticalTimeStampingEku(cert: pkijs.Certificate): boolean {
  const ekus = (cert.extensions ?? []).filter((e) => e.extnID === "2.5.29.37");
  if (ekus.length !== 1 || !ekus[0]!.critical) return false;
  const parsed = ekus[0]!.parsedValue as pkijs.ExtKeyUsage | undefined;
  const purposes = parsed?.keyPurposes ?? [];
  return purposes.length === 1 && purposes[0] === TIME_STAMPING_EKU;
}
