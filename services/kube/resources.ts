/**
 * Resource types the client, informers and controllers address: group, version, plural and
 * scope are all the REST path needs, so there is no discovery round trip on any hot path.
 */
import { GROUP, VERSION } from "../../crds/constants.ts";

/** A Kubernetes resource type, enough to build its REST paths. */
export interface ResourceType {
  /** API group; "" for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Plural resource name, the URL path segment. */
  readonly plural: string;
  readonly namespaced: boolean;
}

/** The fields of ObjectMeta that the runtime reads; everything else passes through. */
export interface KubeObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  /** A string on the wire; typed clients may hand a Date. */
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  /** Read with {@link ownerReferencesOf}; typed loosely so that API types from zod fit. */
  [key: string]: unknown;
}

/** The ownerReferences of an object. */
export function ownerReferencesOf(obj: KubeObject): OwnerReference[] {
  const refs = obj.metadata?.ownerReferences;
  return Array.isArray(refs) ? (refs as OwnerReference[]) : [];
}

/** metav1.OwnerReference. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object as plain JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeObjectMeta;
  [key: string]: unknown;
}

/** The `apiVersion` string of a resource type. */
export function apiVersionOf(t: ResourceType): string {
  return t.group === "" ? t.version : `${t.group}/${t.version}`;
}

/** The REST path of a collection or an object (and optionally one of its subresources). */
export function resourcePath(
  t: ResourceType,
  opts: { namespace?: string | undefined; name?: string; subresource?: string } = {},
): string {
  const base = t.group === "" ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  const ns =
    t.namespaced && opts.namespace ? `/namespaces/${encodeURIComponent(opts.namespace)}` : "";
  let p = `${base}${ns}/${t.plural}`;
  if (opts.name !== undefined) p += `/${encodeURIComponent(opts.name)}`;
  if (opts.subresource !== undefined) p += `/${opts.subresource}`;
  return p;
}

/** `namespace/name` (or `name` for cluster-scoped objects): the key of caches and queues. */
export function objectKey(obj: KubeObject): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ""}` : (m.name ?? "");
}

/** Splits a key made by {@link objectKey} into namespace and name. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf("/");
  return i < 0
    ? { namespace: undefined, name: key }
    : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

const core = (kind: string, plural: string, namespaced = true): ResourceType => ({
  group: "",
  version: "v1",
  kind,
  plural,
  namespaced,
});
const vm = (kind: string, plural: string, namespaced: boolean): ResourceType => ({
  group: GROUP,
  version: VERSION,
  kind,
  plural,
  namespaced,
});

/** Built-in and VaultMesh resource types the operator and webhooks use. */
export const Resources = {
  Pod: core("Pod", "pods"),
  Node: core("Node", "nodes", false),
  Namespace: core("Namespace", "namespaces", false),
  Event: core("Event", "events"),
  Secret: core("Secret", "secrets"),
  ConfigMap: core("ConfigMap", "configmaps"),
  ResourceQuota: core("ResourceQuota", "resourcequotas"),
  ServiceAccount: core("ServiceAccount", "serviceaccounts"),
  Job: { group: "batch", version: "v1", kind: "Job", plural: "jobs", namespaced: true },
  Lease: {
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    plural: "leases",
    namespaced: true,
  },
  NetworkPolicy: {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    namespaced: true,
  },
  RoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "RoleBinding",
    plural: "rolebindings",
    namespaced: true,
  },
  Treaty: vm("Treaty", "treaties", false),
  Tenant: vm("Tenant", "tenants", false),
  GPUWorkload: vm("GPUWorkload", "gpuworkloads", true),
  Receipt: vm("Receipt", "receipts", true),
  FederationPeer: vm("FederationPeer", "federationpeers", false),
} as const satisfies Record<string, ResourceType>;
