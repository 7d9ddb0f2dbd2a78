/**
 * The parts of batch/v1 Job and core/v1 Pod the GPUWorkload controller reads, typed as the
 * plain JSON the informers cache (timestamps are strings, unlike client-node's model classes).
 */
import type { KubeObject, KubeObjectMeta } from "../../../services/kube/index.ts";

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

/** batch/v1 Job as JSON. */
export interface Job extends KubeObject {
  metadata: JsonMeta;
  spec?: {
    template?: { metadata?: KubeObjectMeta; spec?: Record<string, unknown> };
    [k: string]: unknown;
  };
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

/** core/v1 Pod as JSON. */
export interface Pod extends KubeObject {
  metadata: JsonMeta;
  spec?: { nodeName?: string; [k: string]: unknown };
  status?: {
    phase?: string;
    startTime?: string;
    conditions?: KubeCondition[];
    containerStatuses?: { state?: { running?: { startedAt?: string } } }[];
  };
}
