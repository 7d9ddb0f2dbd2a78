// Builders for the objects the admission policies read: tenants, treaties, workloads, Jobs,
// pods and AdmissionReviews. Each takes the few fields a test varies and fills in the rest
// with valid values, so a test names only what it is about. The VaultMesh kinds are built by
// the fluent builders (objects.ts): these option-bag forms suit table tests.
import type { GPUWorkload, Receipt, Tenant, Treaty } from "../../crds/index.ts";
import { gpuWorkload, receipt, tenant, treaty } from "./objects.ts";

/** Options of {@link makeTenant}. */
export interface TenantOpts {
  plan?: Tenant["spec"]["plan"];
  ready?: boolean;
  suspended?: boolean;
  allowedRegions?: string[];
  allowedTreaties?: string[];
  quotas?: Tenant["spec"]["quotas"];
  labels?: Record<string, string>;
}

/** A Tenant, Ready unless told otherwise. */
export function makeTenant(name: string, o: TenantOpts = {}): Tenant {
  const b = tenant(name)
    .plan(o.plan ?? "pro")
    .suspended(o.suspended ?? false);
  if (o.labels) b.labels(o.labels);
  if (o.quotas) b.quotas(o.quotas);
  if (o.allowedRegions) b.allowedRegions(...o.allowedRegions);
  if (o.allowedTreaties) b.allowedTreaties(...o.allowedTreaties);
  return b.ready(o.ready !== false).obj();
}

/** Options of {@link makeTreaty}. */
export interface TreatyOpts {
  provider?: string;
  regions?: string[];
  pricing?: { gpuType: Treaty["spec"]["pricing"][number]["gpuType"]; usdPerHour: number }[];
  vaultLaw?: { policyRef?: string; governance: string; policyDigest?: string };
  expiryDate?: string;
  effectiveDate?: string;
  quotas?: Treaty["spec"]["quotas"];
  status?: Treaty["status"];
  endpoint?: string;
  labels?: Record<string, string>;
}

/** An in-cluster Treaty (or an external one when `provider` says so) serving a10g in `local`. */
export function makeTreaty(name: string, o: TreatyOpts = {}): Treaty {
  const b = treaty(name).provider(o.provider ?? "in-cluster");
  if (o.labels) b.labels(o.labels);
  if (o.regions) b.regions(...o.regions);
  if (o.pricing) b.pricing(...o.pricing);
  if (o.endpoint) b.endpoint(o.endpoint);
  if (o.vaultLaw) b.vaultLaw(o.vaultLaw);
  if (o.expiryDate) b.expiryDate(o.expiryDate);
  if (o.effectiveDate) b.effectiveDate(o.effectiveDate);
  if (o.quotas) b.quotas(o.quotas);
  if (o.status) b.status(o.status);
  return b.obj();
}

/** Options of {@link makeWorkload}. */
export interface WorkloadOpts {
  gpuType?: GPUWorkload["spec"]["gpu"]["type"];
  count?: number;
  regions?: string[];
  treatyRef?: string;
  allowedProviders?: string[];
  maxPricePerHour?: number;
  maxRuntimeSeconds?: number;
  uid?: string;
  finished?: boolean;
  labels?: Record<string, string>;
}

/** A GPUWorkload in `namespace` asking for one a10g (no runtime limit unless given). */
export function makeWorkload(name: string, namespace: string, o: WorkloadOpts = {}): GPUWorkload {
  const b = gpuWorkload(name, namespace)
    .gpu(o.gpuType ?? "a10g", o.count ?? 1)
    .maxRuntimeSeconds(o.maxRuntimeSeconds);
  if (o.uid) b.uid(o.uid);
  if (o.labels) b.labels(o.labels);
  if (o.treatyRef) b.treatyRef(o.treatyRef);
  if (o.allowedProviders) b.allowedProviders(...o.allowedProviders);
  if (o.regions) b.regions(...o.regions);
  if (o.maxPricePerHour !== undefined) b.maxPricePerHour(o.maxPricePerHour);
  if (o.finished) b.finished();
  return b.obj();
}

/** An owner reference to `obj` marked as its controller. */
export function controllerOf(
  kind: string,
  apiVersion: string,
  name: string,
  uid: string,
): { apiVersion: string; kind: string; name: string; uid: string; controller: true } {
  return { apiVersion, kind, name, uid, controller: true };
}

/** A Job owned (as controller) by a GPUWorkload, or by nothing. */
export function makeJob(
  name: string,
  namespace: string,
  uid: string,
  owner?: { name: string; uid: string },
): { metadata: { name: string; namespace: string; uid: string; ownerReferences?: object[] } } {
  return {
    metadata: {
      name,
      namespace,
      uid,
      ...(owner
        ? {
            ownerReferences: [
              controllerOf("GPUWorkload", "vaultmesh.cloud/v1alpha1", owner.name, owner.uid),
            ],
          }
        : {}),
    },
  };
}

/** Options of {@link makePod}. */
export interface PodOpts {
  gpus?: number;
  tolerateGpu?: boolean;
  job?: { name: string; uid: string };
  labels?: Record<string, string>;
}

/** A pod, optionally requesting GPUs, tolerating the GPU taint, controlled by a Job. */
export function makePod(name: string, namespace: string, o: PodOpts = {}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.job
        ? { ownerReferences: [controllerOf("Job", "batch/v1", o.job.name, o.job.uid)] }
        : {}),
    },
    spec: {
      restartPolicy: "Never",
      containers: [
        {
          name: "main",
          image: "registry.example/train:1",
          resources: o.gpus
            ? { limits: { "nvidia.com/gpu": String(o.gpus) } }
            : { requests: { cpu: "10m" } },
        },
      ],
      ...(o.tolerateGpu
        ? {
            tolerations: [
              { key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" },
            ],
          }
        : {}),
    },
  };
}

/** Options of {@link makeReview}. */
export interface ReviewOpts {
  kind: string;
  group?: string;
  version?: string;
  resource: string;
  operation?: "CREATE" | "UPDATE" | "DELETE";
  namespace?: string;
  name?: string;
  object?: unknown;
  oldObject?: unknown;
  username?: string;
  dryRun?: boolean;
  uid?: string;
}

/** An AdmissionReview v1 request as the apiserver sends it. */
export function makeReview(o: ReviewOpts): Record<string, unknown> {
  const group = o.group ?? "vaultmesh.cloud";
  const version = o.version ?? "v1alpha1";
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: o.uid ?? "00000000-0000-0000-0000-000000000001",
      kind: { group, version, kind: o.kind },
      resource: { group, version, resource: o.resource },
      requestKind: { group, version, kind: o.kind },
      requestResource: { group, version, resource: o.resource },
      name: o.name ?? (o.object as { metadata?: { name?: string } })?.metadata?.name,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      operation: o.operation ?? "CREATE",
      userInfo: { username: o.username ?? "alice@acme.example", groups: ["system:authenticated"] },
      object: o.object ?? null,
      oldObject: o.oldObject ?? null,
      dryRun: o.dryRun ?? false,
      options: null,
    },
  };
}

/**
 * A WorkloadCompleted Receipt whose digest is the ledger's digest of its type, subject and
 * payload (as the operator writes them); `payload` entries override the defaults.
 */
export function makeReceipt(
  name: string,
  namespace: string,
  payload: Record<string, string | number> = {},
): Receipt {
  return receipt(name, namespace).payload(payload).obj();
}
