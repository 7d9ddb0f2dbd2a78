// Listens: the admission app over HTTPS with the certificate of a CertificateSource — files in a
// directory (a mounted Secret, generated files locally) or a Secret the server manages itself
// (ADR 0065) — swapped without a restart when the source changes. Until the source has a
// certificate the listener presents a throwaway self-signed one, so /readyz can answer 503 with
// the reason instead of the probe failing on a closed port.
import { X509Certificate } from "node:crypto";
import type { Server as HttpsServer } from "node:https";
import type { FastifyInstance } from "fastify";
import { buildServer } from "./app.ts";
import {
  DirectoryCertificates,
  isServed,
  type CertificateChange,
  type CertificateSource,
  type ServedCertificate,
} from "./certificate-source.ts";
import { generateServingCertificate } from "./certs.ts";
import type { WebhookDeps } from "./deps.ts";

/** Options of {@link startWebhookServer}: `certificates`, or `certDir` for the files there. */
export interface ServeOptions {
  readonly deps: WebhookDeps;
  /** Where the certificate comes from; the server starts and stops it. */
  readonly certificates?: CertificateSource;
  /** Directory holding tls.crt and tls.key (a {@link DirectoryCertificates} source). */
  readonly certDir?: string;
  /** @default 0.0.0.0 */
  readonly host?: string;
  /** 0 picks a free port. @default 9443 */
  readonly port?: number;
  /** @default DEFAULT_BODY_LIMIT */
  readonly bodyLimit?: number;
  /** Interval of the fallback poll for certificate file changes (certDir). @default 60000 */
  readonly certPollMs?: number;
  /** Called after every load that found a changed certificate (not the first one). */
  readonly onCertificateReload?: (result: CertificateChange) => void;
  /** Further reasons /readyz reports as not ready (e.g. caBundle injection failing). */
  readonly readiness?: () => readonly string[];
}

/** A listening admission server. */
export interface RunningWebhookServer {
  readonly app: FastifyInstance;
  readonly port: number;
  /** `https://<host>:<port>` (127.0.0.1 when listening on every interface). */
  readonly url: string;
  /** Loads the certificate again now; true when a new certificate was installed. */
  reloadCertificates(): Promise<boolean>;
  /** The certificate being served, undefined while only the placeholder is. */
  servedCertificate(): ServedCertificate | undefined;
  /** Stops listening and the certificate source. */
  close(): Promise<void>;
}

// Self-signed for a name nobody dials: it only lets the listener answer /readyz with a reason.
async function placeholder(): Promise<ServedCertificate> {
  const c = await generateServingCertificate({ dnsNames: ["not-ready.invalid"], ipAddresses: [] });
  return { cert: c.cert, key: c.key };
}

/** Builds the app, listens, and serves the source's certificate as it changes. */
export async function startWebhookServer(opts: ServeOptions): Promise<RunningWebhookServer> {
  if (!opts.certificates && opts.certDir === undefined) {
    throw new Error("startWebhookServer: give certificates or certDir");
  }
  const source =
    opts.certificates ??
    new DirectoryCertificates({
      dir: opts.certDir ?? "",
      ...(opts.certPollMs ? { pollMs: opts.certPollMs } : {}),
      ...(opts.deps.logger ? { logger: opts.deps.logger } : {}),
    });
  await source.start();
  const first = source.current();
  const recordExpiry = (c: ServedCertificate | undefined): void => {
    const seconds = c ? new X509Certificate(c.cert).validToDate.getTime() / 1000 : 0;
    opts.deps.metrics?.certificateNotAfter.set(seconds);
  };
  let served: ServedCertificate | undefined = isServed(first) ? first : undefined;
  const app = buildServer(opts.deps, {
    https: served ?? (await placeholder()),
    ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}),
    // The source's verdict wins: a certificate it no longer vouches for (expired, never
    // renewed) is not ready even while the listener still presents it.
    readiness: () => {
      const now = source.current();
      const cert = isServed(now)
        ? served
          ? []
          : ["certificate: not installed yet"]
        : [now.notReady];
      return [...cert, ...(opts.readiness?.() ?? [])];
    },
  });
  const host = opts.host ?? "0.0.0.0";
  await app.listen({ host, port: opts.port ?? 9443 });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : (opts.port ?? 9443);

  // Installs what the source holds now; true when it differs from what was served.
  const install = (): boolean => {
    const now = source.current();
    if (!isServed(now) || (served && served.cert === now.cert && served.key === now.key)) {
      if (isServed(now)) served = now; // a new CA bundle alone: nothing to swap
      return false;
    }
    (app.server as HttpsServer).setSecureContext({ cert: now.cert, key: now.key });
    served = now;
    recordExpiry(served);
    return true;
  };
  source.onChange((change) => {
    if (change.ok) install();
    opts.onCertificateReload?.(change);
  });
  recordExpiry(served);
  install(); // a change between start() and onChange()

  return {
    app,
    port,
    url: `https://${host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host}:${port}`,
    async reloadCertificates(): Promise<boolean> {
      return await source.refresh();
    },
    servedCertificate: () => served,
    async close(): Promise<void> {
      await source.stop();
      await app.close();
    },
  };
}
