// AdmissionLookups over services/kube informers: tenants, treaties and GPUWorkloads cached
// cluster-wide; the operator's Jobs (by their workload-uid label) and vault-law ConfigMaps (by
// their label) too. A cache miss on the GPU pod guard's owner chain or a vault-law module falls
// back to a live GET: a Job the operator created a moment ago must not be refused because the
// watch event is still on its way.
import type { GPUWorkload, Tenant, Treaty } from "../crds/index.ts";
import {
  Informer,
  Resources,
  type KubeClient,
  type KubeObject,
  type Logger,
} from "../services/kube/index.ts";
import { VAULT_LAW_CONFIGMAP_LABEL } from "../services/vault-law/policy-ref.ts";
import type { AdmissionLookups, JobLike, NodeLike } from "./deps.ts";

/** Label the operator puts on every Job it creates for a GPUWorkload. */
export const JOB_WORKLOAD_UID_LABEL = "vaultmesh.cloud/workload-uid";

const BY_NAMESPACE = "namespace";
const byNamespace = (o: KubeObject): string[] => [o.metadata?.namespace ?? ""];

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** Informer-backed lookups; {@link KubeLookups.start} resolves once every cache has synced. */
export class KubeLookups implements AdmissionLookups {
  private readonly client: KubeClient;
  private readonly tenants: Informer<KubeObject>;
  private readonly treaties: Informer<KubeObject>;
  private readonly workloads: Informer<KubeObject>;
  private readonly jobs: Informer<KubeObject>;
  private readonly configMaps: Informer<ConfigMap>;
  private readonly nodes: Informer<KubeObject>;
  // Decoded modules per cached ConfigMap object: a new object (a new resourceVersion) decodes
  // afresh, an unchanged one hands out the same bytes, which the evaluator hashes only once.
  private readonly decoded = new WeakMap<ConfigMap, Map<string, Uint8Array>>();
  private readonly all: readonly {
    start(): Promise<void>;
    stop(): Promise<void>;
    hasSynced(): boolean;
  }[];

  private constructor(client: KubeClient, logger?: Logger) {
    this.client = client;
    const opts = logger ? { logger } : {};
    this.tenants = new Informer(client, Resources.Tenant, opts);
    this.treaties = new Informer(client, Resources.Treaty, opts);
    this.workloads = new Informer(client, Resources.GPUWorkload, {
      ...opts,
      indexers: { [BY_NAMESPACE]: byNamespace },
    });
    this.jobs = new Informer(client, Resources.Job, {
      ...opts,
      labelSelector: JOB_WORKLOAD_UID_LABEL,
    });
    this.configMaps = new Informer(client, Resources.ConfigMap, {
      ...opts,
      labelSelector: VAULT_LAW_CONFIGMAP_LABEL,
    });
    // Labels are all the Treaty policy reads of a Node: drop the status, which changes with
    // every heartbeat-driven update and is most of a Node's size.
    this.nodes = new Informer(client, Resources.Node, {
      ...opts,
      transform: (n) => ({ metadata: { name: n.metadata?.name, labels: n.metadata?.labels } }),
    });
    this.all = [
      this.tenants,
      this.treaties,
      this.workloads,
      this.jobs,
      this.configMaps,
      this.nodes,
    ];
  }

  /** Starts every informer and waits for the first list of each. */
  static async start(client: KubeClient, logger?: Logger): Promise<KubeLookups> {
    const l = new KubeLookups(client, logger);
    await Promise.all(l.all.map((i) => i.start()));
    return l;
  }

  /**
   * Starts the informers without waiting for their first lists: the server listens at once and
   * /readyz reports "caches not synced" until they are (a missing CRD or permission shows there
   * instead of a closed port).
   */
  static begin(client: KubeClient, logger?: Logger): KubeLookups {
    const l = new KubeLookups(client, logger);
    for (const i of l.all) void i.start();
    return l;
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
  }

  ready(): boolean {
    return this.all.every((i) => i.hasSynced());
  }

  getTenant(name: string): Tenant | undefined {
    return this.tenants.get(name) as Tenant | undefined;
  }

  listTreaties(): Treaty[] {
    return this.treaties.list() as unknown as Treaty[];
  }

  listWorkloads(namespace: string): GPUWorkload[] {
    return this.workloads.byIndex(BY_NAMESPACE, namespace) as unknown as GPUWorkload[];
  }

  listNodes(): NodeLike[] {
    return this.nodes.list();
  }

  async getWorkload(namespace: string, name: string): Promise<GPUWorkload | undefined> {
    const cached = this.workloads.get(name, namespace);
    if (cached) return cached as GPUWorkload;
    const live: KubeObject | undefined = await this.client.get(
      Resources.GPUWorkload,
      name,
      namespace,
    );
    return live as GPUWorkload | undefined;
  }

  async getJob(namespace: string, name: string): Promise<JobLike | undefined> {
    const cached = this.jobs.get(name, namespace);
    if (cached) return cached;
    return await this.client.get(Resources.Job, name, namespace);
  }

  getPolicyModule = async (ref: {
    namespace: string;
    name: string;
    key: string;
  }): Promise<Uint8Array | undefined> => {
    const cached = this.configMaps.get(ref.name, ref.namespace);
    const cm =
      cached ?? (await this.client.get<ConfigMap>(Resources.ConfigMap, ref.name, ref.namespace));
    const b64 = cm?.binaryData?.[ref.key];
    if (cm === undefined || b64 === undefined) return undefined;
    let byKey = this.decoded.get(cm);
    if (byKey === undefined) this.decoded.set(cm, (byKey = new Map<string, Uint8Array>()));
    let bytes = byKey.get(ref.key);
    if (bytes === undefined)
      byKey.set(ref.key, (bytes = new Uint8Array(Buffer.from(b64, "base64"))));
    return bytes;
  };
}
