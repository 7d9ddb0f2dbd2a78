// Pure decisions of managed certificates (ADR 0065): which DNS names the serving certificate
// needs, and whether what a Secret holds can be served as it is, needs a new serving
// certificate from the same CA, or a new CA as well. No I/O: node:crypto only parses.
import { X509Certificate, createPrivateKey } from "node:crypto";

/** Keys of the managed Secret: a kubernetes.io/tls Secret plus the CA and its key. */
export const SECRET_KEYS = {
  cert: "tls.crt",
  key: "tls.key",
  caCert: "ca.crt",
  caKey: "ca.key",
} as const;

/** What a managed Secret holds, decoded (PEM strings; absent keys undefined). */
export interface CertificateMaterial {
  readonly caCert?: string | undefined;
  readonly caKey?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** How long certificates live and how early they are replaced. */
export interface RotationPolicy {
  /** Lifetime of a new CA. @default 10 years */
  readonly caValidityMs: number;
  /** A CA is replaced when less than this is left. @default 1 year */
  readonly caRenewBeforeMs: number;
  /** Lifetime of a new serving certificate (capped by the CA's). @default 1 year */
  readonly servingValidityMs: number;
  /** A serving certificate is replaced when less than this is left. @default 90 days */
  readonly servingRenewBeforeMs: number;
}

const DAY_MS = 86_400_000;

/** The default {@link RotationPolicy}. */
export const DEFAULT_ROTATION: RotationPolicy = {
  caValidityMs: 3650 * DAY_MS,
  caRenewBeforeMs: 365 * DAY_MS,
  servingValidityMs: 365 * DAY_MS,
  servingRenewBeforeMs: 90 * DAY_MS,
};

/** Why a Secret's certificate cannot be served as it is. */
export const CERTIFICATE_REASONS = {
  Missing: "Missing",
  Unparsable: "Unparsable",
  NotACa: "NotACa",
  CaKeyMismatch: "CaKeyMismatch",
  CaNotYetValid: "CaNotYetValid",
  CaExpiring: "CaExpiring",
  KeyMismatch: "KeyMismatch",
  NotIssuedByCa: "NotIssuedByCa",
  WrongNames: "WrongNames",
  NotYetValid: "NotYetValid",
  Expiring: "Expiring",
} as const;

/** One of {@link CERTIFICATE_REASONS}. */
export type CertificateReason = (typeof CERTIFICATE_REASONS)[keyof typeof CERTIFICATE_REASONS];

/** The verdict on a Secret's certificate. */
export type CertificateVerdict =
  /** Serve it; look again at `renewAt`. */
  | { readonly action: "use"; readonly renewAt: Date }
  /** The CA is fine: issue a new serving certificate from it. */
  | {
      readonly action: "renew-serving";
      readonly reason: CertificateReason;
      readonly message: string;
    }
  /** Issue a new CA (keeping a still-valid old one in ca.crt) and a serving certificate. */
  | { readonly action: "renew-ca"; readonly reason: CertificateReason; readonly message: string };

/**
 * The DNS names the apiserver may use for a Service-backed webhook: it dials
 * `<service>.<namespace>.svc`; the fully qualified name is for clients that resolve it.
 */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** Splits a PEM bundle into its CERTIFICATE blocks. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? [];
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** The names of `want` that `cert` does not cover (exact DNS SANs; the CN is never used). */
export function missingDnsNames(cert: X509Certificate, want: readonly string[]): string[] {
  return want.filter((n) => cert.checkHost(n, { subject: "never", wildcards: false }) !== n);
}

type Verdict<A extends string> = {
  readonly action: A;
  readonly reason: CertificateReason;
  readonly message: string;
};
const renewCa = (reason: CertificateReason, message: string): Verdict<"renew-ca"> => ({
  action: "renew-ca",
  reason,
  message,
});
const renewServing = (reason: CertificateReason, message: string): Verdict<"renew-serving"> => ({
  action: "renew-serving",
  reason,
  message,
});

/** Checks the signing CA (the first certificate of ca.crt); undefined when it can sign. */
function checkCa(
  m: CertificateMaterial,
  now: Date,
  policy: RotationPolicy,
): Verdict<"renew-ca"> | { ca: X509Certificate } {
  if (!m.caCert || !m.caKey) return renewCa("Missing", "ca.crt or ca.key is missing");
  const ca = parse(splitPemCertificates(m.caCert)[0] ?? "");
  if (!ca) return renewCa("Unparsable", "ca.crt holds no parsable certificate");
  if (!ca.ca) return renewCa("NotACa", "the first certificate of ca.crt is not a CA");
  if (!keyMatches(ca, m.caKey)) return renewCa("CaKeyMismatch", "ca.key does not match ca.crt");
  if (ca.validFromDate > now) {
    return renewCa("CaNotYetValid", `the CA is valid from ${ca.validFromDate.toISOString()}`);
  }
  if (ca.validToDate.getTime() - now.getTime() < policy.caRenewBeforeMs) {
    return renewCa("CaExpiring", `the CA expires at ${ca.validToDate.toISOString()}`);
  }
  return { ca };
}

/**
 * Decides what to do with the certificate material of the managed Secret (undefined when the
 * Secret does not exist) for a server answering as `dnsNames` at `now`.
 */
export function assessCertificate(
  m: CertificateMaterial | undefined,
  dnsNames: readonly string[],
  now: Date,
  policy: RotationPolicy = DEFAULT_ROTATION,
): CertificateVerdict {
  if (m === undefined) return renewCa("Missing", "the Secret does not exist");
  const caCheck = checkCa(m, now, policy);
  if ("action" in caCheck) return caCheck;
  const { ca } = caCheck;
  if (!m.cert || !m.key) return renewServing("Missing", "tls.crt or tls.key is missing");
  const cert = parse(m.cert);
  if (!cert) return renewServing("Unparsable", "tls.crt holds no parsable certificate");
  if (!keyMatches(cert, m.key))
    return renewServing("KeyMismatch", "tls.key does not match tls.crt");
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    return renewServing("NotIssuedByCa", "tls.crt is not signed by the CA in ca.crt");
  }
  const missing = missingDnsNames(cert, dnsNames);
  if (missing.length > 0) {
    return renewServing("WrongNames", `tls.crt does not cover ${missing.join(", ")}`);
  }
  if (cert.validFromDate > now) {
    return renewServing("NotYetValid", `tls.crt is valid from ${cert.validFromDate.toISOString()}`);
  }
  const servingDue = cert.validToDate.getTime() - policy.servingRenewBeforeMs;
  if (servingDue <= now.getTime()) {
    return renewServing("Expiring", `tls.crt expires at ${cert.validToDate.toISOString()}`);
  }
  const caDue = ca.validToDate.getTime() - policy.caRenewBeforeMs;
  return { action: "use", renewAt: new Date(Math.min(servingDue, caDue)) };
}

/**
 * ca.crt after a CA rotation: the new CA first (it signs), then the previous signing CA while it
 * is still valid, so replicas still serving the old certificate stay trusted meanwhile.
 */
export function caBundleAfterRotation(
  newCa: string,
  previous: string | undefined,
  now: Date,
): string {
  const old = parse(splitPemCertificates(previous ?? "")[0] ?? "");
  const keep = old !== undefined && old.ca && old.validToDate > now;
  return keep ? `${newCa.trimEnd()}\n${old.toString().trimEnd()}\n` : newCa;
}

/** Milliseconds until `at`, clamped to what setTimeout accepts (about 24.8 days) and ≥ 0. */
export function delayUntil(at: Date, now: Date): number {
  return Math.max(0, Math.min(at.getTime() - now.getTime(), 2 ** 31 - 1));
}
