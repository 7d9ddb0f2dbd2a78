// The GPU pod guard: in a tenant namespace, a Pod that requests a GPU or tolerates the GPU
// taint must be a pod of a Job that a GPUWorkload owns, and may not ask for more GPUs than that
// workload was admitted with. Anything else would use GPUs past the tenant's quota and billing.

/** Extended resources that count GPUs. */
export const DEFAULT_GPU_RESOURCES: readonly string[] = ["nvidia.com/gpu"];
/** Taint keys of the GPU node pool. */
export const DEFAULT_GPU_TAINT_KEYS: readonly string[] = ["nvidia.com/gpu"];

/** An owner reference as the policy reads it. */
export interface OwnerRef {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly controller?: boolean;
}

/** The parts of an object's metadata the guard reads. */
export interface OwnedMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly ownerReferences?: readonly OwnerRef[];
}

/** A container as the guards read it. */
export interface Container {
  readonly name?: string;
  readonly resources?: {
    readonly limits?: Record<string, unknown>;
    readonly requests?: Record<string, unknown>;
  };
}

/** The parts of a Pod the guard reads. */
export interface PodLike {
  readonly metadata?: OwnedMeta;
  readonly spec?: {
    readonly containers?: readonly Container[];
    readonly initContainers?: readonly Container[];
    readonly tolerations?: readonly { readonly key?: string; readonly operator?: string }[];
  };
}

/** The GPU-relevant facts of a pod spec. */
export interface PodGpuUse {
  /** GPUs the pod requests (the larger of its containers' sum and its largest init container). */
  readonly gpus: number;
  /** Whether a toleration lets the pod onto GPU-tainted nodes. */
  readonly toleratesGpuTaint: boolean;
}

/** What the guard decides on: the pod and the owner chain the adapter resolved from the cache. */
export interface GpuPodGuardInput {
  readonly pod: PodLike;
  readonly gpuResources?: readonly string[];
  readonly gpuTaintKeys?: readonly string[];
  /** The Job named by the pod's controller reference, when it exists. */
  readonly job?: { readonly metadata?: OwnedMeta } | undefined;
  /** The GPUWorkload named by that Job's controller reference, when it exists. */
  readonly workload?:
    | {
        readonly metadata?: OwnedMeta;
        readonly spec?: { readonly gpu?: { readonly count?: number } };
      }
    | undefined;
}

/** The verdict of the guard: a denial reason, or undefined when the pod is allowed. */
export interface GpuPodVerdict {
  readonly denied?: { readonly field: string; readonly message: string };
}

/** The owner reference marked controller, or undefined. */
export function controllerRef(meta: OwnedMeta | undefined): OwnerRef | undefined {
  return meta?.ownerReferences?.find((r) => r.controller === true);
}

/**
 * The GPUs one resource quantity asks for. GPU quantities are integers (extended resources
 * allow no fractions); a malformed value still counts as one, so it cannot slip through as zero.
 */
export function gpuQuantity(v: unknown): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === "number" ? v : typeof v === "string" ? Number.parseInt(v, 10) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : 1;
}

function containerGpus(c: Container, resources: readonly string[]): number {
  let n = 0;
  for (const r of resources) {
    n += Math.max(gpuQuantity(c.resources?.limits?.[r]), gpuQuantity(c.resources?.requests?.[r]));
  }
  return n;
}

/** Whether a toleration tolerates the GPU taint: its key, or a key-less `Exists` (every taint). */
export function toleratesGpuTaint(
  t: { readonly key?: string | undefined; readonly operator?: string | undefined },
  taintKeys: readonly string[] = DEFAULT_GPU_TAINT_KEYS,
): boolean {
  return t.key === undefined || t.key === "" ? t.operator === "Exists" : taintKeys.includes(t.key);
}

/** How many GPUs a pod requests and whether it tolerates the GPU taint. */
export function podGpuUse(
  pod: PodLike,
  resources: readonly string[] = DEFAULT_GPU_RESOURCES,
  taintKeys: readonly string[] = DEFAULT_GPU_TAINT_KEYS,
): PodGpuUse {
  const spec = pod.spec ?? {};
  const sum = (spec.containers ?? []).reduce((n, c) => n + containerGpus(c, resources), 0);
  const init = (spec.initContainers ?? []).reduce(
    (n, c) => Math.max(n, containerGpus(c, resources)),
    0,
  );
  const tolerates = (spec.tolerations ?? []).some((t) => toleratesGpuTaint(t, taintKeys));
  return { gpus: Math.max(sum, init), toleratesGpuTaint: tolerates };
}

const deny = (field: string, message: string): GpuPodVerdict => ({ denied: { field, message } });

/** Decides whether a pod may use GPUs; non-GPU pods are always allowed. */
export function guardGpuPod(input: GpuPodGuardInput): GpuPodVerdict {
  const resources = input.gpuResources ?? DEFAULT_GPU_RESOURCES;
  const use = podGpuUse(input.pod, resources, input.gpuTaintKeys);
  if (use.gpus === 0 && !use.toleratesGpuTaint) return {};
  const what =
    use.gpus > 0 ? `requests ${use.gpus} ${resources[0] ?? "GPU"}` : "tolerates the GPU node taint";
  return ownerChainVerdict(input, what, use.gpus);
}

// Walks pod → Job → GPUWorkload; the first broken link is the denial.
function ownerChainVerdict(input: GpuPodGuardInput, what: string, gpus: number): GpuPodVerdict {
  const field = "metadata.ownerReferences";
  const howTo = "GPUs are used through a GPUWorkload, which the operator runs as a Job";
  const ref = controllerRef(input.pod.metadata);
  if (ref?.kind !== "Job" || ref.apiVersion !== "batch/v1") {
    return deny(field, `Forbidden: the pod ${what} but is not controlled by a Job; ${howTo}`);
  }
  const jobName = ref.name ?? "";
  const job = input.job;
  if (job === undefined || job.metadata?.uid !== ref.uid) {
    return deny(
      field,
      `Forbidden: the pod ${what} but its Job ${jobName} does not exist; ${howTo}`,
    );
  }
  const wref = controllerRef(job.metadata);
  if (wref?.kind !== "GPUWorkload" || !wref.apiVersion?.startsWith("vaultmesh.cloud/")) {
    return deny(
      field,
      `Forbidden: the pod ${what} but its Job ${jobName} is not owned by a GPUWorkload; ${howTo}`,
    );
  }
  const wName = wref.name ?? "";
  const w = input.workload;
  if (w === undefined || w.metadata?.uid !== wref.uid) {
    return deny(
      field,
      `Forbidden: the pod ${what} but GPUWorkload ${wName} of its Job does not exist`,
    );
  }
  const admitted = w.spec?.gpu?.count ?? 0;
  if (gpus > admitted) {
    return deny(
      "spec.containers",
      `Forbidden: the pod requests ${gpus} GPUs but GPUWorkload ${wName} was admitted with ${admitted}`,
    );
  }
  return {};
}
