// Managed webhook certificates (ADR 0065): the server keeps its own CA and serving certificate
// in one Secret shared by every replica, and serves it from memory.
//   - At start, on every change of the Secret (a watch) and when rotation is due: read it; if it
//     is missing, broken, for other names or near expiry, issue a new one and write it with
//     optimistic concurrency (create, or replace at the read resourceVersion). Replicas racing
//     each other converge on one certificate: the loser's write fails (AlreadyExists, Conflict),
//     it reads again and serves the winner's.
//   - A failure (RBAC, apiserver down) is retried with capped backoff and reported by current()
//     for /readyz; it never ends the process.
//   - The Secret is owned by the webhook Service (ownerReference), so deleting the release's
//     Service (helm uninstall, Argo CD prune) garbage-collects it.
import { X509Certificate } from "node:crypto";
import {
  Informer,
  Resources,
  isAlreadyExists,
  isConflict,
  type KubeClient,
  type KubeObject,
  ownerReferencesOf,
  type OwnerReference,
  type ResourceType,
} from "../services/kube/index.ts";
import {
  DEFAULT_ROTATION,
  SECRET_KEYS,
  assessCertificate,
  caBundleAfterRotation,
  delayUntil,
  serviceDnsNames,
  type CertificateMaterial,
  type CertificateVerdict,
  type RotationPolicy,
} from "./cert-checks.ts";
import type {
  CertificateChange,
  CertificateSource,
  ServedCertificate,
} from "./certificate-source.ts";
import {
  issueCertificateAuthority,
  issueServingCertificate,
  validityFrom,
  type CertificateAuthority,
} from "./certs.ts";
import { silentLogger, type WebhookLogger } from "./deps.ts";

/** A Secret as this module reads and writes it. */
export interface SecretObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** Options of {@link ManagedCertificates}. */
export interface ManagedCertificatesOptions {
  readonly client: KubeClient;
  /** Namespace of the Secret and the Service. */
  readonly namespace: string;
  readonly secretName: string;
  /** The Service the apiserver calls; its DNS names go into the certificate, it owns the Secret. */
  readonly serviceName: string;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  readonly logger?: WebhookLogger;
  /** @default DEFAULT_ROTATION */
  readonly policy?: RotationPolicy;
  /** First retry delay after a failure; doubles up to maxBackoffMs. @default 500 */
  readonly minBackoffMs?: number;
  /** @default 30000 */
  readonly maxBackoffMs?: number;
  /**
   * How long start() waits for the first attempt before the listener starts with a placeholder
   * (an unreachable apiserver must not keep /readyz from answering). @default 5000
   */
  readonly firstAttemptMs?: number;
}

/** Labels on a Secret this module creates. */
export const MANAGED_SECRET_LABELS = {
  "app.kubernetes.io/name": "vaultmesh",
  "app.kubernetes.io/component": "webhook",
  "app.kubernetes.io/managed-by": "vaultmesh-webhook",
} as const;

const ServiceResource: ResourceType = {
  group: "",
  version: "v1",
  kind: "Service",
  plural: "services",
  namespaced: true,
};
const MANAGED_BY = MANAGED_SECRET_LABELS["app.kubernetes.io/managed-by"];
const MAX_WRITE_ATTEMPTS = 5;

interface Loaded extends ServedCertificate {
  readonly caCert: string;
  readonly renewAt: Date;
  readonly notAfter: Date;
}

/** Decodes the Secret's data (base64) into PEM strings. */
export function secretMaterial(secret: SecretObject | undefined): CertificateMaterial | undefined {
  if (secret === undefined) return undefined;
  const d = secret.data ?? {};
  const text = (k: string): string | undefined =>
    d[k] === undefined ? undefined : Buffer.from(d[k], "base64").toString("utf8");
  return {
    cert: text(SECRET_KEYS.cert),
    key: text(SECRET_KEYS.key),
    caCert: text(SECRET_KEYS.caCert),
    caKey: text(SECRET_KEYS.caKey),
  };
}

function secretData(m: Required<CertificateMaterial>): Record<string, string> {
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  return {
    [SECRET_KEYS.cert]: b64(m.cert),
    [SECRET_KEYS.key]: b64(m.key),
    [SECRET_KEYS.caCert]: b64(m.caCert),
    [SECRET_KEYS.caKey]: b64(m.caKey),
  };
}

/** A {@link CertificateSource} that keeps the certificate in a Secret through the API. */
export class ManagedCertificates implements CertificateSource {
  private readonly o: ManagedCertificatesOptions;
  private readonly clock: () => Date;
  private readonly log: WebhookLogger;
  private readonly dnsNames: readonly string[];
  private readonly informer: Informer<SecretObject>;
  private readonly listeners: ((c: CertificateChange) => void)[] = [];
  private loaded: Loaded | undefined;
  private lastError: string | undefined;
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private again = false;
  private stopped = false;

  constructor(opts: ManagedCertificatesOptions) {
    this.o = opts;
    this.clock = opts.clock ?? ((): Date => new Date());
    this.log = opts.logger ?? silentLogger;
    this.dnsNames = serviceDnsNames(opts.serviceName, opts.namespace);
    this.backoffMs = opts.minBackoffMs ?? 500;
    // One object: a field selector keeps the watch (and the RBAC it needs) to the Secret's name.
    this.informer = new Informer<SecretObject>(opts.client, Resources.Secret, {
      namespace: opts.namespace,
      fieldSelector: `metadata.name=${opts.secretName}`,
      intern: false,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    this.informer.on(() => void this.sync());
  }

  /** The Secret's `namespace/name`. */
  get secretRef(): string {
    return `${this.o.namespace}/${this.o.secretName}`;
  }

  current(): ServedCertificate | { readonly notReady: string } {
    const l = this.loaded;
    if (l && l.notAfter > this.clock()) return { cert: l.cert, key: l.key, caCert: l.caCert };
    if (l) return { notReady: `certificate: expired at ${l.notAfter.toISOString()}` };
    return { notReady: this.lastError ?? `certificate: secret ${this.secretRef} not read yet` };
  }

  onChange(listener: (change: CertificateChange) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    // Not awaited: without list/watch permission the informer retries on its own while the
    // GET-based sync below still serves a certificate.
    this.informer.start().catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, "secret watch failed to start");
    });
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.o.firstAttemptMs ?? 5000);
    });
    // Whichever ends first; a slower attempt still installs its certificate through onChange.
    await Promise.race([this.sync(), waited]);
    clearTimeout(timer);
  }

  /** Reads the Secret again now (and rotates when due); true when the certificate changed. */
  async refresh(): Promise<boolean> {
    return await this.sync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.informer.stop();
    await this.running?.catch(() => undefined);
  }

  // Single flight: events during a sync make it run once more instead of overlapping.
  private sync(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async (): Promise<boolean> => {
      let changed = false;
      do {
        this.again = false;
        changed = (await this.syncOnce()) || changed;
      } while (this.again && !this.stopped);
      return changed;
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async syncOnce(): Promise<boolean> {
    try {
      const next = await this.ensure();
      this.lastError = undefined;
      this.backoffMs = this.o.minBackoffMs ?? 500;
      const prev = this.loaded;
      this.loaded = next;
      this.schedule(delayUntil(next.renewAt, this.clock()));
      if (prev && prev.cert === next.cert && prev.key === next.key && prev.caCert === next.caCert) {
        return false;
      }
      this.log.info(
        { secret: this.secretRef, renewAt: next.renewAt.toISOString() },
        "serving the managed webhook certificate",
      );
      this.emit({ ok: true });
      return true;
    } catch (err) {
      const message = (err as Error).message;
      this.lastError = `certificate: secret ${this.secretRef}: ${message}`;
      this.log.warn(
        { secret: this.secretRef, err: message, retryInMs: this.backoffMs },
        "managed webhook certificate not available; retrying",
      );
      this.schedule(this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs ?? 30_000);
      return false;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sync(), delayMs);
    this.timer.unref();
  }

  // Reads the Secret until it holds a certificate for our names, writing one when it does not.
  private async ensure(): Promise<Loaded> {
    const { client, namespace, secretName } = this.o;
    const policy = this.o.policy ?? DEFAULT_ROTATION;
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const secret = await client.get<SecretObject>(Resources.Secret, secretName, namespace);
      const material = secretMaterial(secret);
      const now = this.clock();
      const verdict = assessCertificate(material, this.dnsNames, now, policy);
      if (verdict.action === "use") {
        await this.adopt(secret);
        // "use" means every key is present.
        return this.loadedFrom(material as Required<CertificateMaterial>, verdict.renewAt);
      }
      this.log.info(
        { secret: this.secretRef, reason: verdict.reason, detail: verdict.message },
        "issuing a webhook certificate",
      );
      const next = await this.issue(verdict, material, now, policy);
      try {
        await this.write(secret, next);
      } catch (err) {
        // Another replica wrote first: read again and serve its certificate.
        if (isAlreadyExists(err) || isConflict(err)) continue;
        throw err;
      }
      const written = assessCertificate(next, this.dnsNames, now, policy);
      if (written.action !== "use") {
        throw new Error(`issued certificate rejected (${written.reason}: ${written.message})`);
      }
      return this.loadedFrom(next, written.renewAt);
    }
    throw new Error(`gave up after ${MAX_WRITE_ATTEMPTS} conflicting writes`);
  }

  private loadedFrom(m: Required<CertificateMaterial>, renewAt: Date): Loaded {
    const notAfter = new X509Certificate(m.cert).validToDate;
    return { cert: m.cert, key: m.key, caCert: m.caCert, renewAt, notAfter };
  }

  private async issue(
    verdict: Exclude<CertificateVerdict, { action: "use" }>,
    old: CertificateMaterial | undefined,
    now: Date,
    policy: RotationPolicy,
  ): Promise<Required<CertificateMaterial>> {
    let ca: CertificateAuthority;
    let caBundle: string;
    if (verdict.action === "renew-serving" && old?.caCert && old.caKey) {
      ca = { cert: old.caCert, key: old.caKey };
      caBundle = old.caCert;
    } else {
      ca = await issueCertificateAuthority(validityFrom(now, policy.caValidityMs));
      caBundle = caBundleAfterRotation(ca.cert, old?.caCert, now);
    }
    const caNotAfter = new X509Certificate(ca.cert).validToDate;
    const validity = validityFrom(now, policy.servingValidityMs);
    const serving = await issueServingCertificate(
      ca,
      { dnsNames: this.dnsNames, ipAddresses: [], commonName: this.dnsNames[0] ?? "" },
      // A serving certificate never outlives its CA.
      {
        ...validity,
        notAfter: new Date(Math.min(validity.notAfter.getTime(), caNotAfter.getTime())),
      },
    );
    return { caCert: caBundle, caKey: ca.key, cert: serving.cert, key: serving.key };
  }

  private async write(
    secret: SecretObject | undefined,
    m: Required<CertificateMaterial>,
  ): Promise<void> {
    const { client, namespace, secretName } = this.o;
    if (secret === undefined) {
      const ownerReferences = await this.serviceOwner();
      await client.create<SecretObject>(Resources.Secret, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: secretName,
          namespace,
          labels: { ...MANAGED_SECRET_LABELS },
          ...(ownerReferences ? { ownerReferences } : {}),
        },
        type: "kubernetes.io/tls",
        data: secretData(m),
      });
      return;
    }
    // resourceVersion from the read makes this conditional: a concurrent writer gets a 409.
    // Other keys and metadata (a Secret someone else created) are kept.
    await client.replace<SecretObject>(Resources.Secret, {
      ...secret,
      data: { ...secret.data, ...secretData(m) },
    });
  }

  // The Service as the Secret's owner, so the Secret goes with the release. Undefined when the
  // Service does not exist (yet) or cannot be read: the Secret is then left unowned.
  private async serviceOwner(): Promise<OwnerReference[] | undefined> {
    try {
      const svc = await this.o.client.get(ServiceResource, this.o.serviceName, this.o.namespace);
      const uid = svc?.metadata?.uid;
      if (!uid) return undefined;
      return [{ apiVersion: "v1", kind: "Service", name: this.o.serviceName, uid }];
    } catch (err) {
      this.log.warn(
        { service: this.o.serviceName, err: (err as Error).message },
        "cannot read the webhook Service; the certificate Secret stays unowned",
      );
      return undefined;
    }
  }

  // A Secret this module created before the Service existed gets its owner once; a Secret
  // created by someone else is never given one (no write otherwise).
  private async adopt(secret: SecretObject | undefined): Promise<void> {
    if (!secret || ownerReferencesOf(secret).length > 0) return;
    if (secret.metadata?.labels?.["app.kubernetes.io/managed-by"] !== MANAGED_BY) return;
    const ownerReferences = await this.serviceOwner();
    if (!ownerReferences) return;
    try {
      await this.o.client.replace<SecretObject>(Resources.Secret, {
        ...secret,
        metadata: { ...secret.metadata, ownerReferences },
      });
    } catch (err) {
      if (!isConflict(err)) throw err; // someone else wrote it: the watch brings us back
    }
  }

  private emit(change: CertificateChange): void {
    for (const l of this.listeners) l(change);
  }
}
