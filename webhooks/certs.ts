// Webhook serving certificates, made in-process with WebCrypto and pkijs (no openssl CLI: the
// image holds Node and libc only). A CA signs a serving certificate with DNS and IP SANs.
//   local runs (make dev, tests, the bench): a throwaway CA and a certificate for 127.0.0.1;
//   managed mode (ADR 0065): a long-lived CA kept in the Secret with its key, so a rotation of
//     the serving certificate leaves the caBundle alone;
//   mounted mode: files written by `webhooks/main.ts certs` or cert-manager (same file names).
import { writeFile } from "node:fs/promises";
import { isIPv4, isIPv6 } from "node:net";
import { join } from "node:path";
import * as asn1js from "asn1js";
import type { webcrypto } from "node:crypto";
import * as pkijs from "pkijs";
import {
  certificateDer,
  certificatesFromPem,
  importSigningKey,
  pemEncode,
  pkiCrypto,
} from "../services/tsa/tsa-certs.ts";
import { randomPositiveInteger } from "../services/tsa/der-integer.ts";
import {
  keyUsageBits as keyUsage,
  x509Extension as extension,
} from "../services/tsa/x509-extensions.ts";

type CryptoKey = webcrypto.CryptoKey;

/** A CA and a serving certificate signed by it, all PEM. */
export interface ServingCertificate {
  /** The CA certificate(s) clients trust: the signing CA first, then any still-valid old one. */
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
}

/** A CA certificate and its PKCS#8 private key, PEM. */
export interface CertificateAuthority {
  readonly cert: string;
  readonly key: string;
}

/** Subject alternative names of a serving certificate. */
export interface SubjectNames {
  /** DNS SANs. @default ["localhost"] */
  readonly dnsNames?: readonly string[];
  /** IP SANs. @default ["127.0.0.1"] */
  readonly ipAddresses?: readonly string[];
  /** Subject CN (informational; verifiers use the SANs). @default vaultmesh-webhook */
  readonly commonName?: string;
}

/** Validity window of an issued certificate. */
export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Options of {@link generateServingCertificate}. */
export interface CertificateOptions extends SubjectNames {
  /** Validity in days. @default 365 */
  readonly days?: number;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

/** The file names the server reads, as in a kubernetes.io/tls Secret plus ca.crt. */
export const CERT_FILES = { cert: "tls.crt", key: "tls.key", ca: "ca.crt" } as const;

/** Backdating of notBefore, so a peer whose clock is a little behind accepts a new certificate. */
export const CLOCK_SKEW_MS = 60 * 60 * 1000;

const EC_PARAMS = { name: "ECDSA", namedCurve: "P-256" } as const;
const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

function name(cn: string): pkijs.RelativeDistinguishedNames {
  const attr = (type: string, value: string): pkijs.AttributeTypeAndValue =>
    new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value }) });
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [attr(OID.organization, "VaultMesh"), attr(OID.commonName, cn)],
  });
}

/** The bytes of an IP SAN (4 for IPv4, 16 for IPv6). */
export function ipAddressBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split(".").map(Number));
  if (!isIPv6(ip))
    throw new Error(`IP SAN ${JSON.stringify(ip)}: expected an IPv4 or IPv6 address`);
  const [head = "", tail = ""] = ip.includes("::") ? ip.split("::") : [ip, ""];
  const groups = (s: string): number[] =>
    s === "" ? [] : s.split(":").map((g) => parseInt(g, 16));
  const h = groups(head);
  const t = groups(tail);
  const all = ip.includes("::")
    ? [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t]
    : h;
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

function altNames(names: SubjectNames): pkijs.AltName {
  return new pkijs.AltName({
    altNames: [
      ...(names.dnsNames ?? ["localhost"]).map((d) => new pkijs.GeneralName({ type: 2, value: d })),
      ...(names.ipAddresses ?? ["127.0.0.1"]).map(
        (ip) =>
          new pkijs.GeneralName({
            type: 7,
            value: new asn1js.OctetString({ valueHex: ipAddressBytes(ip) }),
          }),
      ),
    ],
  });
}

// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
async function keyIdentifier(info: pkijs.PublicKeyInfo): Promise<Uint8Array> {
  const digest = await globalThis.crypto.subtle.digest(
    "SHA-1",
    info.subjectPublicKey.valueBlock.valueHexView,
  );
  return new Uint8Array(digest);
}

interface IssueSpec {
  readonly subject: pkijs.RelativeDistinguishedNames;
  readonly issuer: pkijs.RelativeDistinguishedNames;
  readonly publicKey: CryptoKey;
  readonly signingKey: CryptoKey;
  readonly authorityKeyId: Uint8Array | undefined;
  readonly extensions: pkijs.Extension[];
  readonly validity: Validity;
}

async function issue(spec: IssueSpec): Promise<pkijs.Certificate> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ valueHex: randomPositiveInteger(16) });
  cert.subject = spec.subject;
  cert.issuer = spec.issuer;
  cert.notBefore.value = spec.validity.notBefore;
  cert.notAfter.value = spec.validity.notAfter;
  await cert.subjectPublicKeyInfo.importKey(spec.publicKey, pkiCrypto);
  const ski = await keyIdentifier(cert.subjectPublicKeyInfo);
  const aki = spec.authorityKeyId ?? ski;
  cert.extensions = [
    ...spec.extensions,
    extension(OID.subjectKeyId, false, new asn1js.OctetString({ valueHex: ski })),
    extension(
      OID.authorityKeyId,
      false,
      new pkijs.AuthorityKeyIdentifier({
        keyIdentifier: new asn1js.OctetString({ valueHex: aki }),
      }),
    ),
  ];
  await cert.sign(spec.signingKey, "SHA-256", pkiCrypto);
  return cert;
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return await globalThis.crypto.subtle.generateKey(EC_PARAMS, true, ["sign", "verify"]);
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  return pemEncode("PRIVATE KEY", await globalThis.crypto.subtle.exportKey("pkcs8", key));
}

/** Issues a self-signed P-256 CA (path length 0: it signs serving certificates only). */
export async function issueCertificateAuthority(
  validity: Validity,
  commonName = "vaultmesh-webhook-ca",
): Promise<CertificateAuthority> {
  const keys = await newKeyPair();
  const cert = await issue({
    subject: name(commonName),
    issuer: name(commonName),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    authorityKeyId: undefined,
    validity,
    extensions: [
      extension(
        OID.basicConstraints,
        true,
        new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 }),
      ),
      extension(OID.keyUsage, true, keyUsage(0x06, 1)), // keyCertSign, cRLSign
    ],
  });
  return {
    cert: pemEncode("CERTIFICATE", certificateDer(cert)),
    key: await pkcs8Pem(keys.privateKey),
  };
}

/**
 * Issues a P-256 serving certificate (serverAuth) for `names`, signed by `ca`. P-256 keeps the
 * TLS handshake cheap, which matters when the apiserver opens new connections under load.
 */
export async function issueServingCertificate(
  ca: CertificateAuthority,
  names: SubjectNames,
  validity: Validity,
): Promise<{ cert: string; key: string }> {
  const [caCert] = certificatesFromPem(ca.cert);
  if (caCert === undefined) throw new Error("CA certificate: no PEM CERTIFICATE block");
  const keys = await newKeyPair();
  const cert = await issue({
    subject: name(names.commonName ?? "vaultmesh-webhook"),
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.key),
    authorityKeyId: await keyIdentifier(caCert.subjectPublicKeyInfo),
    validity,
    extensions: [
      extension(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: false })),
      extension(OID.keyUsage, true, keyUsage(0x80, 7)), // digitalSignature
      extension(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [OID.serverAuth] })),
      extension(OID.subjectAltName, false, altNames(names)),
    ],
  });
  return {
    cert: pemEncode("CERTIFICATE", certificateDer(cert)),
    key: await pkcs8Pem(keys.privateKey),
  };
}

/** The validity window `[now - CLOCK_SKEW_MS, now + durationMs]`. */
export function validityFrom(now: Date, durationMs: number): Validity {
  return {
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + durationMs),
  };
}

/** Generates a fresh P-256 CA and a serving certificate for the given SANs (local runs). */
export async function generateServingCertificate(
  opts: CertificateOptions = {},
): Promise<ServingCertificate> {
  const now = (opts.clock ?? ((): Date => new Date()))();
  const validity = validityFrom(now, (opts.days ?? 365) * 86_400_000);
  const ca = await issueCertificateAuthority(validity);
  const serving = await issueServingCertificate(ca, opts, validity);
  return { caCert: ca.cert, ...serving };
}

/** Writes a certificate into `dir` under {@link CERT_FILES} (the key readable by owner only). */
export async function writeCertificateFiles(dir: string, c: ServingCertificate): Promise<void> {
  await writeFile(join(dir, CERT_FILES.ca), c.caCert);
  await writeFile(join(dir, CERT_FILES.cert), c.cert);
  await writeFile(join(dir, CERT_FILES.key), c.key, { mode: 0o600 });
}
