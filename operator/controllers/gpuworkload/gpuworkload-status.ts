/**
 * Pure status computation for GPUWorkload: the conditions for each state the reconciler can
 * observe, the reason summarising why routing found nothing, and the condition a failed
 * reconcile leaves. No I/O; table-tested.
 */
import { GPUWorkloadConditionType as C } from "../../../crds/constants.ts";
import type { Condition, GPUWorkload, GPUWorkloadStatus } from "../../../crds/index.ts";
import { KubeApiError } from "../../../services/kube/index.ts";
import { DependencyUnavailableError } from "../../../services/dependency-health/index.ts";
import { IneligibleReason, QUOTA_REASONS } from "../../../services/routing/index.ts";
import {
  findCondition,
  isTrue,
  removeCondition,
  setCondition,
  setConditions,
  type ConditionInput,
} from "../../runtime/index.ts";
import {
  MAX_MESSAGE_LENGTH,
  RECONCILED,
  ReconcileFailure,
  WorkloadReason,
} from "./gpuworkload-reasons.ts";

/** The state of a workload as the reconciler observed it this pass. */
export type WorkloadState =
  | { readonly kind: "waiting"; readonly reason: WorkloadReason; readonly message: string }
  | {
      readonly kind: "placed";
      readonly message: string;
      readonly pendingReason?: WorkloadReason;
    }
  | { readonly kind: "running"; readonly message: string }
  | {
      readonly kind: "finished";
      readonly outcome: "Succeeded" | "Failed";
      readonly message: string;
    }
  | {
      /** The attempt finished; its receipt waits for the ledger (ADR 0071). */
      readonly kind: "recording";
      readonly outcome: "Succeeded" | "Failed";
      readonly message: string;
    };

/** Reason of Complete, Failed and Ready while a finished attempt waits for its receipt. */
export const RECEIPT_PENDING = WorkloadReason.ReceiptPending;

/** The conditions for `state` (Admitted, Routed, Running, Complete, Failed, Ready). */
export function stateConditions(state: WorkloadState): ConditionInput[] {
  const admitted = admittedCondition();
  switch (state.kind) {
    case "waiting":
      return [
        admitted,
        { type: C.Routed, status: "False", reason: state.reason, message: state.message },
        { type: C.Running, status: "False", reason: WorkloadReason.NotPlaced, message: "" },
        notDone(C.Complete),
        notDone(C.Failed),
        { type: C.Ready, status: "False", reason: state.reason, message: state.message },
      ];
    case "placed":
      return [
        admitted,
        { type: C.Routed, status: "True", reason: WorkloadReason.Routed, message: state.message },
        {
          type: C.Running,
          status: "False",
          reason: state.pendingReason ?? WorkloadReason.Pending,
          message: "waiting for the job to start",
        },
        notDone(C.Complete),
        notDone(C.Failed),
        {
          type: C.Ready,
          status: "False",
          reason: state.pendingReason ?? WorkloadReason.Placed,
          message: "",
        },
      ];
    case "running":
      return [
        admitted,
        { type: C.Running, status: "True", reason: WorkloadReason.Running, message: state.message },
        notDone(C.Complete),
        notDone(C.Failed),
        { type: C.Ready, status: "True", reason: WorkloadReason.Running, message: state.message },
      ];
    case "recording":
      return [
        admitted,
        { type: C.Running, status: "False", reason: state.outcome, message: "" },
        { type: C.Complete, status: "False", reason: RECEIPT_PENDING, message: state.message },
        { type: C.Failed, status: "False", reason: RECEIPT_PENDING, message: state.message },
        { type: C.Ready, status: "False", reason: RECEIPT_PENDING, message: state.message },
      ];
    case "finished":
      return finishedConditions(admitted, state);
  }
}

/** Admitted True: every observed workload was accepted by the API server. */
function admittedCondition(): ConditionInput {
  return {
    type: C.Admitted,
    status: "True",
    reason: WorkloadReason.Admitted,
    message: "accepted by the API server",
  };
}

/** Complete or Failed False while the attempt has not finished. */
function notDone(t: typeof C.Complete | typeof C.Failed): ConditionInput {
  return { type: t, status: "False", reason: WorkloadReason.NotFinished, message: "" };
}

/** The conditions of a finished attempt whose receipt is recorded. */
function finishedConditions(
  admitted: ConditionInput,
  state: Extract<WorkloadState, { kind: "finished" }>,
): ConditionInput[] {
  const ok = state.outcome === "Succeeded";
  return [
    admitted,
    { type: C.Running, status: "False", reason: state.outcome, message: "" },
    {
      type: C.Complete,
      status: ok ? "True" : "False",
      reason: ok ? WorkloadReason.Succeeded : WorkloadReason.Failed,
      message: ok ? state.message : "",
    },
    {
      type: C.Failed,
      status: ok ? "False" : "True",
      reason: ok ? WorkloadReason.Succeeded : WorkloadReason.JobFailed,
      message: ok ? "" : state.message,
    },
    {
      type: C.Ready,
      status: ok ? "True" : "False",
      reason: ok ? WorkloadReason.Succeeded : WorkloadReason.Failed,
      message: state.message,
    },
  ];
}

/** Applies `state`'s conditions to `status` (observedGeneration from the workload). */
export function withState(
  wl: GPUWorkload,
  status: GPUWorkloadStatus,
  state: WorkloadState,
  now: Date,
): GPUWorkloadStatus {
  const gen = wl.metadata.generation;
  const conditions: Condition[] = setConditions(
    status.conditions,
    stateConditions(state),
    gen,
    now,
  );
  return { ...status, conditions, ...(gen !== undefined ? { observedGeneration: gen } : {}) };
}

/**
 * The reason for "no eligible treaty", from the candidates' reason codes: GpuTypeNotOffered
 * when no treaty prices the GPU type, AwaitingRetry when some treaty is excluded only by an
 * abandoned attempt's back-off, QuotaExhausted when some treaty fails on quotas alone,
 * NoTreaty when there is none, else NoEligibleTreaty.
 */
export function waitingReason(
  candidates: readonly { readonly codes?: readonly IneligibleReason[] | undefined }[],
): WorkloadReason {
  if (candidates.length === 0) return WorkloadReason.NoTreaty;
  const codes = candidates.map((c) => c.codes ?? []);
  if (codes.every((cs) => cs.includes(IneligibleReason.GpuTypeNotPriced))) {
    return WorkloadReason.GpuTypeNotOffered;
  }
  if (
    codes.some((cs) => cs.length > 0 && cs.every((c) => c === IneligibleReason.AlreadyAttempted))
  ) {
    return WorkloadReason.AwaitingRetry;
  }
  if (codes.some((cs) => cs.length > 0 && cs.every((c) => QUOTA_REASONS.has(c)))) {
    return WorkloadReason.QuotaExhausted;
  }
  return WorkloadReason.NoEligibleTreaty;
}

/** The `Reconciled` reason of a reconcile that failed with `err`. */
export function failureReason(err: unknown): ReconcileFailure {
  if (err instanceof DependencyUnavailableError) return ReconcileFailure.DependencyUnavailable;
  if (err instanceof KubeApiError) return ReconcileFailure.ApiError;
  return ReconcileFailure.ReconcileFailed;
}

/** The message of a failed reconcile: the error's message, cut to the length kept. */
export function failureMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length <= MAX_MESSAGE_LENGTH ? text : `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}

/**
 * The status after a reconcile that failed with `err`: `Reconciled` False naming the failure
 * (reason from {@link failureReason}, the error's message); every other condition and
 * `observedGeneration` as they were, since this pass did not finish observing the workload.
 */
export function withFailure(status: GPUWorkloadStatus, err: unknown, now: Date): GPUWorkloadStatus {
  const failed: ConditionInput = {
    type: RECONCILED,
    status: "False",
    reason: failureReason(err),
    message: failureMessage(err),
  };
  return { ...status, conditions: setCondition(status.conditions, failed, undefined, now) };
}

/** The status after a reconcile that succeeded: no `Reconciled` failure left. */
export function withoutFailure(status: GPUWorkloadStatus): GPUWorkloadStatus {
  if (!findCondition(status.conditions, RECONCILED)) return status;
  return { ...status, conditions: removeCondition(status.conditions, RECONCILED) };
}

/** True when the workload has finished (Complete or Failed) and its receipt is recorded. */
export function isFinished(wl: GPUWorkload): boolean {
  const conditions = wl.status?.conditions;
  const done = isTrue(conditions, C.Complete) || isTrue(conditions, C.Failed);
  return done && wl.status?.receiptRef !== undefined;
}
