/**
 * Provider clients for external treaties: the endpoint from the Treaty, the bearer token from
 * the Secret its `credentialsSecretRef` names. The token is read through the API (no cluster-wide
 * Secret informer: the operator should hold as few Secrets in memory as it can), kept only inside
 * the ProviderClient (a private field: never in a message, a log line, status or an Event), and
 * re-read when the treaty changes or after `ttlMs`, so a rotated token is picked up.
 */
import type { Treaty } from "../../../crds/index.ts";
import type { KubeClient } from "../../../services/kube/index.ts";
import { lookupCredentials } from "../../../services/provider-client/credentials.ts";
import {
  ProviderClient,
  type ProviderClientOptions,
} from "../../../services/provider-client/provider-client.ts";

/** Gives the provider client of an external treaty. */
export interface ProviderConnector {
  /** The client for `treaty`; throws (naming the Secret, never its value) when credentials are missing. */
  clientFor(treaty: Treaty): Promise<ProviderClient>;
}

/** Options of the Secret-backed connector. */
export interface SecretProviderConnectorOptions {
  readonly client: KubeClient;
  /** Namespace of a `credentialsSecretRef` without one: the operator's own. */
  readonly defaultNamespace: string;
  readonly clock: { now(): Date };
  /** Re-read the Secret this often. @default 60000 */
  readonly ttlMs?: number;
  /** Client settings (timeouts, retries) beyond endpoint and token. */
  readonly clientOptions?: Omit<ProviderClientOptions, "endpoint" | "token">;
}

/** Reads credentials from the treaty's Secret and caches one client per treaty version. */
export class SecretProviderConnector implements ProviderConnector {
  private readonly o: SecretProviderConnectorOptions;
  private readonly cache = new Map<string, { rv: string; at: number; client: ProviderClient }>();

  constructor(options: SecretProviderConnectorOptions) {
    this.o = options;
  }

  /** The client for `treaty`. */
  async clientFor(treaty: Treaty): Promise<ProviderClient> {
    const name = treaty.metadata.name ?? "";
    const endpoint = treaty.spec.endpoint;
    if (!endpoint) throw new Error(`treaty ${name} has no spec.endpoint`);
    const rv = treaty.metadata.resourceVersion ?? "";
    const now = this.o.clock.now().getTime();
    const hit = this.cache.get(name);
    if (hit && hit.rv === rv && now - hit.at < (this.o.ttlMs ?? 60000)) return hit.client;
    const token = await this.token(treaty);
    const client = new ProviderClient({ ...this.o.clientOptions, endpoint, token });
    this.cache.set(name, { rv, at: now, client });
    return client;
  }

  private async token(treaty: Treaty): Promise<string | undefined> {
    const ref = treaty.spec.credentialsSecretRef;
    if (!ref) return undefined;
    const found = await lookupCredentials(this.o.client, ref, this.o.defaultNamespace);
    const where = `spec.credentialsSecretRef: Secret ${found.namespace}/${found.name} key ${found.key}`;
    if (found.found !== "ok") {
      const why =
        found.found === "no-secret" ? "the Secret does not exist" : "the Secret has no such key";
      throw new Error(`${where}: ${why}`);
    }
    return Buffer.from(found.raw, "base64").toString("utf8").trim();
  }
}
