// The Job of one attempt of a GPUWorkload on the cluster's own GPU pool (an in-cluster treaty):
// toleration of the pool's taint, nodeSelector of its nodes plus the GPU type, the GPU limit,
// the runtime limit. Pure: the same workload, treaty and attempt give the same Job, and its
// name is derived from (workload uid, attempt), so a repeated create is AlreadyExists.
import { hash as digest } from "node:crypto";
import type { V1Container, V1EnvVar, V1Job, V1Toleration } from "@kubernetes/client-node";
import { API_VERSION } from "../../crds/constants.ts";
import type { GPUWorkload, InClusterPool, Treaty } from "../../crds/index.ts";
import { PLACEMENT_ANNOTATIONS, WORKLOAD_LABELS } from "../../crds/domain/labels.ts";
import type { KubeObjectMeta } from "../../services/kube/index.ts";
import type { Placement } from "../../services/routing/index.ts";

/** A Job as sent to the API server: JSON (no Date timestamps), a `KubeObject`. */
export type JobManifest = Omit<V1Job, "metadata"> & { metadata: KubeObjectMeta };

/** Labels on a workload's Jobs and their Pods (defined with every other label in crds/domain). */
export const JOB_LABELS = WORKLOAD_LABELS;

/** Annotations on a Job recording the placement it was created for. */
export const JOB_ANNOTATIONS = PLACEMENT_ANNOTATIONS;

/** Name of the container running the workload's template. */
export const WORKLOAD_CONTAINER = "workload";

/** Longest Job name: the Job controller copies it into a label value of each Pod. */
export const MAX_JOB_NAME_LENGTH = 63;

/** Options of buildJob beyond the workload, treaty and attempt. */
export interface BuildJobOptions {
  /** The routing decision's placement, recorded as annotations (provider, region, price). */
  readonly placement?: Placement | undefined;
  /** Annotations for the Pod template (e.g. kwok's stage delays in tests). */
  readonly podAnnotations?: Readonly<Record<string, string>> | undefined;
}

/** The workload fields a Job is built from (a GPUWorkload fits). */
export type BuildableWorkload = Pick<GPUWorkload, "metadata" | "spec">;
/** The treaty fields a Job is built from (a Treaty fits). */
export type BuildableTreaty = Pick<Treaty, "metadata" | "spec">;

/**
 * `<workload name>-<8 hex>-a<attempt>`, at most 63 characters: the Job name of attempt
 * `attempt` of the workload. The hex is sha256(`<uid>/<attempt>`), so a workload deleted and
 * recreated under the same name gets new Job names; the name part is cut to fit and made a
 * DNS label (dots become dashes).
 */
export function jobName(
  workload: { readonly metadata: { readonly name?: string; readonly uid?: string } },
  attempt: number,
): string {
  const uid = required(workload.metadata.uid, "metadata.uid");
  checkAttempt(attempt);
  // One-shot digest: no Hash object per call (a Job name is computed on every placement).
  const hash = digest("sha256", `${uid}/${attempt}`, "hex").slice(0, 8);
  const suffix = `-${hash}-a${attempt}`;
  const prefix = trimToLabel(
    (workload.metadata.name ?? "").replaceAll(".", "-"),
    MAX_JOB_NAME_LENGTH - suffix.length,
  );
  return (prefix === "" ? "gw" : prefix) + suffix;
}

/** Cuts a value to a valid label value of at most `max` characters (alphanumeric ends). */
export function trimToLabel(value: string, max = 63): string {
  return value.slice(0, max).replace(/[^A-Za-z0-9]+$/, "");
}

/**
 * Builds the Job of attempt `attempt` of `workload` under the in-cluster `treaty`. Throws when
 * the treaty is not in-cluster or the workload lacks a name, namespace or uid (only objects
 * read from the apiserver are placed).
 */
export function buildJob(
  workload: BuildableWorkload,
  treaty: BuildableTreaty,
  attempt: number,
  options: BuildJobOptions = {},
): JobManifest {
  const pool = treaty.spec.inCluster;
  if (pool === undefined) {
    throw new Error(
      `treaty ${treaty.metadata.name ?? ""} (provider ${treaty.spec.provider}) is not in-cluster: spec.inCluster is not set`,
    );
  }
  const meta = workload.metadata;
  const name = required(meta.name, "metadata.name");
  const uid = required(meta.uid, "metadata.uid");
  const namespace = required(meta.namespace, "metadata.namespace");
  const spec = workload.spec;
  const labels = jobLabels(workload, treaty.metadata.name ?? "", attempt);
  const p = options.placement;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(workload, attempt),
      namespace,
      labels,
      ...(p === undefined
        ? {}
        : {
            annotations: {
              [JOB_ANNOTATIONS.provider]: p.provider,
              [JOB_ANNOTATIONS.region]: p.region ?? "",
              [JOB_ANNOTATIONS.pricePerHour]: String(p.pricePerHour),
            },
          }),
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: "GPUWorkload",
          name,
          uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      // One try per attempt: a retry is a new attempt, possibly under another treaty.
      backoffLimit: 0,
      ...(spec.maxRuntimeSeconds === undefined
        ? {}
        : { activeDeadlineSeconds: spec.maxRuntimeSeconds }),
      template: {
        metadata: {
          labels,
          ...(options.podAnnotations === undefined
            ? {}
            : { annotations: { ...options.podAnnotations } }),
        },
        spec: {
          restartPolicy: "Never",
          // Tenant GPU jobs have no business with the Kubernetes API.
          automountServiceAccountToken: false,
          nodeSelector: { ...pool.nodeSelector, [pool.gpuTypeLabel]: spec.gpu.type },
          tolerations: tolerationsFor(pool),
          containers: [container(workload, pool)],
        },
      },
    },
  };
}

/** The labels of the Job (and its Pods) of one attempt. */
export function jobLabels(
  workload: BuildableWorkload,
  treaty: string,
  attempt: number,
): Record<string, string> {
  const tenant = workload.metadata.labels?.[JOB_LABELS.tenant];
  return {
    [JOB_LABELS.workload]: trimToLabel(workload.metadata.name ?? ""),
    [JOB_LABELS.workloadUid]: workload.metadata.uid ?? "",
    ...(tenant === undefined ? {} : { [JOB_LABELS.tenant]: tenant }),
    [JOB_LABELS.treaty]: trimToLabel(treaty),
    [JOB_LABELS.attempt]: String(attempt),
  };
}

/** The toleration of the pool's taint: `Equal` with a value, `Exists` without one. */
function tolerationsFor(pool: InClusterPool): V1Toleration[] {
  const t = pool.taint;
  if (t === undefined) return [];
  return t.value === undefined
    ? [{ key: t.key, operator: "Exists", effect: t.effect }]
    : [{ key: t.key, operator: "Equal", value: t.value, effect: t.effect }];
}

function container(workload: BuildableWorkload, pool: InClusterPool): V1Container {
  const t = workload.spec.template;
  const requests: Record<string, string> = {};
  if (t.cpu !== undefined) requests.cpu = String(t.cpu);
  if (t.memory !== undefined) requests.memory = String(t.memory);
  return {
    name: WORKLOAD_CONTAINER,
    image: t.image,
    ...(t.command === undefined ? {} : { command: [...t.command] }),
    ...(t.args === undefined ? {} : { args: [...t.args] }),
    ...(t.env === undefined ? {} : { env: t.env.map(envVar) }),
    resources: {
      // Extended resources need no request: it defaults to the limit.
      // Memory is not compressible: its limit is the request (and a namespace LimitRange's
      // default limit, lower than the request, would make the pod invalid).
      limits: {
        [pool.gpuResourceName]: String(workload.spec.gpu.count),
        ...(requests.memory === undefined ? {} : { memory: requests.memory }),
      },
      ...(Object.keys(requests).length === 0 ? {} : { requests }),
    },
  };
}

function envVar(e: NonNullable<GPUWorkload["spec"]["template"]["env"]>[number]): V1EnvVar {
  if (e.valueFrom !== undefined) {
    const ref = e.valueFrom.secretKeyRef;
    return { name: e.name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
  }
  return e.value === undefined ? { name: e.name } : { name: e.name, value: e.value };
}

function required(value: string | undefined, field: string): string {
  if (value === undefined || value === "") {
    throw new Error(`GPUWorkload has no ${field}: only objects read from the apiserver are placed`);
  }
  return value;
}

function checkAttempt(attempt: number): void {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > 1000) {
    throw new Error(`attempt must be an integer in 1..1000, got ${attempt}`);
  }
}
