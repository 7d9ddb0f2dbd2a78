/**
 * Labels and annotations VaultMesh puts on the objects it creates, in one place: the operator
 * writes them, the webhooks and the operator's informers select on them.
 */
import { GROUP } from "../constants.ts";

/** The tenant an object belongs to: on tenant namespaces, GPUWorkloads, their Jobs and Pods. */
export const TENANT_LABEL = `${GROUP}/tenant`;

/** Labels on a workload's Jobs and their Pods. */
export const WORKLOAD_LABELS = {
  /** The workload's name (cut to a valid label value when longer than 63 characters). */
  workload: `${GROUP}/workload`,
  /** The workload's uid: the exact selector for its Jobs. */
  workloadUid: `${GROUP}/workload-uid`,
  /** The tenant, copied from the workload's own `vaultmesh.cloud/tenant` label. */
  tenant: TENANT_LABEL,
  /** The treaty the attempt runs under. */
  treaty: `${GROUP}/treaty`,
  /** The attempt number, from 1. */
  attempt: `${GROUP}/attempt`,
} as const;

/** Annotations on a Job recording the placement it was created for (a receipt's inputs). */
export const PLACEMENT_ANNOTATIONS = {
  provider: `${GROUP}/provider`,
  region: `${GROUP}/region`,
  pricePerHour: `${GROUP}/price-per-hour`,
} as const;

/** Labels on the Receipt resources the operator creates. */
export const RECEIPT_LABELS = {
  /** The uid of the GPUWorkload a completion receipt is for. */
  workloadUid: WORKLOAD_LABELS.workloadUid,
  /** The treaty a completion receipt's attempt ran under. */
  treaty: WORKLOAD_LABELS.treaty,
  /** Succeeded or Failed. */
  outcome: `${GROUP}/outcome`,
  /** The FederationPeer a federation receipt is about. */
  federationPeer: `${GROUP}/federation-peer`,
} as const;
