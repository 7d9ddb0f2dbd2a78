/**
 * An attempt placed in this cluster, as a pure step: from its Job, the Job's Pods, its treaty
 * and the clock, what the reconciler does next — record the finished attempt, report it
 * running, fail over (before it started), or wait. The in-cluster twin of ExternalStep
 * (external-attempt.ts); the reconciler does the I/O each step asks for.
 */
import type { Attempt, Treaty } from "../../../crds/index.ts";
import { observeJob } from "../../placement/index.ts";
import { rfc3339 } from "../../runtime/index.ts";
import { finishedJob, type FinishedAttempt } from "./completion-receipt.ts";
import { MIN_PENDING_REQUEUE_MS, WorkloadReason } from "./gpuworkload-reasons.ts";
import type { Job, Pod } from "../../shared/kube-types.ts";

/** One attempt of a workload, as `status.attempts` records it. */
export type { Attempt };

/** What the reconciler does after one look at an in-cluster attempt. */
export type InClusterStep =
  /** The Job finished: record the attempt and its receipt. */
  | { readonly kind: "complete"; readonly finished: FinishedAttempt }
  /** The Pod runs: `startTime` is when its GPUs were taken. */
  | { readonly kind: "running"; readonly startTime: string; readonly message: string }
  /**
   * Abandon the attempt and route again; `deleteJob` when its Job must be deleted first (not
   * when it is already being deleted).
   */
  | { readonly kind: "failover"; readonly reason: string; readonly deleteJob: boolean }
  /** Not started yet: look again after `requeueAfterMs`. */
  | {
      readonly kind: "wait";
      readonly pendingReason: typeof WorkloadReason.Pending | typeof WorkloadReason.Unschedulable;
      readonly requeueAfterMs: number;
    };

/** Everything one step reads. */
export interface InClusterInput {
  /** The attempt (its `treaty` names the treaty it was placed under). */
  readonly attempt: Attempt;
  /** The attempt's Job. */
  readonly job: Job;
  /** The Pods the Job owns. */
  readonly pods: readonly Pod[];
  /** The attempt's treaty from the cache; undefined when it was deleted. */
  readonly treaty: Treaty | undefined;
  readonly now: Date;
  /** Fail over when the Pod is unschedulable this long. */
  readonly unschedulableTimeoutMs: number;
}

/**
 * The next step of an in-cluster attempt: a Job being deleted fails over; a finished Job
 * completes; a running Pod runs; before it starts, a treaty no longer fit (deleted,
 * suspended, Degraded, expired) or a Pod unschedulable for `unschedulableTimeoutMs` fails
 * over; otherwise wait, until the unschedulable timeout at the latest.
 */
export function inClusterStep(input: InClusterInput): InClusterStep {
  const { attempt, job, now } = input;
  if (job.metadata.deletionTimestamp) {
    return { kind: "failover", reason: "Job is being deleted", deleteJob: false };
  }
  const finished = finishedJob(job);
  if (finished) return { kind: "complete", finished };
  const obs = observeJob(job, input.pods, now);
  if (obs.state === "Running") {
    return { kind: "running", startTime: obs.startTime ?? rfc3339(now), message: obs.message };
  }
  const unfit = treatyUnfit(input.treaty, attempt.treaty);
  if (unfit) return { kind: "failover", reason: unfit, deleteJob: true };
  const timeout = input.unschedulableTimeoutMs;
  const unschedulable = obs.state === "Unschedulable";
  const age = now.getTime() - Date.parse(job.metadata.creationTimestamp ?? rfc3339(now));
  if (unschedulable && age >= timeout) {
    const reason = `unschedulable for ${Math.round(age / 1000)}s: ${obs.message}`;
    return { kind: "failover", reason, deleteJob: true };
  }
  return {
    kind: "wait",
    pendingReason: unschedulable ? WorkloadReason.Unschedulable : WorkloadReason.Pending,
    requeueAfterMs: Math.max(MIN_PENDING_REQUEUE_MS, timeout - age),
  };
}

/** Why a treaty can no longer take a workload that has not started, or undefined. */
export function treatyUnfit(treaty: Treaty | undefined, name: string): string | undefined {
  if (!treaty) return `treaty ${name} was deleted before the job started`;
  if (treaty.spec.suspended) return `treaty ${name} was suspended before the job started`;
  for (const c of treaty.status?.conditions ?? []) {
    if (c.type === "Degraded" && c.status === "True") {
      return `treaty ${name} became Degraded (${c.reason}) before the job started`;
    }
    if (c.type === "Expired" && c.status === "True")
      return `treaty ${name} expired before the job started`;
  }
  return undefined;
}
