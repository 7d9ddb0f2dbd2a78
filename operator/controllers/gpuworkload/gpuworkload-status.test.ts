import { describe, expect, it } from "@jest/globals";
import type { GPUWorkloadStatus } from "../../../crds/index.ts";
import {
  DependencyUnavailableError,
  OutageReason,
} from "../../../services/dependency-health/index.ts";
import { KubeApiError } from "../../../services/kube/index.ts";
import { IneligibleReason as R } from "../../../services/routing/index.ts";
import { RECONCILED, ReconcileFailure, WorkloadReason } from "./gpuworkload-reasons.ts";
import {
  RECEIPT_PENDING,
  stateConditions,
  waitingReason,
  withFailure,
  withoutFailure,
} from "./gpuworkload-status.ts";

describe("waitingReason", () => {
  it.each<{ name: string; cands: { codes: R[]; reasons?: string[] }[]; want: WorkloadReason }>([
    { name: "no treaties", cands: [], want: WorkloadReason.NoTreaty },
    {
      name: "no treaty prices the GPU type",
      cands: [{ codes: [R.GpuTypeNotPriced] }, { codes: [R.Suspended, R.GpuTypeNotPriced] }],
      want: WorkloadReason.GpuTypeNotOffered,
    },
    {
      name: "one treaty prices it (pinned elsewhere)",
      cands: [{ codes: [R.GpuTypeNotPriced] }, { codes: [R.PinnedToOther] }],
      want: WorkloadReason.NoEligibleTreaty,
    },
    {
      name: "a treaty that fits but for its quota",
      cands: [{ codes: [R.MaxConcurrentJobs] }, { codes: [R.Suspended] }],
      want: WorkloadReason.QuotaExhausted,
    },
    {
      name: "a treaty that fits but for both quotas",
      cands: [{ codes: [R.MaxConcurrentJobs, R.GpuHoursExhausted] }],
      want: WorkloadReason.QuotaExhausted,
    },
    {
      name: "a quota and something else on the same treaty",
      cands: [{ codes: [R.Suspended, R.GpuHoursExhausted] }],
      want: WorkloadReason.NoEligibleTreaty,
    },
    {
      name: "anything else",
      cands: [{ codes: [R.PriceAboveMax] }],
      want: WorkloadReason.NoEligibleTreaty,
    },
    {
      name: "every treaty attempted (abandoned), one in its back-off",
      cands: [{ codes: [R.AlreadyAttempted] }, { codes: [R.PriceAboveMax] }],
      want: WorkloadReason.AwaitingRetry,
    },
    {
      name: "attempted and too big for the pool's nodes: never fits",
      cands: [{ codes: [R.AlreadyAttempted, R.ExceedsLargestNode] }],
      want: WorkloadReason.NoEligibleTreaty,
    },
    {
      name: "an 8-GPU workload on a pool of 4-GPU nodes",
      cands: [{ codes: [R.ExceedsLargestNode] }],
      want: WorkloadReason.NoEligibleTreaty,
    },
    {
      // Codes decide, never the text: a text that reads like a quota does not count.
      name: "reason texts without codes",
      cands: [{ codes: [], reasons: ["treaty at maxConcurrentJobs 4/4"] }],
      want: WorkloadReason.NoEligibleTreaty,
    },
  ])("$name → $want", ({ cands, want }) => {
    expect(waitingReason(cands)).toBe(want);
  });
});

describe("withFailure / withoutFailure", () => {
  const now = new Date("2026-03-01T12:00:00Z");
  const before: GPUWorkloadStatus = {
    observedGeneration: 3,
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "Running",
        message: "running",
        lastTransitionTime: "2026-03-01T11:00:00Z",
      },
    ],
  };

  it.each([
    {
      name: "an API error",
      err: new KubeApiError(403, "Forbidden", 'jobs.batch "x" is forbidden: exceeded quota'),
      wantReason: ReconcileFailure.ApiError,
      wantMessage: /exceeded quota/,
    },
    {
      name: "a dependency away",
      err: new DependencyUnavailableError(
        "ledger",
        OutageReason.Unreachable,
        "connect ECONNREFUSED",
      ),
      wantReason: ReconcileFailure.DependencyUnavailable,
      wantMessage: /ledger unavailable \(Unreachable\)/,
    },
    {
      name: "anything else",
      err: new Error("treaty t vanished from the cache"),
      wantReason: ReconcileFailure.ReconcileFailed,
      wantMessage: /^treaty t vanished from the cache$/,
    },
    {
      name: "a very long message",
      err: new Error("x".repeat(5000)),
      wantReason: ReconcileFailure.ReconcileFailed,
      wantMessage: /^x{1023}…$/,
    },
  ])("$name → Reconciled False $wantReason", ({ err, wantReason, wantMessage }) => {
    const got = withFailure(before, err, now);
    const c = got.conditions?.find((x) => x.type === RECONCILED);
    expect(c).toMatchObject({ status: "False", reason: wantReason });
    expect(c?.message).toMatch(wantMessage);
    // The rest as it was: this pass did not finish observing the workload.
    expect(got.observedGeneration).toBe(3);
    expect(got.conditions?.find((x) => x.type === "Ready")).toEqual(before.conditions?.[0]);
  });

  it("is removed by a pass that succeeds, leaving the rest", () => {
    const failed = withFailure(before, new Error("boom"), now);
    expect(withoutFailure(failed)).toEqual(before);
    expect(withoutFailure(before)).toBe(before);
  });
});

describe("stateConditions", () => {
  it.each([
    { kind: "waiting" as const, wantReady: "False" },
    { kind: "placed" as const, wantReady: "False" },
    { kind: "running" as const, wantReady: "True" },
  ])("$kind → Ready $wantReady", ({ kind, wantReady }) => {
    const cs = stateConditions({ kind, reason: WorkloadReason.NoEligibleTreaty, message: "m" });
    expect(cs.find((c) => c.type === "Ready")?.status).toBe(wantReady);
    expect(cs.find((c) => c.type === "Admitted")?.status).toBe("True");
  });

  it("marks a failed outcome Failed and not Complete", () => {
    const cs = stateConditions({ kind: "finished", outcome: "Failed", message: "boom" });
    expect(cs.find((c) => c.type === "Failed")?.status).toBe("True");
    expect(cs.find((c) => c.type === "Complete")?.status).toBe("False");
  });

  it.each([{ outcome: "Succeeded" as const }, { outcome: "Failed" as const }])(
    "a $outcome attempt waiting for its receipt is neither Complete nor Failed yet",
    ({ outcome }) => {
      const cs = stateConditions({ kind: "recording", outcome, message: "ledger down" });
      for (const type of ["Complete", "Failed", "Ready"]) {
        const c = cs.find((x) => x.type === type);
        expect(c).toMatchObject({
          status: "False",
          reason: RECEIPT_PENDING,
          message: "ledger down",
        });
      }
      expect(cs.find((c) => c.type === "Running")).toMatchObject({
        status: "False",
        reason: outcome,
      });
    },
  );
});
