// Where the HTTPS listener gets its certificate: a source says what to serve now (or why there
// is nothing yet) and tells the listener when that changes. Two sources:
//   DirectoryCertificates  files in a directory (a mounted Secret, generated files locally),
//                          reloaded when they change (below);
//   ManagedCertificates    a Secret the server keeps itself (managed-certificates.ts, ADR 0065).
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { CERT_FILES } from "./certs.ts";
import { silentLogger, type WebhookLogger } from "./deps.ts";

/** A certificate to serve, PEM. */
export interface ServedCertificate {
  readonly cert: string;
  readonly key: string;
  /** The CA bundle clients should trust (for caBundle injection), when known. */
  readonly caCert?: string | undefined;
}

/** The result of one load that found a changed certificate. */
export interface CertificateChange {
  readonly ok: boolean;
  readonly error?: string;
}

/** What the listener serves and how it learns of changes. */
export interface CertificateSource {
  /** The certificate to serve now, or the reason there is none yet ("certificate: …"). */
  current(): ServedCertificate | { readonly notReady: string };
  /** Registers a listener, called after every load that found a changed certificate. */
  onChange(listener: (change: CertificateChange) => void): void;
  /** Makes a first load attempt (resolves either way) and keeps the certificate current. */
  start(): Promise<void>;
  /** Loads again now; true when a new certificate is being served afterwards. */
  refresh(): Promise<boolean>;
  stop(): Promise<void>;
}

/** True when `c` is a certificate rather than a reason. */
export function isServed(
  c: ServedCertificate | { readonly notReady: string },
): c is ServedCertificate {
  return "cert" in c;
}

/** Throws when key and certificate do not form a usable pair (a half-written update). */
export function checkPair(c: ServedCertificate): void {
  createSecureContext({ cert: c.cert, key: c.key });
}

/** Options of {@link DirectoryCertificates}. */
export interface DirectoryCertificatesOptions {
  /** Directory holding tls.crt and tls.key (and ca.crt for injection). */
  readonly dir: string;
  /** Interval of the fallback poll for changes. @default 60000 */
  readonly pollMs?: number;
  readonly logger?: WebhookLogger;
}

/**
 * Certificate files in a directory, reloaded without a restart when they change: a Secret update
 * swaps the volume's ..data symlink, which the directory watch sees; a slow poll covers
 * filesystems without change events. A mismatched pair is rejected and the old one kept.
 */
export class DirectoryCertificates implements CertificateSource {
  private readonly opts: DirectoryCertificatesOptions;
  private readonly log: WebhookLogger;
  private readonly listeners: ((c: CertificateChange) => void)[] = [];
  private served: ServedCertificate | undefined;
  private notReady = "certificate: not loaded yet";
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;

  constructor(opts: DirectoryCertificatesOptions) {
    this.opts = opts;
    this.log = opts.logger ?? silentLogger;
  }

  current(): ServedCertificate | { readonly notReady: string } {
    return this.served ?? { notReady: this.notReady };
  }

  onChange(listener: (change: CertificateChange) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    await this.refresh();
    // Coalesces the burst of events one Secret update produces into one reload.
    const schedule = (): void => {
      if (this.pending) return;
      this.pending = setTimeout(() => {
        this.pending = undefined;
        void this.refresh();
      }, 50);
    };
    try {
      this.watcher = watch(this.opts.dir, { persistent: false }, schedule);
      this.watcher.on("error", (err) =>
        this.log.warn({ err: err.message }, "certificate watch failed; polling"),
      );
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        "cannot watch the certificate directory; polling",
      );
    }
    this.poll = setInterval(() => void this.refresh(), this.opts.pollMs ?? 60_000);
    this.poll.unref();
  }

  async refresh(): Promise<boolean> {
    let next: ServedCertificate;
    try {
      const read = (f: string): Promise<string> => readFile(join(this.opts.dir, f), "utf8");
      const [cert, key, caCert] = await Promise.all([
        read(CERT_FILES.cert),
        read(CERT_FILES.key),
        read(CERT_FILES.ca).catch(() => undefined),
      ]);
      next = { cert, key, caCert };
    } catch (err) {
      const message = (err as Error).message;
      if (this.served) {
        this.log.warn({ err: message }, "webhook certificate not readable; keeping the old one");
      } else {
        this.notReady = `certificate: cannot read ${this.opts.dir}: ${message}`;
      }
      return false;
    }
    const s = this.served;
    if (s && s.cert === next.cert && s.key === next.key && s.caCert === next.caCert) return false;
    try {
      // Throws on a half-written pair: keep serving the old one until the next change completes it.
      checkPair(next);
    } catch (err) {
      const error = (err as Error).message;
      this.log.warn({ err: error }, "new webhook certificate rejected; keeping the old one");
      if (!this.served)
        this.notReady = `certificate: ${this.opts.dir} holds no usable pair: ${error}`;
      this.emit({ ok: false, error });
      return false;
    }
    this.served = next;
    this.log.info({ dir: this.opts.dir }, "webhook certificate loaded");
    this.emit({ ok: true });
    return true;
  }

  stop(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    if (this.pending) clearTimeout(this.pending);
    this.watcher?.close();
    return Promise.resolve();
  }

  private emit(change: CertificateChange): void {
    for (const l of this.listeners) l(change);
  }
}
