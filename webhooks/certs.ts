// Serving certificates for local runs (make dev, tests, the bench): a throwaway CA and a
// certificate with IP and DNS SANs, made with the openssl CLI. In a cluster the certificate
// comes from a mounted Secret instead (tls.crt, tls.key, ca.crt — the same file names).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A CA and a serving certificate signed by it, all PEM. */
export interface ServingCertificate {
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
}

/** Options of {@link generateServingCertificate}. */
export interface CertificateOptions {
  /** IP SANs. @default ["127.0.0.1"] */
  readonly ipAddresses?: readonly string[];
  /** DNS SANs. @default ["localhost"] */
  readonly dnsNames?: readonly string[];
  /** Validity in days. @default 365 */
  readonly days?: number;
  /** Subject CN (informational; verifiers use the SANs). @default vaultmesh-webhook */
  readonly commonName?: string;
}

/** The file names the server reads, as in a kubernetes.io/tls Secret plus ca.crt. */
export const CERT_FILES = { cert: "tls.crt", key: "tls.key", ca: "ca.crt" } as const;

/**
 * Generates a P-256 CA and a serving certificate for the given SANs. P-256 keeps the TLS
 * handshake cheap, which matters when the apiserver opens new connections under load.
 */
export async function generateServingCertificate(
  opts: CertificateOptions = {},
): Promise<ServingCertificate> {
  const dir = await mkdtemp(join(tmpdir(), "vaultmesh-webhook-cert-"));
  const p = (f: string): string => join(dir, f);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const days = String(opts.days ?? 365);
  const sans = [
    ...(opts.ipAddresses ?? ["127.0.0.1"]).map((ip) => `IP:${ip}`),
    ...(opts.dnsNames ?? ["localhost"]).map((d) => `DNS:${d}`),
  ];
  try {
    await run("openssl", [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      p("ca.key"),
      "-out",
      p("ca.crt"),
      "-days",
      days,
      "-subj",
      "/CN=vaultmesh-webhook-ca",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await run("openssl", [
      "req",
      ...ec,
      "-keyout",
      p("tls.key"),
      "-out",
      p("tls.csr"),
      "-subj",
      `/CN=${opts.commonName ?? "vaultmesh-webhook"}`,
    ]);
    await writeFile(
      p("ext.cnf"),
      [
        `subjectAltName=${sans.join(",")}`,
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        "",
      ].join("\n"),
    );
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      p("tls.csr"),
      "-CA",
      p("ca.crt"),
      "-CAkey",
      p("ca.key"),
      "-set_serial",
      `0x${randomBytes(16).toString("hex")}`,
      "-days",
      days,
      "-extfile",
      p("ext.cnf"),
      "-out",
      p("tls.crt"),
    ]);
    const [caCert, cert, key] = await Promise.all(
      ["ca.crt", "tls.crt", "tls.key"].map((f) => readFile(p(f), "utf8")),
    );
    return { caCert: caCert ?? "", cert: cert ?? "", key: key ?? "" };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes a certificate into `dir` under {@link CERT_FILES} (the key readable by owner only). */
export async function writeCertificateFiles(dir: string, c: ServingCertificate): Promise<void> {
  await writeFile(join(dir, CERT_FILES.ca), c.caCert);
  await writeFile(join(dir, CERT_FILES.cert), c.cert);
  await writeFile(join(dir, CERT_FILES.key), c.key, { mode: 0o600 });
}
