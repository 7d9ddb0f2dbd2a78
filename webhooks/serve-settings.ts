// The certificate flags of `webhooks/main.ts serve`, checked in one place (ADR 0065):
//   --certificates=managed (default)  the server keeps the Secret --tls-secret itself, for the
//                                      Service --service-name in $POD_NAMESPACE;
//   --certificates=mounted            the files in --cert-dir (a Secret volume, e.g. cert-manager).
// --inject-ca-bundle writes the CA into both webhook configurations (--validating-configuration,
// --mutating-configuration) and keeps it there.
// A wrong combination is one error naming the flag.

/** Where the serving certificate comes from. */
export const CERTIFICATE_MODES = ["managed", "mounted"] as const;

/** One of {@link CERTIFICATE_MODES}. */
export type CertificateMode = (typeof CERTIFICATE_MODES)[number];

/** Defaults of the serve flags. */
export const SERVE_DEFAULTS = {
  certificates: "managed",
  tlsSecret: "vaultmesh-webhook-tls",
  serviceName: "vaultmesh-webhook",
  certDir: "/etc/vaultmesh/webhook-tls",
  port: 9443,
  validatingConfiguration: "vaultmesh-validating",
  mutatingConfiguration: "vaultmesh-mutating",
} as const;

/** The flags as parsed (undefined when not given). */
export interface ServeFlags {
  readonly certificates?: string | undefined;
  readonly "tls-secret"?: string | undefined;
  readonly "service-name"?: string | undefined;
  readonly "cert-dir"?: string | undefined;
  readonly "inject-ca-bundle"?: boolean | undefined;
  readonly "validating-configuration"?: string | undefined;
  readonly "mutating-configuration"?: string | undefined;
  readonly port?: string | undefined;
}

/** The resolved certificate settings of `serve`. */
export type ServeSettings = {
  readonly port: number;
  readonly injectCaBundle: boolean;
  /** The configurations the CA is injected into (when injectCaBundle). */
  readonly configurations: { readonly validating: string; readonly mutating: string };
} & (
  | {
      readonly mode: "managed";
      readonly namespace: string;
      readonly tlsSecret: string;
      readonly serviceName: string;
    }
  | { readonly mode: "mounted"; readonly certDir: string }
);

/** A bad flag or environment variable; the message names it. */
export class ServeFlagError extends Error {
  override readonly name = "ServeFlagError";
}

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkName(what: string, value: string, pattern: RegExp, max: number, kind: string): void {
  if (value.length > max || !pattern.test(value)) {
    throw new ServeFlagError(
      `${what}=${JSON.stringify(value)}: expected ${kind} (lower-case letters, digits and '-', at most ${max} characters)`,
    );
  }
}

function isCertificateMode(s: string): s is CertificateMode {
  return (CERTIFICATE_MODES as readonly string[]).includes(s);
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return SERVE_DEFAULTS.port;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new ServeFlagError(`--port=${JSON.stringify(raw)}: expected an integer from 0 to 65535`);
  }
  return port;
}

function configurationNames(flags: ServeFlags): ServeSettings["configurations"] {
  for (const flag of ["validating-configuration", "mutating-configuration"] as const) {
    const value = flags[flag];
    if (value === undefined) continue;
    if (!flags["inject-ca-bundle"]) {
      throw new ServeFlagError(`--${flag} applies with --inject-ca-bundle only`);
    }
    checkName(`--${flag}`, value, DNS_SUBDOMAIN, 253, "a webhook configuration name");
  }
  return {
    validating: flags["validating-configuration"] ?? SERVE_DEFAULTS.validatingConfiguration,
    mutating: flags["mutating-configuration"] ?? SERVE_DEFAULTS.mutatingConfiguration,
  };
}

/** Resolves the serve flags and environment (POD_NAMESPACE) into settings, or throws one error. */
export function resolveServeSettings(
  flags: ServeFlags,
  env: Readonly<Record<string, string | undefined>>,
): ServeSettings {
  const mode = flags.certificates ?? SERVE_DEFAULTS.certificates;
  if (!isCertificateMode(mode)) {
    throw new ServeFlagError(
      `--certificates=${JSON.stringify(mode)}: expected ${CERTIFICATE_MODES.join(" or ")}`,
    );
  }
  const common = {
    port: parsePort(flags.port),
    injectCaBundle: flags["inject-ca-bundle"] ?? false,
    configurations: configurationNames(flags),
  };
  if (mode === "mounted") {
    for (const flag of ["tls-secret", "service-name"] as const) {
      if (flags[flag] !== undefined) {
        throw new ServeFlagError(
          `--${flag} applies to --certificates=managed only (the server was started with --certificates=mounted, which reads --cert-dir)`,
        );
      }
    }
    return { ...common, mode, certDir: flags["cert-dir"] ?? SERVE_DEFAULTS.certDir };
  }
  if (flags["cert-dir"] !== undefined) {
    throw new ServeFlagError(
      "--cert-dir applies to --certificates=mounted only (with --certificates=managed the certificate is kept in the Secret --tls-secret and served from memory)",
    );
  }
  const tlsSecret = flags["tls-secret"] ?? SERVE_DEFAULTS.tlsSecret;
  const serviceName = flags["service-name"] ?? SERVE_DEFAULTS.serviceName;
  checkName("--tls-secret", tlsSecret, DNS_SUBDOMAIN, 253, "a Secret name");
  checkName("--service-name", serviceName, DNS_1035_LABEL, 63, "a Service name");
  const namespace = env.POD_NAMESPACE ?? "";
  if (namespace === "") {
    throw new ServeFlagError(
      "POD_NAMESPACE is not set: --certificates=managed needs the namespace of the Service and the Secret (set it from the downward API: fieldRef metadata.namespace)",
    );
  }
  checkName("POD_NAMESPACE", namespace, DNS_1123_LABEL, 63, "a namespace name");
  return { ...common, mode, namespace, tlsSecret, serviceName };
}
