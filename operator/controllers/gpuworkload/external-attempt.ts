/**
 * An attempt under an external treaty, through the provider protocol (docs/provider-protocol.md):
 * submit under the attempt's idempotency key, poll the provider's job, and say what the
 * reconciler should do next — wait (queued, running), record the finished attempt, or abandon
 * it and fail over. The reconciler records the attempt in status *before* this submits it, so
 * a crash between submit and the status write re-submits the same key to the same provider,
 * which answers with the job it already has.
 */
import type { GPUWorkload, GPUWorkloadStatus, Treaty } from "../../../crds/index.ts";
import { Resources, type KubeClient, type KubeObject } from "../../../services/kube/index.ts";
// Direct module imports, not index.ts: the protocol's zod schemas load only on first use.
import {
  jobRequestFrom,
  type SecretResolver,
} from "../../../services/provider-client/job-request.ts";
import { idempotencyKeyFor } from "../../../services/provider-client/protocol-constants.ts";
import type { ProviderJob } from "../../../services/provider-client/protocol.ts";
import {
  ProviderError,
  type ProviderClient,
} from "../../../services/provider-client/provider-client.ts";
import type { FinishedAttempt } from "./completion-receipt.ts";
import { MAX_MESSAGE_LENGTH } from "./gpuworkload-reasons.ts";
import type { Attempt } from "./in-cluster-attempt.ts";
import type { ProviderConnector } from "./provider-connector.ts";

/** How often a provider's job is polled (the default). */
export const DEFAULT_PROVIDER_POLL_MS = 2_000;

/** What the reconciler does after one look at an external attempt. */
export type ExternalStep =
  | {
      readonly kind: "queued" | "running";
      readonly job: ProviderJob;
      readonly message: string;
      readonly requeueAfterMs: number;
    }
  | { readonly kind: "finished"; readonly job: ProviderJob; readonly finished: FinishedAttempt }
  | { readonly kind: "abandon"; readonly reason: string };

/** Dependencies of ExternalAttempts. */
export interface ExternalAttemptDeps {
  /** Reads the Secrets the workload's env refers to. */
  readonly client: Pick<KubeClient, "get">;
  readonly providers: ProviderConnector;
  /** Why a treaty can no longer take a workload that has not started, or undefined. */
  readonly unfit: (treaty: Treaty | undefined, name: string) => string | undefined;
  /** How often a provider's job is polled. @default 2000 */
  readonly pollMs?: number;
  /** Queued longer than this fails over when the treaty has no slo.maxProvisionTimeSeconds. */
  readonly provisionTimeoutMs: number;
}

/**
 * How long an attempt has waited for its provider job to start (from the attempt's start, else
 * the job's creation; unknown counts as past any limit) and how long it may: the treaty's
 * `slo.maxProvisionTimeSeconds`, else the operator's default. Pure.
 */
export function provisionWait(
  treaty: Treaty,
  cur: Pick<Attempt, "startTime">,
  jobCreatedAt: string | undefined,
  now: Date,
  d: Pick<ExternalAttemptDeps, "provisionTimeoutMs">,
): { readonly ageMs: number; readonly limitMs: number } {
  const limitMs = (treaty.spec.slo?.maxProvisionTimeSeconds ?? 0) * 1000 || d.provisionTimeoutMs;
  const since = Date.parse(cur.startTime ?? jobCreatedAt ?? "");
  return { ageMs: Number.isNaN(since) ? Infinity : now.getTime() - since, limitMs };
}

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Drives attempts under external treaties. */
export class ExternalAttempts {
  private readonly d: ExternalAttemptDeps;

  constructor(deps: ExternalAttemptDeps) {
    this.d = deps;
  }

  /**
   * One look at `cur` (an attempt under `treaty`): submits it when it has no provider job yet,
   * else polls the job. Throws only for a started job whose provider cannot be reached (retry
   * with backoff: a running job is never failed over).
   */
  async step(
    wl: GPUWorkload,
    status: GPUWorkloadStatus,
    cur: Attempt,
    treaty: Treaty | undefined,
    now: Date,
  ): Promise<ExternalStep> {
    const started = status.startTime !== undefined && cur.externalId !== undefined;
    const gone = this.d.unfit(treaty, cur.treaty);
    if (!treaty || (gone && !cur.externalId)) return { kind: "abandon", reason: gone ?? "" };
    let client: ProviderClient;
    try {
      client = await this.d.providers.clientFor(treaty);
    } catch (err) {
      if (started) throw err;
      return { kind: "abandon", reason: `provider credentials: ${errText(err)}` };
    }
    let job: ProviderJob;
    if (!cur.externalId) {
      try {
        const request = jobRequestFrom(
          wl,
          status.placement ?? { pricePerHour: 0 },
          await this.secrets(wl),
        );
        job = (await client.submit(idempotencyKeyFor(wl.metadata.uid ?? "", cur.attempt), request))
          .job;
      } catch (err) {
        return {
          kind: "abandon",
          reason: `submit to provider ${cur.provider} failed: ${errText(err)}`,
        };
      }
    } else {
      try {
        job = await client.get(cur.externalId);
      } catch (err) {
        const lost = err instanceof ProviderError && err.code === "not_found";
        if (started && !lost) throw err;
        if (!lost) {
          // Submitted but not seen to start: it may be running there now. Failing over at the
          // first failed poll would run it twice (ADR 0023), so an unreachable provider is
          // waited for (retried with backoff) like a queued job, until the provision time
          // limit; past it the job is cancelled as far as we can and the attempt abandoned.
          const { ageMs, limitMs } = provisionWait(treaty, cur, undefined, now, this.d);
          if (ageMs < limitMs) throw err;
          await cancelQuietly(client, cur.externalId);
        }
        return {
          kind: "abandon",
          reason: `provider ${cur.provider} job ${cur.externalId}: ${errText(err)}`,
        };
      }
    }
    return await this.judge(job, { treaty, cur, now, client, gone });
  }

  // Maps the provider's job state to the next step.
  private async judge(
    job: ProviderJob,
    at: {
      treaty: Treaty;
      cur: Attempt;
      now: Date;
      client: ProviderClient;
      gone: string | undefined;
    },
  ): Promise<ExternalStep> {
    const { treaty, cur, now } = at;
    const poll = this.d.pollMs ?? DEFAULT_PROVIDER_POLL_MS;
    const where = `provider ${treaty.spec.provider} job ${job.id}`;
    switch (job.state) {
      case "queued": {
        const { ageMs: age, limitMs } = provisionWait(treaty, cur, job.createdAt, now, this.d);
        const why =
          at.gone ??
          (age >= limitMs
            ? `${where} queued for ${Math.round(age / 1000)}s, past the provision time limit of ${Math.round(limitMs / 1000)}s`
            : undefined);
        if (why) {
          await cancelQuietly(at.client, job.id);
          return { kind: "abandon", reason: why };
        }
        const message = `${where} queued: ${job.reason}`;
        return { kind: "queued", job, message, requeueAfterMs: Math.min(poll, limitMs - age) };
      }
      case "running":
        return { kind: "running", job, message: `running at ${where}`, requeueAfterMs: poll };
      default:
        if (!job.startedAt && job.state !== "succeeded") {
          // Failed or cancelled before it started (no offer, image pull, …): fail over.
          return {
            kind: "abandon",
            reason: `${where} ${job.state} before it started: ${job.reason}: ${job.message}`.slice(
              0,
              MAX_MESSAGE_LENGTH,
            ),
          };
        }
        return { kind: "finished", job, finished: finishedProviderJob(job, treaty, cur) };
    }
  }

  /** Cancels the attempt's provider job (workload deletion); a job the provider lost is fine. */
  async cancel(cur: Attempt, treaty: Treaty): Promise<void> {
    if (!cur.externalId) return;
    const client = await this.d.providers.clientFor(treaty);
    try {
      await client.cancel(cur.externalId);
    } catch (err) {
      if (!(err instanceof ProviderError && err.code === "not_found")) throw err;
    }
  }

  /** The finished attempt of a provider job fetched again (a deleted Receipt view is rebuilt). */
  async refetch(cur: Attempt, treaty: Treaty): Promise<FinishedAttempt | undefined> {
    if (!cur.externalId) return undefined;
    const job = await (await this.d.providers.clientFor(treaty)).get(cur.externalId);
    return job.finishedAt ? finishedProviderJob(job, treaty, cur) : undefined;
  }

  // Values of the workload's env vars that come from Secrets in its namespace.
  private async secrets(wl: GPUWorkload): Promise<SecretResolver | undefined> {
    const names = new Set(
      (wl.spec.template.env ?? []).flatMap((e) =>
        e.valueFrom ? [e.valueFrom.secretKeyRef.name] : [],
      ),
    );
    if (names.size === 0) return undefined;
    const data = new Map<string, Record<string, string>>();
    for (const n of names) {
      const s = await this.d.client.get<KubeObject & { data?: Record<string, string> }>(
        Resources.Secret,
        n,
        wl.metadata.namespace,
      );
      if (s?.data) data.set(n, s.data);
    }
    return (ref) => {
      const v = data.get(ref.name)?.[ref.key];
      return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
    };
  }
}

/** The facts of a finished provider job: usage from its startedAt to finishedAt at its price. */
export function finishedProviderJob(
  job: ProviderJob,
  treaty: Treaty,
  cur: Attempt,
): FinishedAttempt {
  const start = job.startedAt ?? job.createdAt;
  return {
    attempt: cur.attempt,
    outcome: job.state === "succeeded" ? "Succeeded" : "Failed",
    reason: job.reason,
    treaty: treaty.metadata.name ?? cur.treaty,
    provider: treaty.spec.provider,
    region: job.region ?? "",
    pricePerHour: job.pricePerHour,
    jobName: job.id,
    createdAt: job.createdAt,
    startTime: start,
    completionTime: job.finishedAt ?? start,
  };
}

async function cancelQuietly(client: ProviderClient, id: string): Promise<void> {
  // Best effort on the way to failover: a job left queued at a provider that is down costs
  // nothing (billing starts at startedAt), and the next treaty must not wait for this one.
  await client.cancel(id).catch(() => undefined);
}
