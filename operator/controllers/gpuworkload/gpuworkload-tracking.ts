/**
 * The tracking phase of a GPUWorkload reconcile: the running attempt is looked at — in this
 * cluster through its Job and Pods (the pure step of in-cluster-attempt.ts), at an external
 * provider through the provider protocol (external-attempt.ts) — and the step it asks for is
 * done: record the finished attempt, report it running, fail over, or wait. Also adopts Jobs
 * that a crash or a lost status write left unrecorded.
 */
import { IN_CLUSTER_PROVIDER } from "../../../crds/constants.ts";
import { Resources } from "../../../services/kube/index.ts";
import { rfc3339 } from "../../runtime/index.ts";
import { Annotations, Labels } from "./completion-receipt.ts";
import { completePhase } from "./gpuworkload-completion.ts";
import {
  JOB_CACHE_LAG_REQUEUE_MS,
  MIN_EXTERNAL_REQUEUE_MS,
  PROVIDER_UNAVAILABLE_REQUEUE_MS,
  WorkloadReason,
} from "./gpuworkload-reasons.ts";
import {
  abandonAttempt,
  attemptOf,
  isExternal,
  PODS_BY_JOB,
  routedMessage,
  type PhaseDeps,
  type WorkloadScope,
} from "./gpuworkload-scope.ts";
import { inClusterStep, type Attempt } from "./in-cluster-attempt.ts";
import type { Job } from "../../shared/kube-types.ts";

/** What tracking decided: whether the attempt was abandoned (route the next one). */
export interface TrackOutcome {
  readonly failedOver: boolean;
}

const STAY: TrackOutcome = { failedOver: false };
const FAILED_OVER: TrackOutcome = { failedOver: true };

/** Tracks the running attempt `cur`, in this cluster or at its provider. */
export async function trackPhase(
  d: PhaseDeps,
  s: WorkloadScope,
  cur: Attempt,
): Promise<TrackOutcome> {
  return isExternal(cur) ? await trackExternal(d, s, cur) : await trackInCluster(d, s, cur);
}

// The attempt's Job: completion, start, or failover before start (inClusterStep decides).
async function trackInCluster(d: PhaseDeps, s: WorkloadScope, cur: Attempt): Promise<TrackOutcome> {
  const job = s.jobs.find((j) => attemptOf(j) === cur.attempt);
  if (!job) return await missingJob(d, s, cur);
  const step = inClusterStep({
    attempt: cur,
    job,
    pods: d.pods.byIndex(PODS_BY_JOB, `${job.metadata.namespace}/${job.metadata.name}`),
    treaty: d.treaties.get(cur.treaty),
    now: s.now,
    unschedulableTimeoutMs: d.unschedulableTimeoutMs,
  });
  switch (step.kind) {
    case "complete":
      await completePhase(d, s, step.finished);
      return STAY;
    case "running":
      s.status = { ...s.status, startTime: s.status.startTime ?? step.startTime };
      s.state = { kind: "running", message: step.message };
      return STAY;
    case "failover":
      if (step.deleteJob) await deleteJob(d, job);
      abandonAttempt(s, cur, step.reason);
      return FAILED_OVER;
    case "wait":
      s.state = {
        kind: "placed",
        message: routedMessage(s.status) ?? "",
        pendingReason: step.pendingReason,
      };
      s.requeueAfterMs = step.requeueAfterMs;
      return STAY;
  }
}

async function deleteJob(d: PhaseDeps, job: Job): Promise<void> {
  await d.client.delete(
    Resources.Job,
    { name: job.metadata.name ?? "", namespace: job.metadata.namespace },
    { propagationPolicy: "Background", ...(job.metadata.uid ? { uid: job.metadata.uid } : {}) },
  );
}

// The status records a running attempt whose Job is not in the cache.
async function missingJob(d: PhaseDeps, s: WorkloadScope, cur: Attempt): Promise<TrackOutcome> {
  const name = cur.jobName ?? "";
  const live = await d.client.get<Job>(Resources.Job, name, s.wl.metadata.namespace);
  if (live && !live.metadata.deletionTimestamp) {
    s.requeueAfterMs = JOB_CACHE_LAG_REQUEUE_MS;
    return STAY;
  }
  abandonAttempt(s, cur, "Job was deleted");
  return FAILED_OVER;
}

// An attempt under an external treaty: submit, poll, complete, or fail over.
async function trackExternal(d: PhaseDeps, s: WorkloadScope, cur: Attempt): Promise<TrackOutcome> {
  if (!d.external) {
    const message = `attempt ${cur.attempt} is under external treaty ${cur.treaty}, but this operator has no provider client`;
    s.state = { kind: "waiting", reason: WorkloadReason.ProviderUnavailable, message };
    s.requeueAfterMs = PROVIDER_UNAVAILABLE_REQUEUE_MS;
    return STAY;
  }
  const step = await d.external.step(s.wl, s.status, cur, d.treaties.get(cur.treaty), s.now);
  if (step.kind === "abandon") {
    abandonAttempt(s, cur, step.reason);
    return FAILED_OVER;
  }
  const routed = routedMessage(s.status);
  const attempts = (s.status.attempts ?? []).map((a) =>
    a.attempt === cur.attempt ? { ...a, externalId: step.job.id } : a,
  );
  s.status = { ...s.status, attempts };
  if (step.kind === "finished") {
    await completePhase(d, s, step.finished);
    return STAY;
  }
  if (step.kind === "running") {
    s.status.startTime ??= step.job.startedAt ?? rfc3339(s.now);
    s.state = { kind: "running", message: step.message };
  } else {
    s.state = {
      kind: "placed",
      message: routed ?? step.message,
      pendingReason: WorkloadReason.Queued,
    };
  }
  s.requeueAfterMs = Math.max(MIN_EXTERNAL_REQUEUE_MS, step.requeueAfterMs);
  return STAY;
}

/**
 * Records Jobs created before a crash (or a lost status write) that the status does not
 * record yet: their labels and annotations carry the attempt and placement they were made for.
 */
export function adoptUnrecorded(d: PhaseDeps, s: WorkloadScope): void {
  const status = s.status;
  const last = status.attempts?.at(-1)?.attempt ?? 0;
  if (!s.jobs.some((x) => attemptOf(x) > last)) {
    status.attempts ??= []; // the common case: every Job is recorded
    return;
  }
  const attempts = [...(status.attempts ?? [])];
  const newer = s.jobs
    .filter((x) => attemptOf(x) > last)
    .sort((a, b) => attemptOf(a) - attemptOf(b));
  for (const j of newer) {
    const ann = j.metadata.annotations ?? {};
    const treaty = j.metadata.labels?.[Labels.treaty] ?? "";
    const provider = ann[Annotations.provider] ?? IN_CLUSTER_PROVIDER;
    attempts.push({
      attempt: attemptOf(j),
      treaty,
      provider,
      jobName: j.metadata.name ?? "",
      outcome: "Running",
      ...(j.metadata.creationTimestamp ? { startTime: j.metadata.creationTimestamp } : {}),
    });
    status.placement = {
      treaty,
      provider,
      ...(ann[Annotations.region] ? { region: ann[Annotations.region] } : {}),
      pricePerHour: Number(ann[Annotations.pricePerHour] ?? "0"),
    };
    status.jobRef = { name: j.metadata.name ?? "" };
    d.logger.info(
      { workload: s.wl.metadata.name, job: j.metadata.name },
      "adopted a Job the status did not record",
    );
  }
  status.attempts = attempts;
}
