/**
 * The parts of batch/v1 Job and core/v1 Pod the GPUWorkload controller reads, typed as the
 * plain JSON the informers cache (timestamps are strings, unlike client-node's model classes).
 */
import {
  stripBookkeeping,
  type KubeObject,
  type KubeObjectMeta,
} from "../../services/kube/index.ts";

/** Metadata as JSON from the API server: timestamps are strings. */
export type JsonMeta = KubeObjectMeta & { creationTimestamp?: string; deletionTimestamp?: string };

/** A Job or Pod condition. */
export interface KubeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/**
 * batch/v1 Job as JSON, as the controllers cache it: metadata and status only — the spec (the
 * whole pod template) is dropped by {@link slimJob} because no reader needs it.
 */
export interface Job extends KubeObject {
  metadata: JsonMeta;
  /** What {@link slimJob} keeps; the Job controller's counters are not cached. */
  status?: {
    startTime?: string;
    completionTime?: string;
    conditions?: KubeCondition[];
  };
}

/** A container's state as JSON (`waiting`, `running` or `terminated`). */
export interface ContainerStateJson {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; exitCode?: number; message?: string };
}

/** core/v1 Pod as JSON, as cached: metadata, the node it is bound to ({@link slimPod}), status. */
export interface Pod extends KubeObject {
  metadata: JsonMeta;
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    startTime?: string;
    conditions?: KubeCondition[];
    containerStatuses?: { name?: string; state?: ContainerStateJson }[];
  };
}

/**
 * The cache transform of Jobs: bookkeeping and the spec dropped, and of the status only what
 * the controllers read — start and completion times and the conditions (ADR 0025, 0102). The
 * Job controller's counters (`active`, `ready`, `terminating`, …) are left out: a reader that
 * needs one adds it here.
 */
export function slimJob(j: Job & { spec?: unknown; status?: Record<string, unknown> }): Job {
  const { spec: _spec, status, ...rest } = stripBookkeeping(j);
  if (status === undefined) return rest;
  const { startTime, completionTime, conditions } = status;
  return {
    ...rest,
    status: {
      ...(startTime === undefined ? {} : { startTime }),
      ...(completionTime === undefined ? {} : { completionTime }),
      ...(conditions === undefined ? {} : { conditions }),
    },
  };
}

/**
 * The cache transform of Pods: bookkeeping dropped; of the spec only the node name; of the
 * status the phase, start time, conditions and each container's name and state — what
 * operator/placement's observer reads. Addresses, images, restart counts and readiness flags
 * are left out (less to intern per event and to hold at 10k objects: ADR 0102).
 */
export function slimPod(p: Pod & { spec?: Record<string, unknown> }): Pod {
  stripBookkeeping(p);
  const nodeName = p.spec?.nodeName;
  p.spec = typeof nodeName === "string" ? { nodeName } : {};
  const st = p.status;
  if (st !== undefined) {
    const { phase, startTime, conditions, containerStatuses } = st;
    p.status = {
      ...(phase === undefined ? {} : { phase }),
      ...(startTime === undefined ? {} : { startTime }),
      ...(conditions === undefined ? {} : { conditions }),
      ...(containerStatuses === undefined
        ? {}
        : {
            containerStatuses: containerStatuses.map((c) => ({
              ...(c.name === undefined ? {} : { name: c.name }),
              ...(c.state === undefined ? {} : { state: c.state }),
            })),
          }),
    };
  }
  return p;
}
