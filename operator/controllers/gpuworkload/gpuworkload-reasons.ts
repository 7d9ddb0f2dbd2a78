/**
 * The reason codes of GPUWorkload conditions and Events, and the reconciler's timing
 * constants. Conditions, Events and tests use these names; nothing branches on message text
 * (ADR 0091).
 */
import { GPUWorkloadConditionType, ReconciledReason } from "../../../crds/constants.ts";

/** Reasons of the conditions a GPUWorkload reports (see gpuworkload-status.ts). */
export const WorkloadReason = {
  /** Admitted True: the API server accepted the workload. */
  Admitted: "Admitted",
  /** Routed True: a treaty was chosen. */
  Routed: "Routed",
  /** Running False before placement. */
  NotPlaced: "NotPlaced",
  /** Complete and Failed False while the attempt runs. */
  NotFinished: "NotFinished",
  /** Placed, its Job or Pod not scheduled yet. */
  Pending: "Pending",
  /** Ready False once placed (when no pending reason is known). */
  Placed: "Placed",
  /** Placed at an external provider that has not started the job. */
  Queued: "Queued",
  /** Placed in-cluster; the scheduler cannot fit the Pod. */
  Unschedulable: "Unschedulable",
  /** Running and Ready True. */
  Running: "Running",
  /** The attempt succeeded (Complete True, Running False). */
  Succeeded: "Succeeded",
  /** The attempt failed (Complete False, Ready False, Running False). */
  Failed: "Failed",
  /** Failed True: the job of the last attempt failed. */
  JobFailed: "JobFailed",
  /** The attempt finished; its receipt waits for the ledger (ADR 0071). */
  ReceiptPending: "ReceiptPending",
  /** Routed to an external treaty, but this operator has no provider client. */
  ProviderUnavailable: "ProviderUnavailable",
  /** Routed False: no Treaty exists. */
  NoTreaty: "NoTreaty",
  /** Routed False: no treaty prices the workload's GPU type. */
  GpuTypeNotOffered: "GpuTypeNotOffered",
  /** Routed False: a treaty would take it but for a quota (it will, when one frees). */
  QuotaExhausted: "QuotaExhausted",
  /**
   * Routed False: every treaty that could take the workload was attempted (its attempts were
   * abandoned); each is tried again after its back-off (ADR 0099).
   */
  AwaitingRetry: "AwaitingRetry",
  /**
   * Routed False: the workload made as many attempts as its status can hold; only a treaty it
   * has not attempted could take it (ADR 0099).
   */
  AttemptsExhausted: "AttemptsExhausted",
  /** Routed False for any other combination of ineligibility reasons. */
  NoEligibleTreaty: "NoEligibleTreaty",
} as const;

/** One GPUWorkload condition reason (see {@link WorkloadReason}). */
export type WorkloadReason = (typeof WorkloadReason)[keyof typeof WorkloadReason];

/** Reasons of the Events the GPUWorkload reconciler records. */
export const WorkloadEventReason = {
  /** An attempt's Job was created, or its external attempt recorded. */
  Placed: "Placed",
  /** An attempt that had not started was abandoned; the next treaty is tried. */
  FailingOver: "FailingOver",
  /** The provider job of a deleted workload was cancelled. */
  Cancelled: "Cancelled",
  /** The workload succeeded and its receipt was logged. */
  Completed: "Completed",
  /** The workload failed and its receipt was logged. */
  Failed: "Failed",
  /** The attempt finished, its receipt waits for the ledger. */
  ReceiptPending: WorkloadReason.ReceiptPending,
} as const;

/**
 * Condition type set False when a reconcile fails, with the failure's reason and message, and
 * removed by the next reconcile that succeeds (a healthy workload does not carry it).
 */
export const RECONCILED = GPUWorkloadConditionType.Reconciled;

/** Reasons of the `Reconciled` condition (crds/constants.ts). */
export const ReconcileFailure = ReconciledReason;

/** One `Reconciled` reason (see {@link ReconcileFailure}). */
export type ReconcileFailure = (typeof ReconcileFailure)[keyof typeof ReconcileFailure];

/** Fail over a placed Job whose Pod is unschedulable this long (the default). */
export const DEFAULT_UNSCHEDULABLE_TIMEOUT_MS = 60_000;
/** How soon a completion waiting for the ledger is tried again. */
export const RECEIPT_RETRY_MS = 3_000;
/** How soon a workload routed to an external treaty without a provider client looks again. */
export const PROVIDER_UNAVAILABLE_REQUEUE_MS = 60_000;
/** Shortest wait before looking at an external attempt again. */
export const MIN_EXTERNAL_REQUEUE_MS = 200;
/** Shortest wait before looking at a pending in-cluster Job again. */
export const MIN_PENDING_REQUEUE_MS = 1_000;
/** How soon a Job the cache has not shown yet (but the API server has) is looked for again. */
export const JOB_CACHE_LAG_REQUEUE_MS = 500;
/** Longest text kept in an attempt's `reason` and in condition messages of failures. */
export const MAX_MESSAGE_LENGTH = 1_024;
