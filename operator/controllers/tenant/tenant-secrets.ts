/**
 * The tenant's Secrets in its namespace: the API key (`vaultmesh-api-key`) and the Redis
 * credentials (`vaultmesh-redis`). Each is created once from freshly generated values and then
 * only read: the Secret is the source of truth for the plaintext, the database and Redis hold
 * hashes. Creation is create-only (AlreadyExists → read the winner's), so two operator replicas
 * can never hand out two different keys. Values never reach logs, status or Events.
 */
import {
  isAlreadyExists,
  Resources,
  type KubeClient,
  type KubeObject,
  type ObjectCache,
} from "../../../services/kube/index.ts";
import { tenantLabels } from "../../../services/tenant-stack/kube/names.ts";

/** A Secret's decoded string data. */
export type SecretData = Readonly<Record<string, string>>;

function decode(s: KubeObject | undefined): SecretData | undefined {
  const data = s?.data as Record<string, string> | undefined;
  if (!s || !data) return undefined;
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

/** Where to find and how to create one tenant Secret. */
export interface SecretSpec {
  readonly tenant: string;
  readonly namespace: string;
  readonly name: string;
  /** Keys that must be present for the Secret to count as valid. */
  readonly requiredKeys: readonly string[];
  readonly generate: () => Record<string, string>;
}

/** Reads or creates tenant Secrets. */
export class TenantSecrets {
  /** Secrets created since construction. */
  created = 0;
  readonly #client: KubeClient;
  readonly #cache: ObjectCache<KubeObject>;

  constructor(client: KubeClient, cache: ObjectCache<KubeObject>) {
    this.#client = client;
    this.#cache = cache;
  }

  /** Returns the Secret's data, creating the Secret when it does not exist. */
  async ensure(spec: SecretSpec): Promise<SecretData> {
    const valid = (d: SecretData | undefined): d is SecretData =>
      d !== undefined && spec.requiredKeys.every((k) => (d[k] ?? "") !== "");
    const cached = decode(this.#cache.get(spec.name, spec.namespace));
    if (valid(cached)) return cached;
    const live = decode(await this.#client.get(Resources.Secret, spec.name, spec.namespace));
    if (valid(live)) return live;
    if (live !== undefined) {
      throw new Error(
        `Secret ${spec.namespace}/${spec.name} lacks ${spec.requiredKeys.join(", ")}; delete it to have a new one generated`,
      );
    }
    const values = spec.generate();
    try {
      this.created++;
      await this.#client.create(Resources.Secret, {
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        metadata: { name: spec.name, namespace: spec.namespace, labels: tenantLabels(spec.tenant) },
        data: Object.fromEntries(
          Object.entries(values).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]),
        ),
      });
      return values;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const winner = decode(await this.#client.get(Resources.Secret, spec.name, spec.namespace));
      if (valid(winner)) return winner;
      throw err;
    }
  }
}
