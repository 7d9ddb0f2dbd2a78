// The GPU Job guard (ADR 0049): in a tenant namespace, a Job whose pod template requests a GPU
// or tolerates the GPU taint is created — and its spec or controller changed — only by the
// operator, which makes one Job per admitted GPUWorkload. The pod guard checks each pod against
// its Job's GPUWorkload; without this guard a tenant could point many Jobs at one workload (or
// raise a GPU Job's parallelism) and run many times the GPUs the workload was admitted with.
import { isDeepStrictEqual } from "node:util";
import { result, type FieldError, type PolicyResult } from "./field-errors.ts";
import {
  DEFAULT_GPU_RESOURCES,
  DEFAULT_GPU_TAINT_KEYS,
  controllerRef,
  gpuQuantity,
  toleratesGpuTaint,
  type Container,
  type OwnedMeta,
  type OwnerRef,
  type PodLike,
} from "./pod.ts";

/** The parts of a batch/v1 Job the guard reads. */
export interface JobLikeWithTemplate {
  readonly metadata?: OwnedMeta;
  readonly spec?: Readonly<Record<string, unknown>> & {
    readonly template?: { readonly spec?: PodLike["spec"] };
  };
}

/** What the guard decides on: the request's operation, objects and user. */
export interface GpuJobGuardInput {
  readonly operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  readonly job: JobLikeWithTemplate;
  /** The stored Job (UPDATE). */
  readonly oldJob?: JobLikeWithTemplate | undefined;
  /** `request.userInfo.username`. */
  readonly username: string;
  /** Identities that may create and change GPU Jobs (the operator's service account). */
  readonly creators: readonly string[];
  /** @default DEFAULT_GPU_RESOURCES */
  readonly gpuResources?: readonly string[];
  /** @default DEFAULT_GPU_TAINT_KEYS */
  readonly gpuTaintKeys?: readonly string[];
}

/** The first field of a pod template that makes it a GPU one, and what it asks for. */
export interface GpuField {
  /** Field path from the Job: `spec.template.spec.containers[0].resources.limits[nvidia.com/gpu]`. */
  readonly field: string;
  /** `request 2 nvidia.com/gpu`, `tolerate the GPU node taint nvidia.com/gpu`. */
  readonly what: string;
}

const TEMPLATE = "spec.template.spec";

function containerField(
  list: "containers" | "initContainers",
  containers: readonly Container[],
  resources: readonly string[],
): GpuField | undefined {
  for (const [i, c] of containers.entries()) {
    for (const kind of ["limits", "requests"] as const) {
      for (const r of resources) {
        const n = gpuQuantity(c.resources?.[kind]?.[r]);
        if (n > 0) {
          return {
            field: `${TEMPLATE}.${list}[${i}].resources.${kind}[${r}]`,
            what: `request ${n} ${r}`,
          };
        }
      }
    }
  }
  return undefined;
}

/** The field that makes a Job's pod template a GPU pod, or undefined for a CPU-only Job. */
export function gpuTemplateField(
  job: JobLikeWithTemplate,
  resources: readonly string[] = DEFAULT_GPU_RESOURCES,
  taintKeys: readonly string[] = DEFAULT_GPU_TAINT_KEYS,
): GpuField | undefined {
  const spec = job.spec?.template?.spec ?? {};
  const found =
    containerField("containers", spec.containers ?? [], resources) ??
    containerField("initContainers", spec.initContainers ?? [], resources);
  if (found) return found;
  const i = (spec.tolerations ?? []).findIndex((t) => toleratesGpuTaint(t, taintKeys));
  if (i < 0) return undefined;
  const key = spec.tolerations?.[i]?.key;
  return {
    field: `${TEMPLATE}.tolerations[${i}]`,
    what: key ? `tolerate the GPU node taint ${key}` : "tolerate every taint, the GPU one included",
  };
}

const HOW_TO = "GPU Jobs are created by the VaultMesh operator from a GPUWorkload";

const sameRef = (a: OwnerRef | undefined, b: OwnerRef | undefined): boolean =>
  a?.apiVersion === b?.apiVersion &&
  a?.kind === b?.kind &&
  a?.name === b?.name &&
  a?.uid === b?.uid;

// An UPDATE by someone else may touch labels, annotations, finalizers and other owners; it may
// not change what the Job runs (parallelism, template, suspend) nor which GPUWorkload it bills.
function updateErrors(input: GpuJobGuardInput, gpu: GpuField): FieldError[] {
  const old = input.oldJob ?? {};
  const user = input.username || "an anonymous user";
  const errors: FieldError[] = [];
  const ref = controllerRef(input.job.metadata);
  if (ref?.kind === "GPUWorkload" && !sameRef(ref, controllerRef(old.metadata))) {
    errors.push({
      field: "metadata.ownerReferences",
      message: `Forbidden: ${user} may not make GPUWorkload ${ref.name ?? ""} the controller of a Job whose pods ${gpu.what}; ${HOW_TO}`,
    });
  }
  const spec = input.job.spec ?? {};
  const oldSpec = old.spec ?? {};
  const changed = [...new Set([...Object.keys(spec), ...Object.keys(oldSpec)])]
    .filter((k) => !isDeepStrictEqual(spec[k], oldSpec[k]))
    .sort();
  for (const k of changed) {
    errors.push({
      field: `spec.${k}`,
      message: `Forbidden: ${user} may not change the spec of a Job whose pods ${gpu.what}; ${HOW_TO}`,
    });
  }
  return errors;
}

/**
 * Decides a Job request: a CPU-only Job, or any Job of a configured creator, is allowed; a GPU
 * Job from anyone else is denied on CREATE, and on UPDATE when the update changes its spec or
 * makes a GPUWorkload its controller (or turns a CPU Job into a GPU one).
 */
export function guardGpuJob(input: GpuJobGuardInput): PolicyResult {
  const resources = input.gpuResources ?? DEFAULT_GPU_RESOURCES;
  const taintKeys = input.gpuTaintKeys ?? DEFAULT_GPU_TAINT_KEYS;
  const gpu = gpuTemplateField(input.job, resources, taintKeys);
  if (gpu === undefined || input.creators.includes(input.username)) return result([]);
  const user = input.username || "an anonymous user";
  const becomesGpu =
    input.operation === "CREATE" ||
    input.oldJob === undefined ||
    gpuTemplateField(input.oldJob, resources, taintKeys) === undefined;
  if (becomesGpu) {
    const verb = input.operation === "CREATE" ? "create GPU Jobs" : "turn a Job into a GPU Job";
    return result([
      {
        field: gpu.field,
        message: `Forbidden: the Job's pods would ${gpu.what}; ${HOW_TO} (${user} may not ${verb}): create a GPUWorkload instead`,
      },
    ]);
  }
  if (input.operation !== "UPDATE") return result([]);
  return result(updateErrors(input, gpu));
}
