import { describe, expect, it } from "@jest/globals";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import {
  jobFinished,
  observeJob,
  type JobObservation,
  type ObservedJob,
  type ObservedPod,
} from "./index.ts";

const NOW = new Date("2026-03-01T12:10:00Z");
const T0 = "2026-03-01T12:00:00Z"; // Job created
const T1 = "2026-03-01T12:00:02Z"; // Pod bound / unschedulable since
const T2 = "2026-03-01T12:00:05Z"; // Pod started on its node
const T3 = "2026-03-01T12:05:05Z"; // Job finished

const job = (conditions: ObservedJob["status"] = {}): ObservedJob => ({
  metadata: { creationTimestamp: T0 },
  status: conditions,
});
const cond = (type: string, status: string, reason?: string, message?: string, at = T3) => ({
  type,
  status,
  ...(reason === undefined ? {} : { reason }),
  ...(message === undefined ? {} : { message }),
  lastTransitionTime: at,
});

const unscheduled: ObservedPod = {
  metadata: { name: "p-1", creationTimestamp: T0 },
  status: {
    phase: "Pending",
    conditions: [
      cond(
        "PodScheduled",
        "False",
        "Unschedulable",
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
        T1,
      ),
    ],
  },
};
const bound: ObservedPod = {
  metadata: { name: "p-1", creationTimestamp: T0 },
  spec: { nodeName: "gpu-0" },
  status: {
    phase: "Pending",
    conditions: [cond("PodScheduled", "True", undefined, undefined, T1)],
  },
};
const pulling: ObservedPod = {
  ...bound,
  status: {
    ...bound.status,
    startTime: T2,
    containerStatuses: [
      { state: { waiting: { reason: "ImagePullBackOff", message: "pull failed" } } },
    ],
  },
};
const running: ObservedPod = {
  ...bound,
  status: {
    ...bound.status,
    phase: "Running",
    startTime: T2,
    containerStatuses: [{ state: { running: { startedAt: T2 } } }],
  },
};
const oomKilled: ObservedPod = {
  ...bound,
  status: {
    ...bound.status,
    phase: "Failed",
    startTime: T2,
    containerStatuses: [{ state: { terminated: { reason: "OOMKilled", exitCode: 137 } } }],
  },
};

describe("observeJob", () => {
  it.each<[string, ObservedJob, ObservedPod[], JobObservation]>([
    [
      "no Pod yet",
      job(),
      [],
      { state: "Pending", since: T0, reason: "PodNotCreated", message: "the Job has no Pod yet" },
    ],
    [
      "a Pod waiting for the scheduler",
      job(),
      [{ metadata: { creationTimestamp: T1 }, status: { phase: "Pending" } }],
      { state: "Pending", since: T1, reason: "Scheduling", message: "waiting for the scheduler" },
    ],
    [
      "an unschedulable Pod",
      job(),
      [unscheduled],
      {
        state: "Unschedulable",
        since: T1,
        reason: "Unschedulable",
        message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
      },
    ],
    [
      "a bound Pod starting",
      job(),
      [bound],
      {
        state: "Pending",
        since: T1,
        reason: "ContainerCreating",
        message: "bound to node gpu-0",
        nodeName: "gpu-0",
      },
    ],
    [
      "a bound Pod that cannot pull its image",
      job(),
      [pulling],
      {
        state: "Pending",
        since: T1,
        reason: "ImagePullBackOff",
        message: "pull failed",
        startTime: T2,
        nodeName: "gpu-0",
      },
    ],
    [
      "a running Pod",
      job({ startTime: T0 }),
      [running],
      {
        state: "Running",
        since: T2,
        reason: "Running",
        message: "running on node gpu-0",
        startTime: T2,
        nodeName: "gpu-0",
      },
    ],
    [
      "a Pod that ended before the Job's condition",
      job(),
      [{ ...running, status: { ...running.status, phase: "Succeeded", containerStatuses: [] } }],
      {
        state: "Running",
        since: T2,
        reason: "PodTerminated",
        message: "Pod Succeeded, waiting for the Job's condition",
        startTime: T2,
        nodeName: "gpu-0",
      },
    ],
    [
      "a complete Job",
      job({
        completionTime: T3,
        conditions: [
          cond(
            "Complete",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
          ),
        ],
      }),
      [running],
      {
        state: "Succeeded",
        since: T3,
        reason: "CompletionsReached",
        message: "Reached expected number of succeeded pods",
        completionTime: T3,
        startTime: T2,
        nodeName: "gpu-0",
      },
    ],
    [
      "a complete Job with empty reason (before Kubernetes 1.31)",
      job({ completionTime: T3, conditions: [cond("Complete", "True", "")] }),
      [running],
      {
        state: "Succeeded",
        since: T3,
        reason: "Completed",
        message: "the Job completed",
        completionTime: T3,
        startTime: T2,
        nodeName: "gpu-0",
      },
    ],
    [
      "a Job past its deadline",
      job({
        conditions: [
          cond(
            "Failed",
            "True",
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
          ),
        ],
      }),
      [running],
      {
        state: "Failed",
        since: T3,
        reason: "DeadlineExceeded",
        message: "Job was active longer than specified deadline",
        completionTime: T3,
        startTime: T2,
        nodeName: "gpu-0",
      },
    ],
    [
      "a Job whose container was OOM-killed",
      job({
        conditions: [
          cond(
            "Failed",
            "True",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
          ),
        ],
      }),
      [oomKilled],
      {
        state: "Failed",
        since: T3,
        reason: "BackoffLimitExceeded",
        message: "Job has reached the specified backoff limit; container OOMKilled (exit 137)",
        completionTime: T3,
        startTime: T2,
        nodeName: "gpu-0",
      },
    ],
    [
      "a Job with no times at all (now is the fallback)",
      {},
      [],
      {
        state: "Pending",
        since: "2026-03-01T12:10:00Z",
        reason: "PodNotCreated",
        message: "the Job has no Pod yet",
      },
    ],
  ])("%s", (_what, j, pods, want) => {
    expect(observeJob(j, pods, NOW)).toEqual(want);
  });

  it("reads the newest Pod that is not being deleted", () => {
    const old = {
      ...unscheduled,
      metadata: { name: "p-0", creationTimestamp: "2026-03-01T11:00:00Z" },
    };
    const deleting = {
      ...bound,
      metadata: { name: "p-2", creationTimestamp: T3, deletionTimestamp: T3 },
    };
    const got = observeJob(job(), [running, deleting, old], NOW);
    expect(got.state).toBe("Running");
  });

  it("reads client-node models with Date timestamps", () => {
    const model: V1Job = {
      metadata: { creationTimestamp: new Date(T0) },
      status: {
        completionTime: new Date(T3),
        conditions: [{ type: "Complete", status: "True", lastTransitionTime: new Date(T3) }],
      },
    };
    const pod: V1Pod = {
      spec: { nodeName: "gpu-0", containers: [] },
      status: { startTime: new Date(T2) },
    };
    expect(observeJob(model, [pod], NOW)).toMatchObject({
      state: "Succeeded",
      since: T3,
      startTime: T2,
      completionTime: T3,
    });
  });
});

describe("jobFinished", () => {
  const cond = (type: string, status: string): ObservedJob => ({
    status: {
      conditions: [
        { type: "SuccessCriteriaMet", status: "True" },
        { type, status },
      ],
    },
  });
  it.each<[string, ObservedJob, boolean]>([
    ["no status", {}, false],
    ["running", { status: { startTime: "2026-03-01T12:00:00Z" } }, false],
    ["Complete True", cond("Complete", "True"), true],
    ["Failed True", cond("Failed", "True"), true],
    ["Complete False", cond("Complete", "False"), false],
    ["Suspended True", cond("Suspended", "True"), false],
  ])("%s", (_what, j, want) => {
    expect(jobFinished(j)).toBe(want);
    // The same answer as observeJob's end states.
    const state = observeJob(j, [], new Date(0)).state;
    expect(state === "Succeeded" || state === "Failed").toBe(want);
  });
});
