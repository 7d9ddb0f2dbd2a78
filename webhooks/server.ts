// Listens: the admission app over HTTPS with the certificate in a directory (tls.crt, tls.key —
// a mounted Secret in a cluster, generated files locally), reloaded without a restart when the
// files change (a Secret update swaps the volume's ..data symlink, which the directory watch
// sees; a slow poll covers filesystems without change events).
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Server as HttpsServer } from "node:https";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import type { FastifyInstance } from "fastify";
import { buildServer } from "./app.ts";
import { CERT_FILES } from "./certs.ts";
import type { WebhookDeps, WebhookLogger } from "./deps.ts";

/** Options of {@link startWebhookServer}. */
export interface ServeOptions {
  readonly deps: WebhookDeps;
  /** Directory holding tls.crt and tls.key. */
  readonly certDir: string;
  /** @default 0.0.0.0 */
  readonly host?: string;
  /** 0 picks a free port. @default 9443 */
  readonly port?: number;
  /** @default DEFAULT_BODY_LIMIT */
  readonly bodyLimit?: number;
  /** Interval of the fallback poll for certificate changes. @default 60000 */
  readonly certPollMs?: number;
  /** Called after every reload attempt that found changed files. */
  readonly onCertificateReload?: (result: { ok: boolean; error?: string }) => void;
}

/** A listening admission server. */
export interface RunningWebhookServer {
  readonly app: FastifyInstance;
  readonly port: number;
  /** `https://<host>:<port>` (127.0.0.1 when listening on every interface). */
  readonly url: string;
  /** Re-reads the certificate files now; true when a new certificate was installed. */
  reloadCertificates(): Promise<boolean>;
  /** Stops listening and watching. */
  close(): Promise<void>;
}

interface Pair {
  key: string;
  cert: string;
}

async function readPair(dir: string): Promise<Pair> {
  const [cert, key] = await Promise.all([
    readFile(join(dir, CERT_FILES.cert), "utf8"),
    readFile(join(dir, CERT_FILES.key), "utf8"),
  ]);
  return { cert, key };
}

/** Builds the app with the certificate in `certDir` and listens. */
export async function startWebhookServer(opts: ServeOptions): Promise<RunningWebhookServer> {
  const log: WebhookLogger = opts.deps.logger ?? {
    info() {},
    warn() {},
    error() {},
    debug() {},
  };
  let current = await readPair(opts.certDir);
  const app = buildServer(opts.deps, {
    https: current,
    ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}),
  });
  const host = opts.host ?? "0.0.0.0";
  await app.listen({ host, port: opts.port ?? 9443 });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : (opts.port ?? 9443);

  const reload = async (): Promise<boolean> => {
    let next: Pair;
    try {
      next = await readPair(opts.certDir);
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        "webhook certificate not readable; keeping the old one",
      );
      return false;
    }
    if (next.cert === current.cert && next.key === current.key) return false;
    try {
      // Throws on a half-written pair (key and certificate that do not match): keep serving the
      // old one until the next change completes it.
      createSecureContext(next);
      (app.server as HttpsServer).setSecureContext(next);
      current = next;
      log.info({ dir: opts.certDir }, "webhook certificate reloaded");
      opts.onCertificateReload?.({ ok: true });
      return true;
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        "new webhook certificate rejected; keeping the old one",
      );
      opts.onCertificateReload?.({ ok: false, error: (err as Error).message });
      return false;
    }
  };

  // Coalesces the burst of events one Secret update produces into one reload.
  let pending: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      void reload();
    }, 50);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(opts.certDir, { persistent: false }, schedule);
    watcher.on("error", (err) =>
      log.warn({ err: err.message }, "certificate watch failed; polling"),
    );
  } catch (err) {
    log.warn({ err: (err as Error).message }, "cannot watch the certificate directory; polling");
  }
  const poll = setInterval(() => void reload(), opts.certPollMs ?? 60_000);
  poll.unref();

  return {
    app,
    port,
    url: `https://${host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host}:${port}`,
    reloadCertificates: reload,
    async close(): Promise<void> {
      clearInterval(poll);
      if (pending) clearTimeout(pending);
      watcher?.close();
      await app.close();
    },
  };
}
