// Builders for the objects the admission policies read: tenants, treaties, workloads, Jobs,
// pods and AdmissionReviews. Each takes the few fields a test varies and fills in the rest
// with valid values, so a test names only what it is about.
import type { GPUWorkload, Receipt, Tenant, Treaty } from "../../crds/index.ts";
import { receiptDigest } from "../../services/ledger/receipt.ts";

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
  const plan = o.plan ?? "pro";
  return {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "Tenant",
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      plan,
      ...(plan === "free" ? {} : { billing: { email: `billing@${name}.example` } }),
      ...(o.quotas ? { quotas: o.quotas } : {}),
      ...(o.allowedRegions ? { allowedRegions: o.allowedRegions } : {}),
      ...(o.allowedTreaties ? { allowedTreaties: o.allowedTreaties } : {}),
      suspended: o.suspended ?? false,
    },
    status: {
      conditions: [
        {
          type: "Ready",
          status: o.ready === false ? "False" : "True",
          reason: o.ready === false ? "Provisioning" : "Provisioned",
          message: "",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
    },
  };
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
  const provider = o.provider ?? "in-cluster";
  const inCluster = provider === "in-cluster";
  return {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "Treaty",
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      provider,
      regions: o.regions ?? ["local"],
      pricing: o.pricing ?? [{ gpuType: "a10g", usdPerHour: 0.6 }],
      reputationFloor: 0,
      suspended: false,
      ...(inCluster
        ? {
            inCluster: {
              nodeSelector: { role: "gpu" },
              gpuTypeLabel: "gpu-type",
              gpuResourceName: "nvidia.com/gpu",
              taint: { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" as const },
            },
          }
        : {}),
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...(o.vaultLaw ? { vaultLaw: o.vaultLaw } : {}),
      ...(o.expiryDate ? { expiryDate: o.expiryDate } : {}),
      ...(o.effectiveDate ? { effectiveDate: o.effectiveDate } : {}),
      ...(o.quotas ? { quotas: o.quotas } : {}),
    },
    ...(o.status ? { status: o.status } : {}),
  };
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

/** A GPUWorkload in `namespace` asking for one a10g. */
export function makeWorkload(name: string, namespace: string, o: WorkloadOpts = {}): GPUWorkload {
  return {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "GPUWorkload",
    metadata: {
      name,
      namespace,
      ...(o.uid ? { uid: o.uid } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
    },
    spec: {
      gpu: { type: o.gpuType ?? "a10g", count: o.count ?? 1 },
      template: { image: "registry.example/train:1" },
      routing: {
        strategy: "balanced",
        ...(o.treatyRef ? { treatyRef: { name: o.treatyRef } } : {}),
        ...(o.allowedProviders ? { allowedProviders: o.allowedProviders } : {}),
      },
      profile: "batch",
      ...(o.regions ? { regions: o.regions } : {}),
      ...(o.maxPricePerHour !== undefined ? { maxPricePerHour: o.maxPricePerHour } : {}),
      ...(o.maxRuntimeSeconds !== undefined ? { maxRuntimeSeconds: o.maxRuntimeSeconds } : {}),
    },
    ...(o.finished
      ? {
          status: {
            conditions: [
              {
                type: "Complete",
                status: "True" as const,
                reason: "Succeeded",
                message: "",
                lastTransitionTime: "2026-01-01T00:00:00Z",
              },
            ],
          },
        }
      : {}),
  };
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
 * payload (as the operator writes them); `payload` entries override the defaults. The
 * signature is a placeholder: admission does not verify signatures.
 */
export function makeReceipt(
  name: string,
  namespace: string,
  payload: Record<string, string | number> = {},
): Receipt {
  const subject = {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "GPUWorkload",
    namespace,
    name: "train",
    uid: "3f6c2a0e-5b7d-4c1e-9a8f-2d4b6e8c0a13",
  };
  const p = { outcome: "Succeeded", gpuSeconds: 900, cost: 0.15, treaty: "pool", ...payload };
  const type = "WorkloadCompleted" as const;
  return {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "Receipt",
    metadata: { name, namespace },
    spec: {
      type,
      subject,
      payload: p,
      digest: receiptDigest({ type, subject, payload: p }),
      signatures: [
        { keyId: "sha256:850cf75bb9c2d6ea", algorithm: "Ed25519", value: "c2lnbmF0dXJl" },
      ],
      issuedAt: "2026-06-01T00:00:00Z",
    },
  };
}
