/**
 * Pure status computation for GPUWorkload: the conditions for each state the reconciler can
 * observe, and the reason summarising why routing found nothing. No I/O; table-tested.
 */
import type { Condition, GPUWorkload, GPUWorkloadStatus } from "../../../crds/index.ts";
import { setConditions, type ConditionInput } from "../../runtime/index.ts";

/** The state of a workload as the reconciler observed it this pass. */
export type WorkloadState =
  | { readonly kind: "waiting"; readonly reason: string; readonly message: string }
  | { readonly kind: "placed"; readonly message: string; readonly pendingReason?: string }
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
export const RECEIPT_PENDING = "ReceiptPending";

/** The conditions for `state` (Admitted, Routed, Running, Complete, Failed, Ready). */
export function stateConditions(state: WorkloadState): ConditionInput[] {
  const admitted: ConditionInput = {
    type: "Admitted",
    status: "True",
    reason: "Admitted",
    message: "accepted by the API server",
  };
  const notDone = (t: "Complete" | "Failed"): ConditionInput => ({
    type: t,
    status: "False",
    reason: "NotFinished",
    message: "",
  });
  switch (state.kind) {
    case "waiting":
      return [
        admitted,
        { type: "Routed", status: "False", reason: state.reason, message: state.message },
        { type: "Running", status: "False", reason: "NotPlaced", message: "" },
        notDone("Complete"),
        notDone("Failed"),
        { type: "Ready", status: "False", reason: state.reason, message: state.message },
      ];
    case "placed":
      return [
        admitted,
        { type: "Routed", status: "True", reason: "Routed", message: state.message },
        {
          type: "Running",
          status: "False",
          reason: state.pendingReason ?? "Pending",
          message: "waiting for the job to start",
        },
        notDone("Complete"),
        notDone("Failed"),
        { type: "Ready", status: "False", reason: state.pendingReason ?? "Placed", message: "" },
      ];
    case "running":
      return [
        admitted,
        { type: "Running", status: "True", reason: "Running", message: state.message },
        notDone("Complete"),
        notDone("Failed"),
        { type: "Ready", status: "True", reason: "Running", message: state.message },
      ];
    case "recording":
      return [
        admitted,
        { type: "Running", status: "False", reason: state.outcome, message: "" },
        { type: "Complete", status: "False", reason: RECEIPT_PENDING, message: state.message },
        { type: "Failed", status: "False", reason: RECEIPT_PENDING, message: state.message },
        { type: "Ready", status: "False", reason: RECEIPT_PENDING, message: state.message },
      ];
    case "finished": {
      const ok = state.outcome === "Succeeded";
      return [
        admitted,
        { type: "Running", status: "False", reason: state.outcome, message: "" },
        {
          type: "Complete",
          status: ok ? "True" : "False",
          reason: ok ? "Succeeded" : "Failed",
          message: ok ? state.message : "",
        },
        {
          type: "Failed",
          status: ok ? "False" : "True",
          reason: ok ? "Succeeded" : "JobFailed",
          message: ok ? "" : state.message,
        },
        {
          type: "Ready",
          status: ok ? "True" : "False",
          reason: ok ? "Succeeded" : "Failed",
          message: state.message,
        },
      ];
    }
  }
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
 * The reason for "no eligible treaty": GpuTypeNotOffered when no treaty prices the GPU type,
 * QuotaExhausted when every treaty that otherwise fits is at a quota, else NoEligibleTreaty.
 */
export function waitingReason(
  candidates: readonly { eligible: boolean; reasons?: string[] | undefined }[],
): string {
  if (candidates.length === 0) return "NoTreaty";
  const rs = candidates.map((c) => c.reasons ?? []);
  if (rs.every((r) => r.some((x) => x.includes("not priced by this treaty")))) {
    return "GpuTypeNotOffered";
  }
  const quota = (x: string): boolean => x.includes("maxConcurrentJobs") || x.includes("GPU-hours");
  if (rs.some((r) => r.length > 0 && r.every(quota))) return "QuotaExhausted";
  return "NoEligibleTreaty";
}

/** True when the workload has finished (Complete or Failed) and its receipt is recorded. */
export function isFinished(wl: GPUWorkload): boolean {
  const done = (wl.status?.conditions ?? []).some(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
  return done && wl.status?.receiptRef !== undefined;
}

/** True when the workload waits for a treaty (Routed False). */
export function isWaiting(wl: GPUWorkload): boolean {
  return (wl.status?.conditions ?? []).some((c) => c.type === "Routed" && c.status === "False");
}
