/**
 * The completion receipt of a GPUWorkload: its identity and content come only from what it
 * stands for — the workload's uid, the attempt, the outcome and the finished Job's recorded
 * times and price — so computing it again after a crash or on another replica yields the
 * same digest, and the ledger's append (idempotent by digest) returns the entry already
 * logged. The Receipt resource is a view of that ledger entry, named from the digest.
 */
import { API_VERSION } from "../../../crds/constants.ts";
import type { GPUWorkload, Receipt as ReceiptResource } from "../../../crds/index.ts";
import {
  digestPrefix,
  PLACEMENT_ANNOTATIONS,
  RECEIPT_LABELS,
  receiptSpecOf,
  WORKLOAD_LABELS,
  type CompletionPayload,
  type LedgerReceiptLike,
} from "../../../crds/domain/index.ts";
import { jobFinished, observeJob, rfc3339, usageOf } from "../../placement/index.ts";
import type { Job } from "../../shared/kube-types.ts";

/** Labels on the Jobs and on the Receipts the controller creates (crds/domain/labels.ts). */
export const Labels = {
  workloadUid: WORKLOAD_LABELS.workloadUid,
  workload: WORKLOAD_LABELS.workload,
  attempt: WORKLOAD_LABELS.attempt,
  treaty: WORKLOAD_LABELS.treaty,
  receiptFor: RECEIPT_LABELS.workloadUid,
  receiptTreaty: RECEIPT_LABELS.treaty,
  receiptOutcome: RECEIPT_LABELS.outcome,
} as const;

/** Annotations on a Job recording the placement it was created for (the receipt's inputs). */
export const Annotations = PLACEMENT_ANNOTATIONS;

/** The receipt input the ledger signs: type, subject and payload. */
export interface CompletionReceiptInput {
  readonly type: "WorkloadCompleted" | "WorkloadFailed";
  readonly subject: Record<string, string>;
  readonly payload: CompletionPayload;
}

const secondsBetween = (a: string | undefined, b: string | undefined): number => {
  if (!a || !b) return 0;
  return Math.max(0, (Date.parse(b) - Date.parse(a)) / 1000);
};

/**
 * The recorded facts of a finished attempt, in-cluster (a Job) or external (a provider job):
 * everything a completion receipt is computed from.
 */
export interface FinishedAttempt {
  readonly attempt: number;
  readonly outcome: "Succeeded" | "Failed";
  /** CamelCase reason the attempt ended (Completed, DeadlineExceeded, ContainerFailed, …). */
  readonly reason: string;
  readonly treaty: string;
  readonly provider: string;
  readonly region: string;
  /** USD per GPU-hour, as placed (in-cluster) or as the provider reports it (external). */
  readonly pricePerHour: number;
  /** The Job's name, or the provider's job id. */
  readonly jobName: string;
  /** When the attempt was created (Job creation, provider `createdAt`). */
  readonly createdAt: string;
  /** When the GPUs were taken; the creation time when the attempt never started. */
  readonly startTime: string;
  readonly completionTime: string;
}

/**
 * The facts of a finished Job (from its labels, annotations and status), or undefined while it
 * runs. Read from the Job alone, not its Pods: Pods are garbage-collected, and a receipt
 * recomputed later (a deleted Receipt view) must give the same digest.
 */
export function finishedJob(job: Job): FinishedAttempt | undefined {
  if (!jobFinished(job)) return undefined; // the common case, without observing
  const obs = observeJob(job, [], EPOCH);
  if (obs.state !== "Succeeded" && obs.state !== "Failed") return undefined;
  const jm = job.metadata;
  const label = (k: string): string => jm.labels?.[k] ?? "";
  const ann = (k: string): string => jm.annotations?.[k] ?? "";
  const start = job.status?.startTime ?? jm.creationTimestamp ?? "";
  const end = obs.completionTime ?? NEVER;
  return {
    attempt: Number(label(Labels.attempt) || "0"),
    outcome: obs.state,
    reason: obs.reason,
    treaty: label(Labels.treaty),
    provider: ann(Annotations.provider),
    region: ann(Annotations.region),
    pricePerHour: Number(ann(Annotations.pricePerHour) || "0"),
    jobName: String(jm.name),
    createdAt: jm.creationTimestamp ?? start,
    startTime: start,
    completionTime: end === NEVER ? start : end,
  };
}

// observeJob falls back to `now` for a missing time; a receipt must never depend on the clock,
// so it observes at the epoch and reads that fallback as "no time recorded".
const EPOCH = new Date(0);
const NEVER = rfc3339(EPOCH);

/**
 * The completion receipt input for a finished Job of `workload`, or undefined while the Job
 * runs. Pure: the same workload and Job always give the same input.
 */
export function completionReceiptInput(
  workload: GPUWorkload,
  job: Job,
): CompletionReceiptInput | undefined {
  const f = finishedJob(job);
  return f ? completionReceiptFor(workload, f) : undefined;
}

/**
 * The completion receipt input for a finished attempt of `workload`. Pure: the same facts
 * always give the same input (and so the same digest). Usage is `usageOf` (operator/placement):
 * whole seconds times the GPU count, cost in integer micro-dollars rounded half up (ADR 0096).
 */
export function completionReceiptFor(
  workload: GPUWorkload,
  f: FinishedAttempt,
): CompletionReceiptInput {
  const m = workload.metadata;
  const gpuCount = workload.spec.gpu.count;
  const usage = usageOf(f.startTime, f.completionTime, gpuCount, f.pricePerHour);
  const payload: CompletionPayload = {
    workloadUid: String(m.uid),
    namespace: String(m.namespace),
    name: String(m.name),
    attempt: f.attempt,
    outcome: f.outcome,
    treaty: f.treaty,
    provider: f.provider,
    region: f.region,
    gpuType: workload.spec.gpu.type,
    gpuCount,
    pricePerHour: f.pricePerHour,
    jobName: f.jobName,
    startTime: f.startTime,
    completionTime: f.completionTime,
    provisionSeconds: secondsBetween(f.createdAt, f.startTime),
    gpuSeconds: usage.gpuSeconds,
    costMicroUsd: usage.costMicroUsd,
  };
  return {
    type: f.outcome === "Succeeded" ? "WorkloadCompleted" : "WorkloadFailed",
    subject: {
      apiVersion: API_VERSION,
      kind: "GPUWorkload",
      namespace: payload.namespace,
      name: payload.name,
      uid: payload.workloadUid,
    },
    payload,
  };
}

/** The Receipt resource name for a receipt digest: `<workload>-<outcome>-<12 hex of digest>`. */
export function receiptName(workloadName: string, outcome: string, digest: string): string {
  return `${workloadName.slice(0, 200)}-${outcome.toLowerCase()}-${digestPrefix(digest)}`;
}

/** A receipt as the ledger returns it (services/ledger Receipt). */
export type LedgerReceipt = LedgerReceiptLike;

/** Where the receipt sits in the log. */
export interface LogPosition {
  readonly logIndex: number;
  readonly leafHash: string;
  readonly treeSize?: number;
  readonly rootHash?: string;
}

/** The Receipt resource (a view of the ledger entry) for the workload's namespace. */
export function receiptResource(
  workload: GPUWorkload,
  receipt: LedgerReceipt,
  payload: CompletionPayload,
): ReceiptResource {
  const m = workload.metadata;
  const subject = typeof receipt.subject === "string" ? {} : receipt.subject;
  return {
    apiVersion: API_VERSION,
    kind: "Receipt",
    metadata: {
      name: receiptName(m.name ?? "workload", payload.outcome, receipt.digest),
      namespace: m.namespace ?? "",
      labels: {
        [Labels.receiptFor]: m.uid ?? "",
        [Labels.receiptTreaty]: payload.treaty,
        [Labels.receiptOutcome]: payload.outcome,
      },
    },
    spec: receiptSpecOf(receipt, {
      apiVersion: subject.apiVersion ?? API_VERSION,
      kind: subject.kind ?? "GPUWorkload",
      namespace: subject.namespace,
      name: subject.name ?? m.name ?? "",
      uid: subject.uid,
    }),
  };
}
