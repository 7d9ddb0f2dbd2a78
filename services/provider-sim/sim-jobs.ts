// The simulator's jobs: submitted under idempotency keys, progressing queued → running →
// succeeded (or failed, or stuck in queued) as the injected clock passes their durations. A
// job's state is computed from the clock on every read, never stepped, so a test that moves
// the clock sees exactly the state the durations say.
import { createHash } from "node:crypto";
import type { JobRequest, JobState, ProviderJob } from "../provider-client/index.ts";

/** How long a job stays queued, then running, in ms of the injected clock. */
export interface SimDurations {
  readonly queuedMs: number;
  readonly runningMs: number;
}

/** What becomes of a job: it succeeds, fails when its running time is up, or never starts. */
export type SimFate = "succeed" | "fail" | "stuck";

/** Labels a request may carry to steer its own job (tests and the routing war-game). */
export const SIM_LABELS = {
  /** Overrides the queued duration, in ms. */
  queuedMs: "sim.vaultmesh.cloud/queued-ms",
  /** Overrides the running duration, in ms. */
  runningMs: "sim.vaultmesh.cloud/running-ms",
  /** Forces the fate: succeed, fail or stuck. */
  fate: "sim.vaultmesh.cloud/fate",
} as const;

/** One job as the simulator stores it. */
export interface SimJob {
  readonly id: string;
  readonly key: string;
  /** The request as stable JSON (sorted keys): what a replay must match. */
  readonly fingerprint: string;
  readonly request: JobRequest;
  readonly pricePerHour: number;
  readonly createdMs: number;
  readonly durations: SimDurations;
  readonly fate: SimFate;
  cancelledMs?: number;
}

/** JSON with object keys sorted, so equal values give equal strings whatever the key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The provider's id of the job submitted under `key`: `job-<16 hex of sha256(key)>`. */
export function jobIdFor(key: string): string {
  return "job-" + createHash("sha256").update(key).digest("hex").slice(0, 16);
}

/** The durations and fate of a new job: its labels' overrides, else the defaults and dice. */
export function planJob(
  request: JobRequest,
  defaults: SimDurations,
  dice: { readonly failed: boolean; readonly stuck: boolean },
): { durations: SimDurations; fate: SimFate } {
  const labels = request.labels ?? {};
  const ms = (label: string, fallback: number): number => {
    const v = Number(labels[label]);
    return label in labels && Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  const forced = labels[SIM_LABELS.fate];
  const fate: SimFate =
    forced === "succeed" || forced === "fail" || forced === "stuck"
      ? forced
      : dice.stuck
        ? "stuck"
        : dice.failed
          ? "fail"
          : "succeed";
  return {
    durations: {
      queuedMs: ms(SIM_LABELS.queuedMs, defaults.queuedMs),
      runningMs: ms(SIM_LABELS.runningMs, defaults.runningMs),
    },
    fate,
  };
}

/** The job as the protocol reports it at `nowMs`. */
export function viewOf(job: SimJob, nowMs: number): ProviderJob {
  const startMs = job.createdMs + job.durations.queuedMs;
  const endMs = startMs + job.durations.runningMs;
  const cancelled = job.cancelledMs !== undefined && job.cancelledMs <= nowMs;
  const at = cancelled ? (job.cancelledMs ?? nowMs) : nowMs;
  let state: JobState;
  let reason: string;
  let message: string;
  const started = job.fate !== "stuck" && at >= startMs;
  const ended = started && at >= endMs;
  if (ended) {
    state = job.fate === "fail" ? "failed" : "succeeded";
    reason = job.fate === "fail" ? "ContainerFailed" : "Completed";
    message = job.fate === "fail" ? "the container exited with code 1" : "the job completed";
  } else if (cancelled) {
    state = "cancelled";
    reason = "Cancelled";
    message = "cancelled at the client's request";
  } else if (started) {
    state = "running";
    reason = "Running";
    message = "running";
  } else {
    state = "queued";
    reason = job.fate === "stuck" ? "NoOffer" : "Queued";
    message = job.fate === "stuck" ? "waiting for an offer" : "waiting for a GPU";
  }
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    id: job.id,
    idempotencyKey: job.key,
    state,
    reason,
    message,
    gpu: job.request.gpu,
    ...(job.request.region === undefined ? {} : { region: job.request.region }),
    pricePerHour: job.pricePerHour,
    createdAt: iso(job.createdMs),
    ...(started ? { startedAt: iso(startMs) } : {}),
    ...(ended ? { finishedAt: iso(endMs) } : cancelled ? { finishedAt: iso(at) } : {}),
    ...(job.request.labels === undefined ? {} : { labels: job.request.labels }),
  };
}
