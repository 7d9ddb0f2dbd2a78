/**
 * Health cases of a GPUWorkload: the config/samples workload routed by the operator's router
 * against the sample in-cluster treaty, observed through its Job and Pod, and finished with a
 * signed completion receipt, each status computed by the operator's withState.
 */
import { createPrivateKey } from "node:crypto";
import {
  GPUWorkloadSchema,
  TreatySchema,
  type GPUWorkload,
  type GPUWorkloadInput,
  type GPUWorkloadStatus,
  type TreatyInput,
} from "../../../crds/index.ts";
import { formatUsd, microsToUsd } from "../../../crds/domain/index.ts";
import {
  completionReceiptFor,
  type FinishedAttempt,
  receiptResource,
} from "../../../operator/controllers/gpuworkload/completion-receipt.ts";
import {
  waitingReason,
  withState,
} from "../../../operator/controllers/gpuworkload/gpuworkload-status.ts";
import type { WorkloadReason } from "../../../operator/controllers/gpuworkload/gpuworkload-reasons.ts";
import { computeTreatyStatus } from "../../../operator/controllers/treaty/treaty-status.ts";
import { observeJob } from "../../../operator/placement/index.ts";
import { describeDecision, route, statusCandidates } from "../../../services/routing/index.ts";
import { ed25519Signer } from "../../../services/ledger/ed25519.ts";
import { createReceipt } from "../../../services/ledger/receipt.ts";
import {
  CREATED,
  FOREGROUND_DELETION,
  type HealthCase,
  lifecycleCases,
  NOW,
  plain,
  sample,
  served,
} from "./case-kit.ts";

/** A fixed Ed25519 key (PKCS#8 around a constant seed): signatures are deterministic. */
const SIGNER = ed25519Signer(
  createPrivateKey({
    key: Buffer.concat([
      Buffer.from("302e020100300506032b657004220420", "hex"),
      Buffer.alloc(32, 7),
    ]),
    format: "der",
    type: "pkcs8",
  })
    .export({ format: "pem", type: "pkcs8" })
    .toString(),
);

function workload(gpuType?: string): GPUWorkload {
  const s = sample<GPUWorkloadInput>("gpuworkload-train-llama-lora.yaml");
  const spec = gpuType ? { ...s.spec, gpu: { ...s.spec.gpu, type: gpuType } } : s.spec;
  return served(GPUWorkloadSchema.parse({ ...s, spec }));
}

function inClusterTreaty(): ReturnType<typeof TreatySchema.parse> {
  const t = served(TreatySchema.parse(sample<TreatyInput>("treaty-in-cluster-a10g.yaml")));
  const quiet = { completions: [], gpuSecondsThisPeriod: 0, routed: 0, placed: 0, activeJobs: 0 };
  return { ...t, status: computeTreatyStatus(t, { ...quiet, rttMs: [] }, NOW, NOW).status };
}

/** The workload routed (or not) by the operator's router: status with candidates and placement. */
function routed(wl: GPUWorkload): {
  status: GPUWorkloadStatus;
  message: string;
  reason: WorkloadReason;
} {
  const decision = route({ spec: wl.spec, treaties: [inClusterTreaty()], now: NOW });
  return {
    status: {
      candidates: statusCandidates(decision),
      ...(decision.placement ? { placement: decision.placement } : {}),
    },
    message: describeDecision(decision),
    reason: waitingReason(decision.candidates),
  };
}

const JOB = "train-llama-lora-1";
const STARTED = "2026-06-01T09:01:00Z";

/** The finished attempt and its signed receipt, as the reconciler's complete() records them. */
export function finished(outcome: "Succeeded" | "Failed"): {
  workload: GPUWorkload;
  receipt: ReturnType<typeof receiptResource>;
} {
  const wl = workload();
  const r = routed(wl);
  const before = withState(
    wl,
    withState(wl, r.status, { kind: "placed", message: r.message }, NOW),
    { kind: "running", message: "running on node gpu-node-1" },
    NOW,
  );
  const f: FinishedAttempt = {
    attempt: 1,
    outcome,
    reason: outcome === "Succeeded" ? "Completed" : "BackoffLimitExceeded",
    treaty: "in-cluster-a10g",
    provider: "in-cluster",
    region: "local",
    pricePerHour: 0.6,
    jobName: JOB,
    createdAt: CREATED,
    startTime: STARTED,
    completionTime: "2026-06-01T09:46:00Z",
  };
  const input = completionReceiptFor(wl, f);
  const signed = createReceipt(input, SIGNER, { now: () => new Date("2026-06-01T09:46:01Z") });
  const receipt = receiptResource(wl, signed, input.payload);
  const p = input.payload;
  const msg =
    `${outcome === "Succeeded" ? "completed" : "failed"} under treaty ${p.treaty}: ` +
    `${p.gpuSeconds} GPU-seconds, ${formatUsd(p.costMicroUsd)}; receipt ${receipt.metadata.name} at log index 41`;
  const status = withState(
    wl,
    {
      ...before,
      startTime: p.startTime,
      completionTime: p.completionTime,
      gpuSeconds: p.gpuSeconds,
      costMicroUsd: p.costMicroUsd,
      cost: microsToUsd(p.costMicroUsd),
      receiptRef: { name: receipt.metadata.name ?? "" },
    },
    { kind: "finished", outcome, message: msg },
    NOW,
  );
  return { workload: { ...wl, status }, receipt };
}

/** The GPUWorkload cases, healthy first. */
export function gpuWorkloadCases(): HealthCase[] {
  const wl = workload();
  const placed = routed(wl);
  const waiting = routed(workload("h100"));
  const job = { metadata: { creationTimestamp: CREATED }, status: { startTime: STARTED } };
  const pod = {
    metadata: { name: `${JOB}-x7k2p`, creationTimestamp: CREATED },
    spec: { nodeName: "gpu-node-1" },
    status: {
      phase: "Running",
      startTime: STARTED,
      containerStatuses: [{ name: "workload", state: { running: { startedAt: STARTED } } }],
    },
  };
  const obs = observeJob(job, [pod], NOW);
  if (obs.state !== "Running")
    throw new Error(`the sample Pod observes as ${obs.state}, not Running`);
  const pending = withState(
    wl,
    placed.status,
    { kind: "placed", message: placed.message, pendingReason: "Pending" },
    NOW,
  );
  // Status builds up as the reconciler writes it: placed, then running, then finished.
  const running: GPUWorkload = {
    ...wl,
    status: withState(
      wl,
      { ...pending, startTime: STARTED },
      { kind: "running", message: obs.message },
      NOW,
    ),
  };
  const succeeded = finished("Succeeded").workload;
  const failed = finished("Failed").workload;
  return [
    {
      name: "healthy-complete",
      object: plain(succeeded),
      want: {
        status: "Healthy",
        message: `Succeeded: completed under treaty in-cluster-a10g: 2700 GPU-seconds, $0.45; receipt ${succeeded.status?.receiptRef?.name} at log index 41`,
      },
    },
    {
      name: "degraded-failed",
      object: plain(failed),
      want: {
        status: "Degraded",
        message: `Failed: failed under treaty in-cluster-a10g: 2700 GPU-seconds, $0.45; receipt ${failed.status?.receiptRef?.name} at log index 41`,
      },
    },
    {
      name: "progressing-running",
      object: plain(running),
      want: { status: "Progressing", message: `Running: ${obs.message}` },
    },
    {
      name: "progressing-job-pending",
      object: plain({ ...wl, status: pending }),
      want: { status: "Progressing", message: "Pending: waiting for the job to start" },
    },
    {
      name: "progressing-no-eligible-treaty",
      object: plain({
        ...workload("h100"),
        status: withState(
          workload("h100"),
          waiting.status,
          { kind: "waiting", reason: waiting.reason, message: waiting.message },
          NOW,
        ),
      }),
      want: {
        status: "Progressing",
        message:
          "GpuTypeNotOffered: no eligible treaty among 1: in-cluster-a10g: gpu type h100 not priced by this treaty",
      },
    },
    // Deleted with --cascade=foreground: the Job goes first, the workload waits for it.
    ...lifecycleCases(running, FOREGROUND_DELETION),
  ];
}
