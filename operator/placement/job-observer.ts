// What state an attempt's Job is in, read from the Job's conditions and its Pod's: the one
// place that knows how the Job controller, the scheduler and the kubelet report progress.
// Accepts client-node models (Date timestamps) and the plain JSON informers cache (strings).

/**
 * Reasons an observation gives; the kubelet's and the Job controller's own reasons pass through
 * as they are.
 */
export const JobObservationReason = {
  /** The Job exists but has created no Pod yet. */
  PodNotCreated: "PodNotCreated",
  /** The scheduler cannot place the Pod (Kubernetes' PodScheduled reason, too). */
  Unschedulable: "Unschedulable",
  /** The container runs. */
  Running: "Running",
  /** The Pod terminated; the Job has not recorded the outcome yet. */
  PodTerminated: "PodTerminated",
  /** The Pod waits for the scheduler. */
  Scheduling: "Scheduling",
  /** The container is being created (when the kubelet gives no reason). */
  ContainerCreating: "ContainerCreating",
  /** The Job completed (when it gives no reason). */
  Completed: "Completed",
  /** The Job failed (when it gives no reason). */
  Failed: "Failed",
} as const;

/** A timestamp as client-node models (Date) or informer JSON (RFC 3339 string) hold it. */
export type Time = string | Date;

/** A Job or Pod condition as the observer reads it. */
export interface ObservedCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  readonly lastTransitionTime?: Time | undefined;
}

/** The parts of a batch/v1 Job the observer reads (a V1Job or informer JSON fits). */
export interface ObservedJob {
  readonly metadata?: { readonly creationTimestamp?: Time | undefined } | undefined;
  readonly status?:
    | {
        readonly startTime?: Time | undefined;
        readonly completionTime?: Time | undefined;
        readonly conditions?: readonly ObservedCondition[] | undefined;
      }
    | undefined;
}

interface ContainerState {
  readonly waiting?: { readonly reason?: string; readonly message?: string } | undefined;
  readonly running?: { readonly startedAt?: Time | undefined } | undefined;
  readonly terminated?:
    | {
        readonly reason?: string | undefined;
        readonly exitCode?: number | undefined;
        readonly message?: string | undefined;
      }
    | undefined;
}

/** The parts of a core/v1 Pod the observer reads (a V1Pod or informer JSON fits). */
export interface ObservedPod {
  readonly metadata?:
    | {
        readonly name?: string | undefined;
        readonly creationTimestamp?: Time | undefined;
        readonly deletionTimestamp?: Time | undefined;
      }
    | undefined;
  readonly spec?: { readonly nodeName?: string | undefined } | undefined;
  readonly status?:
    | {
        readonly phase?: string | undefined;
        readonly startTime?: Time | undefined;
        readonly conditions?: readonly ObservedCondition[] | undefined;
        readonly containerStatuses?:
          readonly { readonly name?: string; readonly state?: ContainerState }[] | undefined;
      }
    | undefined;
}

/** The state of an attempt's Job. */
export type JobState = "Pending" | "Unschedulable" | "Running" | "Succeeded" | "Failed";

/** What observeJob found: the state, since when, why, and the times usage is computed from. */
export interface JobObservation {
  readonly state: JobState;
  /** When the Job entered this state (RFC 3339); `now` when nothing says. */
  readonly since: string;
  /** CamelCase reason: Unschedulable, ContainerCreating, Running, DeadlineExceeded, … */
  readonly reason: string;
  /** Human-readable detail (the scheduler's or the Job controller's message). */
  readonly message: string;
  /**
   * When the GPUs were taken: the Pod's `status.startTime` (the kubelet admitted it on its
   * node, so the GPUs are allocated to it), else its container's start. Absent before.
   */
  readonly startTime?: string;
  /** When the Job finished: Complete's completionTime, or the Failed condition's time. */
  readonly completionTime?: string;
  /** The node the Pod was bound to. */
  readonly nodeName?: string;
}

/**
 * Observes an attempt's Job and its Pods (`pods`: those the Job owns, any order). The Job's
 * Complete/Failed condition decides the end; before it, the newest Pod decides: none →
 * Pending, PodScheduled False/Unschedulable → Unschedulable, running → Running, bound but not
 * running → Pending with the container's waiting reason.
 */
export function observeJob(
  job: ObservedJob,
  pods: readonly ObservedPod[],
  now: Date,
): JobObservation {
  const pod = newest(pods);
  const observed =
    finishedOf(job, pod, now) ??
    (pod === undefined
      ? {
          state: "Pending" as const,
          since: iso(job.metadata?.creationTimestamp) ?? rfc3339(now),
          reason: JobObservationReason.PodNotCreated,
          message: "the Job has no Pod yet",
        }
      : podState(pod, now));
  const nodeName = pod?.spec?.nodeName;
  const startTime = startOf(pod) ?? iso(job.status?.startTime);
  return {
    ...observed,
    ...(startTime === undefined ? {} : { startTime }),
    ...(nodeName === undefined || nodeName === "" ? {} : { nodeName }),
  };
}

type StateOnly = Omit<JobObservation, "startTime" | "nodeName">;

/** The state of an unfinished Job from its newest Pod. */
function podState(pod: ObservedPod, now: Date): StateOnly {
  const scheduled = conditionOf(pod.status?.conditions, "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === JobObservationReason.Unschedulable) {
    return {
      state: "Unschedulable",
      since: iso(scheduled.lastTransitionTime) ?? rfc3339(now),
      reason: JobObservationReason.Unschedulable,
      message: scheduled.message ?? "no node fits the Pod",
    };
  }
  const container = pod.status?.containerStatuses?.[0]?.state;
  return runningOf(pod, container, now) ?? pendingOf(pod, scheduled, container, now);
}

/** A Pod running, or ended before the Job controller recorded it; undefined otherwise. */
function runningOf(
  pod: ObservedPod,
  container: ContainerState | undefined,
  now: Date,
): StateOnly | undefined {
  const phase = pod.status?.phase;
  const running = phase === "Running" || container?.running !== undefined;
  if (!running && phase !== "Succeeded" && phase !== "Failed") return undefined;
  const started = iso(container?.running?.startedAt) ?? iso(pod.status?.startTime) ?? rfc3339(now);
  if (running) {
    const message = `running on node ${pod.spec?.nodeName ?? "?"}`;
    return { state: "Running", since: started, reason: JobObservationReason.Running, message };
  }
  // The Pod ended but the Job controller has not recorded it yet: the attempt still runs
  // as far as the Job (and usage) is concerned.
  const message = `Pod ${phase}, waiting for the Job's condition`;
  return {
    state: "Running",
    since: started,
    reason: JobObservationReason.PodTerminated,
    message,
  };
}

/** A Pod not yet running: waiting for the scheduler, or bound and starting its container. */
function pendingOf(
  pod: ObservedPod,
  scheduled: ObservedCondition | undefined,
  container: ContainerState | undefined,
  now: Date,
): StateOnly {
  if (scheduled?.status !== "True") {
    return {
      state: "Pending",
      since: iso(pod.metadata?.creationTimestamp) ?? rfc3339(now),
      reason: JobObservationReason.Scheduling,
      message: "waiting for the scheduler",
    };
  }
  const waiting = container?.waiting;
  return {
    state: "Pending",
    since: iso(scheduled.lastTransitionTime) ?? rfc3339(now),
    reason: waiting?.reason ?? JobObservationReason.ContainerCreating,
    message: waiting?.message ?? `bound to node ${pod.spec?.nodeName ?? "?"}`,
  };
}

/** The end of a finished Job from its Complete or Failed condition; undefined while it runs. */
function finishedOf(
  job: ObservedJob,
  pod: ObservedPod | undefined,
  now: Date,
): StateOnly | undefined {
  const conditions = job.status?.conditions;
  const complete = conditionOf(conditions, "Complete");
  if (complete?.status === "True") {
    const at = iso(job.status?.completionTime) ?? iso(complete.lastTransitionTime) ?? rfc3339(now);
    return {
      state: "Succeeded",
      since: at,
      reason: complete.reason || JobObservationReason.Completed,
      message: complete.message || "the Job completed",
      completionTime: at,
    };
  }
  const failed = conditionOf(conditions, "Failed");
  if (failed?.status !== "True") return undefined;
  const at = iso(failed.lastTransitionTime) ?? rfc3339(now);
  return {
    state: "Failed",
    since: at,
    reason: failed.reason || JobObservationReason.Failed,
    message: (failed.message || "the Job failed") + exitOf(pod),
    completionTime: at,
  };
}

/** `; container OOMKilled (exit 137)` when the Pod's container terminated, else empty. */
function exitOf(pod: ObservedPod | undefined): string {
  const t = pod?.status?.containerStatuses?.[0]?.state?.terminated;
  if (t === undefined) return "";
  return `; container ${t.reason ?? "terminated"} (exit ${t.exitCode ?? "?"})`;
}

function conditionOf(
  conditions: readonly ObservedCondition[] | undefined,
  type: string,
): ObservedCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * True when the Job has finished: its Complete or Failed condition is True (what
 * {@link observeJob} reports as Succeeded or Failed, whatever its Pods say).
 */
export function jobFinished(job: ObservedJob): boolean {
  const conditions = job.status?.conditions;
  return (
    conditionOf(conditions, "Complete")?.status === "True" ||
    conditionOf(conditions, "Failed")?.status === "True"
  );
}

/** The newest Pod not being deleted (a replaced Pod's successor), else the newest. */
function newest(pods: readonly ObservedPod[]): ObservedPod | undefined {
  let best: ObservedPod | undefined;
  let bestLive = false;
  for (const p of pods) {
    const live = p.metadata?.deletionTimestamp === undefined;
    if (
      best === undefined ||
      (live && !bestLive) ||
      (live === bestLive && compareAge(p, best) > 0)
    ) {
      best = p;
      bestLive = live;
    }
  }
  return best;
}

/** Orders Pods by creation time, then name (a stable order for equal times). */
function compareAge(a: ObservedPod, b: ObservedPod): number {
  const ta = ms(a.metadata?.creationTimestamp);
  const tb = ms(b.metadata?.creationTimestamp);
  if (ta !== tb) return ta - tb;
  const na = a.metadata?.name ?? "";
  const nb = b.metadata?.name ?? "";
  return na < nb ? -1 : na > nb ? 1 : 0;
}

function startOf(pod: ObservedPod | undefined): string | undefined {
  if (pod === undefined) return undefined;
  const running = pod.status?.containerStatuses?.[0]?.state?.running?.startedAt;
  return iso(pod.status?.startTime) ?? iso(running);
}

function ms(t: Time | undefined): number {
  if (t === undefined) return 0;
  return typeof t === "string" ? Date.parse(t) : t.getTime();
}

/** A timestamp as RFC 3339: strings pass through as the apiserver wrote them. */
function iso(t: Time | undefined): string | undefined {
  if (t === undefined) return undefined;
  return typeof t === "string" ? t : rfc3339(t);
}

/** RFC 3339 in UTC, without fractional seconds when they are zero (as the apiserver writes). */
export function rfc3339(d: Date): string {
  const s = d.toISOString();
  return s.endsWith(".000Z") ? s.slice(0, -5) + "Z" : s;
}
