// Keeps the CA in the caBundle of both webhook configurations, whatever the order of apply
// (ADR 0065): each configuration is watched by name, so one created, re-created or reset after
// the server started (an Argo CD sync or a helm upgrade re-applying it with an empty caBundle)
// gets the CA again within a watch event. Idempotent: a configuration whose every entry already
// trusts our CA is not written, so replicas never ping-pong writes.
import { Informer, type KubeClient } from "../services/kube/index.ts";
import { splitPemCertificates } from "./cert-checks.ts";
import { silentLogger, type WebhookLogger } from "./deps.ts";
import type { WebhookConfiguration } from "./manifests.ts";
import { WebhookConfigurationResources, injectCaBundle } from "./registration.ts";

/** A configuration to keep injected. */
export interface InjectionTarget {
  readonly kind: WebhookConfiguration["kind"];
  readonly name: string;
}

/** Options of {@link CaBundleInjector}. */
export interface CaBundleInjectorOptions {
  readonly client: KubeClient;
  /** The CA bundle to inject (PEM), undefined while there is none yet. */
  readonly caBundle: () => string | undefined;
  /** The configurations to keep the CA in (the installation's two, from its settings). */
  readonly targets: readonly InjectionTarget[];
  readonly logger?: WebhookLogger;
  /** First retry delay after a failed write; doubles up to maxBackoffMs. @default 200 */
  readonly minBackoffMs?: number;
  /** @default 10000 */
  readonly maxBackoffMs?: number;
}

const pemBody = (pem: string): string => pem.replace(/\s+/g, "");

/**
 * True when every entry of `config` trusts the CA that signs our certificate (the first of
 * `caPem`): nothing to write then. "Trusts", not "equals": during a CA rotation a replica still
 * holding the old bundle must not overwrite the newer bundle (which keeps the old CA) that
 * another replica wrote, so writes only ever move towards the newest CA.
 */
export function caBundleInjected(
  config: Pick<WebhookConfiguration, "webhooks"> | undefined,
  caPem: string,
): boolean {
  const signing = pemBody(splitPemCertificates(caPem)[0] ?? caPem);
  return (config?.webhooks ?? []).every((w) => {
    const b64 = w.clientConfig.caBundle;
    if (!b64) return false;
    const have = splitPemCertificates(Buffer.from(b64, "base64").toString("utf8"));
    return have.some((c) => pemBody(c) === signing);
  });
}

/** Watches the configurations and writes the CA into them whenever it is missing or stale. */
export class CaBundleInjector {
  private readonly o: CaBundleInjectorOptions;
  private readonly log: WebhookLogger;
  private readonly watched: { target: InjectionTarget; informer: Informer<WebhookConfiguration> }[];
  private lastError: string | undefined;
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** Configuration writes made (for tests and logs). */
  writes = 0;

  constructor(opts: CaBundleInjectorOptions) {
    this.o = opts;
    this.log = opts.logger ?? silentLogger;
    this.backoffMs = opts.minBackoffMs ?? 200;
    this.watched = opts.targets.map((target) => {
      const informer = new Informer<WebhookConfiguration>(
        opts.client,
        WebhookConfigurationResources[target.kind],
        {
          fieldSelector: `metadata.name=${target.name}`,
          intern: false,
          ...(opts.logger ? { logger: opts.logger } : {}),
        },
      );
      informer.on(() => void this.sync());
      return { target, informer };
    });
  }

  /** Why the last injection failed ("caBundle: …"), undefined after a success. */
  notReady(): string | undefined {
    return this.lastError;
  }

  /** Starts watching and injects once. */
  async start(): Promise<void> {
    this.stopped = false;
    for (const { informer } of this.watched) {
      informer.start().catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, "webhook configuration watch failed");
      });
    }
    await this.sync();
  }

  /** Injects now (call when the CA changed); resolves when done or failed. */
  async sync(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return await this.running;
    }
    this.running = (async (): Promise<void> => {
      do {
        this.again = false;
        await this.syncOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all(this.watched.map((w) => w.informer.stop()));
    await this.running;
  }

  private async syncOnce(): Promise<void> {
    const pem = this.o.caBundle();
    if (pem === undefined) return;
    const failures: string[] = [];
    for (const { target, informer } of this.watched) {
      // The watch cache answers "nothing to do" without a request; when it has not synced
      // (no list permission yet, apiserver away) injectCaBundle reads the object itself.
      if (informer.hasSynced()) {
        const cached = informer.get(target.name);
        if (cached === undefined || caBundleInjected(cached, pem)) continue;
      }
      try {
        const updated = await injectCaBundle(
          this.o.client,
          [{ kind: target.kind, metadata: { name: target.name, labels: {} } }],
          pem,
          (current) => caBundleInjected(current, pem),
        );
        if (updated.length > 0) {
          this.writes += updated.length;
          this.log.info({ configuration: target.name }, "caBundle injected");
        }
      } catch (err) {
        failures.push(`${target.name}: ${(err as Error).message}`);
      }
    }
    if (failures.length === 0) {
      this.lastError = undefined;
      this.backoffMs = this.o.minBackoffMs ?? 200;
      return;
    }
    this.lastError = `caBundle: ${failures.join("; ")}`;
    this.log.warn({ err: this.lastError, retryInMs: this.backoffMs }, "caBundle injection failed");
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sync(), this.backoffMs);
    this.timer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs ?? 10_000);
  }
}
