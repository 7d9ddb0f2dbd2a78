/**
 * The Kubernetes side of a tenant: server-side apply (field manager `vaultmesh-operator`,
 * forced) of the objects services/tenant-stack/kube builds, with writes only when needed. The
 * informer cache answers "does it already match?" cheaply; when it says no, a GET confirms
 * against the API server (the cache may lag our own last write) before anything is written.
 * A deleted or edited child is therefore re-applied (drift corrected), and an unchanged tenant
 * costs no write.
 */
import {
  Resources,
  type KubeClient,
  type KubeObject,
  type ObjectCache,
  type ResourceType,
} from "../../../services/kube/index.ts";
import { needsApply } from "../../../services/tenant-stack/kube/compare.ts";
import type { WireObject } from "../../../services/tenant-stack/kube/wire.ts";

/** Resource types of the tenant's children, by kind. */
export const TenantChildTypes: Readonly<Record<string, ResourceType>> = {
  Namespace: Resources.Namespace,
  ServiceAccount: Resources.ServiceAccount,
  Role: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "Role",
    plural: "roles",
    namespaced: true,
  },
  RoleBinding: Resources.RoleBinding,
  ResourceQuota: Resources.ResourceQuota,
  LimitRange: {
    group: "",
    version: "v1",
    kind: "LimitRange",
    plural: "limitranges",
    namespaced: true,
  },
  NetworkPolicy: Resources.NetworkPolicy,
  Secret: Resources.Secret,
};

/** Write and read counters of the Kubernetes side (tests and benchmarks). */
export interface KubeCounters {
  applies: number;
  confirmReads: number;
}

/** Applies tenant children, reading from per-kind caches first. */
export class TenantApplier {
  readonly counters: KubeCounters = { applies: 0, confirmReads: 0 };
  readonly #client: KubeClient;
  readonly #caches: Readonly<Record<string, ObjectCache<KubeObject>>>;

  constructor(client: KubeClient, caches: Readonly<Record<string, ObjectCache<KubeObject>>>) {
    this.#client = client;
    this.#caches = caches;
  }

  #type(kind: string): ResourceType {
    const t = TenantChildTypes[kind];
    if (!t) throw new Error(`no resource type for kind ${kind}`);
    return t;
  }

  /** The live object from the cache, or undefined. */
  cached(kind: string, name: string, namespace?: string): KubeObject | undefined {
    return this.#caches[kind]?.get(name, namespace);
  }

  /** Applies `obj` unless it already holds; returns true when it wrote. */
  async ensure(obj: WireObject): Promise<boolean> {
    const type = this.#type(obj.kind);
    const { name, namespace } = obj.metadata;
    if (!needsApply(obj, this.cached(obj.kind, name, namespace))) return false;
    this.counters.confirmReads++;
    const live = await this.#client.get<KubeObject>(type, name, namespace);
    if (!needsApply(obj, live)) return false;
    this.counters.applies++;
    await this.#client.patch(type, { name, namespace }, obj, "apply", true);
    return true;
  }

  /** Applies several objects in order; returns how many were written. */
  async ensureAll(objs: readonly WireObject[]): Promise<number> {
    let n = 0;
    for (const o of objs) if (await this.ensure(o)) n++;
    return n;
  }
}
