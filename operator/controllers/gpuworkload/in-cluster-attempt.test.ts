import { describe, expect, it } from "@jest/globals";
import type { Treaty } from "../../../crds/index.ts";
import { treaty } from "../../../test/builders/objects.ts";
import { Labels } from "./completion-receipt.ts";
import { MIN_PENDING_REQUEUE_MS } from "./gpuworkload-reasons.ts";
import {
  inClusterStep,
  treatyUnfit,
  type Attempt,
  type InClusterStep,
} from "./in-cluster-attempt.ts";
import type { Job, Pod } from "../../shared/kube-types.ts";

const T0 = "2026-03-01T12:00:00Z"; // the Job was created
const TIMEOUT_MS = 60_000;
const at = (seconds: number): Date => new Date(Date.parse(T0) + seconds * 1000);

const attempt: Attempt = {
  attempt: 1,
  treaty: "pool",
  provider: "in-cluster",
  jobName: "w-a1",
  outcome: "Running",
};
const job = (patch: Partial<Job> = {}, meta: Partial<Job["metadata"]> = {}): Job => ({
  metadata: {
    name: "w-a1",
    namespace: "ns",
    creationTimestamp: T0,
    labels: { [Labels.attempt]: "1", [Labels.treaty]: "pool" },
    ...meta,
  },
  ...patch,
});
const complete: Job = job({
  status: {
    startTime: "2026-03-01T12:00:05Z",
    completionTime: "2026-03-01T12:05:00Z",
    conditions: [{ type: "Complete", status: "True", lastTransitionTime: "2026-03-01T12:05:00Z" }],
  },
});
const pod = (status: Pod["status"], nodeName?: string): Pod => ({
  metadata: { name: "w-a1-x", creationTimestamp: T0 },
  spec: nodeName === undefined ? {} : { nodeName },
  status,
});
const unschedulable = pod({
  phase: "Pending",
  conditions: [
    {
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
      lastTransitionTime: T0,
    },
  ],
});
const running = pod(
  {
    phase: "Running",
    startTime: "2026-03-01T12:00:05Z",
    conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: T0 }],
  },
  "gpu-0",
);
const ready: Treaty = (() => {
  const t = treaty("pool").inCluster().obj();
  t.status = { conditions: [] };
  return t;
})();
const degraded: Treaty = {
  ...ready,
  status: {
    conditions: [
      {
        type: "Degraded",
        status: "True",
        reason: "SLOBreached",
        message: "",
        lastTransitionTime: T0,
      },
    ],
  },
};

describe("inClusterStep", () => {
  it.each<{
    name: string;
    job: Job;
    pods?: Pod[];
    treaty?: Treaty | undefined;
    seconds: number;
    want: Partial<InClusterStep> & { kind: InClusterStep["kind"] };
    wantReason?: RegExp;
  }>([
    {
      name: "a Job being deleted fails over without deleting it again",
      job: job({}, { deletionTimestamp: T0 }),
      seconds: 1,
      want: { kind: "failover", deleteJob: false, reason: "Job is being deleted" },
    },
    {
      name: "a finished Job completes",
      job: complete,
      seconds: 400,
      want: { kind: "complete" },
    },
    {
      name: "a finished Job completes even under a treaty gone since",
      job: complete,
      treaty: undefined,
      seconds: 400,
      want: { kind: "complete" },
    },
    {
      name: "a running Pod runs, since it took its GPUs",
      job: job(),
      pods: [running],
      seconds: 30,
      want: { kind: "running", startTime: "2026-03-01T12:00:05Z" },
    },
    {
      name: "a running Pod keeps running under a suspended treaty (no failover once started)",
      job: job(),
      pods: [running],
      treaty: { ...ready, spec: { ...ready.spec, suspended: true } },
      seconds: 30,
      want: { kind: "running" },
    },
    {
      name: "not started under a deleted treaty fails over, deleting the Job",
      job: job(),
      treaty: undefined,
      seconds: 5,
      want: { kind: "failover", deleteJob: true },
      wantReason: /^treaty pool was deleted before the job started$/,
    },
    {
      name: "not started under a Degraded treaty fails over",
      job: job(),
      treaty: degraded,
      seconds: 5,
      want: { kind: "failover", deleteJob: true },
      wantReason: /became Degraded \(SLOBreached\)/,
    },
    {
      name: "unschedulable within the timeout waits until the timeout",
      job: job(),
      pods: [unschedulable],
      seconds: 20,
      want: { kind: "wait", pendingReason: "Unschedulable", requeueAfterMs: 40_000 },
    },
    {
      name: "unschedulable at the timeout fails over",
      job: job(),
      pods: [unschedulable],
      seconds: 60,
      want: { kind: "failover", deleteJob: true },
      wantReason: /^unschedulable for 60s: 0\/3 nodes are available/,
    },
    {
      name: "pending (no Pod yet) past the timeout still waits: only unschedulable fails over",
      job: job(),
      seconds: 90,
      want: { kind: "wait", pendingReason: "Pending", requeueAfterMs: MIN_PENDING_REQUEUE_MS },
    },
  ])("$name", ({ job: j, pods, seconds, want, wantReason, ...rest }) => {
    const got = inClusterStep({
      attempt,
      job: j,
      pods: pods ?? [],
      treaty: "treaty" in rest ? rest.treaty : ready,
      now: at(seconds),
      unschedulableTimeoutMs: TIMEOUT_MS,
    });
    expect(got).toMatchObject(want);
    if (wantReason) expect(got.kind === "failover" && got.reason).toMatch(wantReason);
  });

  it("completes with the facts of the Job (attempt, treaty, times)", () => {
    const got = inClusterStep({
      attempt,
      job: complete,
      pods: [],
      treaty: ready,
      now: at(400),
      unschedulableTimeoutMs: TIMEOUT_MS,
    });
    expect(got.kind === "complete" && got.finished).toMatchObject({
      attempt: 1,
      outcome: "Succeeded",
      treaty: "pool",
      startTime: "2026-03-01T12:00:05Z",
      completionTime: "2026-03-01T12:05:00Z",
    });
  });
});

describe("treatyUnfit", () => {
  it.each([
    { name: "fit", t: ready, want: undefined },
    { name: "deleted", t: undefined, want: "treaty pool was deleted before the job started" },
    {
      name: "suspended",
      t: { ...ready, spec: { ...ready.spec, suspended: true } },
      want: "treaty pool was suspended before the job started",
    },
    {
      name: "expired",
      t: {
        ...ready,
        status: {
          conditions: [
            {
              type: "Expired",
              status: "True" as const,
              reason: "Expired",
              message: "",
              lastTransitionTime: T0,
            },
          ],
        },
      },
      want: "treaty pool expired before the job started",
    },
  ])("$name", ({ t, want }) => {
    expect(treatyUnfit(t, "pool")).toBe(want);
  });
});
