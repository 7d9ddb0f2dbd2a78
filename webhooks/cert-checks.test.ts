// The managed-certificate decisions (ADR 0065): what a Secret's contents lead to, with real
// certificates issued at fixed times, plus the SAN and CA-bundle helpers.
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "@jest/globals";
import {
  DEFAULT_ROTATION,
  assessCertificate,
  caBundleAfterRotation,
  delayUntil,
  missingDnsNames,
  serviceDnsNames,
  splitPemCertificates,
  type CertificateMaterial,
  type CertificateVerdict,
} from "./cert-checks.ts";
import {
  CLOCK_SKEW_MS,
  ipAddressBytes,
  issueCertificateAuthority,
  issueServingCertificate,
  validityFrom,
  type CertificateAuthority,
} from "./certs.ts";

const DAY = 86_400_000;
const NOW = new Date("2030-01-01T00:00:00Z");
const at = (days: number): Date => new Date(NOW.getTime() + days * DAY);
const NAMES = serviceDnsNames("vaultmesh-webhook", "vaultmesh-system");

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let m: Record<string, CertificateMaterial>;

async function serving(
  by: CertificateAuthority,
  dnsNames: readonly string[],
  from: Date,
  days: number,
): Promise<{ cert: string; key: string }> {
  return await issueServingCertificate(
    by,
    { dnsNames, ipAddresses: [] },
    validityFrom(from, days * DAY),
  );
}

beforeAll(async () => {
  ca = await issueCertificateAuthority(validityFrom(NOW, 3650 * DAY));
  otherCa = await issueCertificateAuthority(validityFrom(NOW, 3650 * DAY));
  const expiringCa = await issueCertificateAuthority(validityFrom(NOW, 200 * DAY));
  const futureCa = await issueCertificateAuthority(validityFrom(at(10), 3650 * DAY));
  const good = await serving(ca, NAMES, NOW, 365);
  const fromCa = (c: { cert: string; key: string }): CertificateMaterial => ({
    caCert: ca.cert,
    caKey: ca.key,
    ...c,
  });
  // A CA due for renewal (500 days left, renewed at 365) before its serving certificate is.
  const caSoon = await issueCertificateAuthority(validityFrom(NOW, 500 * DAY));
  m = {
    good: fromCa(good),
    goodWithBundle: { ...fromCa(good), caCert: `${ca.cert}${otherCa.cert}` },
    noCaKey: { ...fromCa(good), caKey: undefined },
    garbageCa: { ...fromCa(good), caCert: "not a certificate" },
    servingAsCa: { ...fromCa(good), caCert: good.cert, caKey: good.key },
    caKeyMismatch: { ...fromCa(good), caKey: otherCa.key },
    caExpiring: {
      caCert: expiringCa.cert,
      caKey: expiringCa.key,
      ...(await serving(expiringCa, NAMES, NOW, 100)),
    },
    caNotYetValid: {
      caCert: futureCa.cert,
      caKey: futureCa.key,
      ...(await serving(futureCa, NAMES, at(10), 365)),
    },
    noKey: { ...fromCa(good), key: undefined },
    keyMismatch: { ...fromCa(good), key: ca.key },
    otherIssuer: fromCa(await serving(otherCa, NAMES, NOW, 365)),
    wrongService: fromCa(await serving(ca, serviceDnsNames("other", "vaultmesh-system"), NOW, 365)),
    shortNameOnly: fromCa(await serving(ca, [NAMES[0]!], NOW, 365)),
    expiring: fromCa(await serving(ca, NAMES, NOW, 60)),
    notYetValid: fromCa(await serving(ca, NAMES, at(2), 365)),
    caDueFirst: {
      caCert: caSoon.cert,
      caKey: caSoon.key,
      ...(await serving(caSoon, NAMES, NOW, 480)),
    },
  };
});

describe("assessCertificate", () => {
  const servingDue = (days: number): Date =>
    new Date(at(days).getTime() - DEFAULT_ROTATION.servingRenewBeforeMs);
  it.each<[string, string | undefined, Partial<CertificateVerdict> & { action: string }]>([
    ["no Secret", undefined, { action: "renew-ca", reason: "Missing" }],
    ["ca.key missing", "noCaKey", { action: "renew-ca", reason: "Missing" }],
    ["ca.crt unparsable", "garbageCa", { action: "renew-ca", reason: "Unparsable" }],
    ["ca.crt not a CA", "servingAsCa", { action: "renew-ca", reason: "NotACa" }],
    ["ca.key of another CA", "caKeyMismatch", { action: "renew-ca", reason: "CaKeyMismatch" }],
    ["CA within a year of expiry", "caExpiring", { action: "renew-ca", reason: "CaExpiring" }],
    ["CA not yet valid", "caNotYetValid", { action: "renew-ca", reason: "CaNotYetValid" }],
    ["tls.key missing", "noKey", { action: "renew-serving", reason: "Missing" }],
    [
      "tls.key of another certificate",
      "keyMismatch",
      { action: "renew-serving", reason: "KeyMismatch" },
    ],
    ["signed by another CA", "otherIssuer", { action: "renew-serving", reason: "NotIssuedByCa" }],
    ["for another Service", "wrongService", { action: "renew-serving", reason: "WrongNames" }],
    [
      "without the cluster.local name",
      "shortNameOnly",
      { action: "renew-serving", reason: "WrongNames" },
    ],
    ["within 90 days of expiry", "expiring", { action: "renew-serving", reason: "Expiring" }],
    ["not yet valid", "notYetValid", { action: "renew-serving", reason: "NotYetValid" }],
    ["valid", "good", { action: "use", renewAt: servingDue(365) }],
    [
      "valid, old CA still in the bundle",
      "goodWithBundle",
      { action: "use", renewAt: servingDue(365) },
    ],
    [
      "valid, the CA due first",
      "caDueFirst",
      { action: "use", renewAt: new Date(at(500).getTime() - DEFAULT_ROTATION.caRenewBeforeMs) },
    ],
  ])("%s", (_name, key, want) => {
    const got = assessCertificate(key === undefined ? undefined : m[key], NAMES, NOW);
    expect(got).toMatchObject(want);
  });

  it("names the DNS names a certificate lacks", () => {
    const got = assessCertificate(m.shortNameOnly, NAMES, NOW);
    expect(got).toMatchObject({
      message: "tls.crt does not cover vaultmesh-webhook.vaultmesh-system.svc.cluster.local",
    });
  });

  it("turns a valid certificate into Expiring once the clock reaches renewAt", () => {
    const first = assessCertificate(m.good, NAMES, NOW);
    if (first.action !== "use") throw new Error(`want use, got ${first.action}`);
    expect(assessCertificate(m.good, NAMES, new Date(first.renewAt.getTime() - 1)).action).toBe(
      "use",
    );
    expect(assessCertificate(m.good, NAMES, first.renewAt)).toMatchObject({
      action: "renew-serving",
      reason: "Expiring",
    });
  });
});

describe("serviceDnsNames and missingDnsNames", () => {
  it("are the names the apiserver dials, short and fully qualified", () => {
    expect(serviceDnsNames("hook", "ns")).toEqual(["hook.ns.svc", "hook.ns.svc.cluster.local"]);
  });
  it.each([
    ["every name present", NAMES, []],
    ["one missing", [...NAMES, "hook.elsewhere.svc"], ["hook.elsewhere.svc"]],
    [
      "a prefix is not a match",
      ["vaultmesh-webhook.vaultmesh-system"],
      ["vaultmesh-webhook.vaultmesh-system"],
    ],
  ])("%s", (_name, want, wantMissing) => {
    expect(missingDnsNames(new X509Certificate(m.good!.cert!), want)).toEqual(wantMissing);
  });
});

describe("caBundleAfterRotation", () => {
  it("keeps the previous CA after the new one while it is valid", () => {
    const bundle = caBundleAfterRotation(otherCa.cert, ca.cert, NOW);
    const certs = splitPemCertificates(bundle).map((p) => new X509Certificate(p).fingerprint256);
    expect(certs).toEqual([
      new X509Certificate(otherCa.cert).fingerprint256,
      new X509Certificate(ca.cert).fingerprint256,
    ]);
  });
  it.each([
    ["no previous CA", undefined],
    ["an unparsable one", "garbage"],
  ])("is the new CA alone with %s", (_name, previous) => {
    expect(caBundleAfterRotation(otherCa.cert, previous, NOW)).toBe(otherCa.cert);
  });
  it("drops an expired previous CA", () => {
    expect(caBundleAfterRotation(otherCa.cert, ca.cert, at(3651))).toBe(otherCa.cert);
  });
});

describe("delayUntil", () => {
  it.each([
    ["in the past", -5_000, 0],
    ["in a minute", 60_000, 60_000],
    ["beyond setTimeout's range", 90 * DAY, 2 ** 31 - 1],
  ])("%s", (_name, offset, want) => {
    expect(delayUntil(new Date(NOW.getTime() + offset), NOW)).toBe(want);
  });
});

describe("issued certificates", () => {
  it("backdate notBefore by the clock skew allowance", () => {
    const x = new X509Certificate(m.good!.cert!);
    expect(x.validFromDate.getTime()).toBe(NOW.getTime() - CLOCK_SKEW_MS);
    expect(x.validToDate.getTime()).toBe(at(365).getTime());
  });
  it.each([
    ["127.0.0.1", [127, 0, 0, 1]],
    ["::1", [...Array<number>(15).fill(0), 1]],
    ["fe80::1:2", [0xfe, 0x80, ...Array<number>(10).fill(0), 0, 1, 0, 2]],
  ])("IP SAN bytes of %s", (ip, want) => {
    expect([...ipAddressBytes(ip)]).toEqual(want);
  });
  it("refuses an IP SAN that is not an address, naming it", () => {
    expect(() => ipAddressBytes("example.com")).toThrow(
      'IP SAN "example.com": expected an IPv4 or IPv6 address',
    );
  });
});
