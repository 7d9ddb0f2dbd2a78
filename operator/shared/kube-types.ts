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
  status?: {
    startTime?: string;
    completionTime?: string;
    active?: number;
    succeeded?: number;
    failed?: number;
    ready?: number;
    conditions?: KubeCondition[];
  };
}

/** core/v1 Pod as JSON, as cached: metadata, the node it is bound to ({@link slimPod}), status. */
export interface Pod extends KubeObject {
  metadata: JsonMeta;
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    startTime?: string;
    conditions?: KubeCondition[];
    containerStatuses?: { state?: { running?: { startedAt?: string } } }[];
  };
}

/** The cache transform of Jobs: bookkeeping and the spec dropped (ADR 0025). */
export function slimJob(j: Job & { spec?: unknown }): Job {
  const { spec: _spec, ...rest } = stripBookkeeping(j);
  return rest;
}

/** The cache transform of Pods: bookkeeping dropped, and of the spec only the node name. */
export function slimPod(p: Pod & { spec?: Record<string, unknown> }): Pod {
  stripBookkeeping(p);
  const nodeName = p.spec?.nodeName;
  p.spec = typeof nodeName === "string" ? { nodeName } : {};
  return p;
}
