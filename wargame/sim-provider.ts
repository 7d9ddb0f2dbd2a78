// An external provider in fast mode: the provider simulator's own job model (sim-jobs.ts:
// planJob, viewOf, jobIdFor) behind an in-process client with the ProviderClient's interface
// and error semantics (ProviderError codes, two retries of a refused call), on the virtual
// clock. Faults are the scenario's events, switched on and off by the engine. The HTTP server
// of services/provider-sim is what live mode talks to; in fast mode its per-request costs
// (a linear scan of every job ever submitted per submission) would dominate the run.
import {
  ERRORS,
  ProviderError,
  type ErrorCode,
  type JobRequest,
  type ProviderClient,
  type ProviderJob,
  type SubmitResult,
} from "../services/provider-client/index.ts";
import { WORKLOAD_UID_LABEL } from "../services/provider-client/job-request.ts";
import {
  jobIdFor,
  planJob,
  stableJson,
  viewOf,
  type SimJob,
} from "../services/provider-sim/sim-jobs.ts";
import type { ScenarioProvider } from "./scenario.ts";

/** Tries of one client call: the ProviderClient's default of two retries after the first. */
const TRIES = 3;

/** The faults in force at a provider, changed by the engine as events start and end. */
export interface ProviderFaults {
  /** Share of API requests refused with 503 (1: down). */
  refuseShare: number;
  /** Added round-trip latency, ms. */
  addLatencyMs: number;
  /** Share of new jobs that fail (reputation shock), and after how long running. */
  shockFailRate: number;
  shockFailAfterMs: number;
  /** Share of capacity remaining. */
  capacityFactor: number;
  /** The provider's price over the treaties' (a spike the treaties do not follow is refused). */
  unfollowedPriceFactor: number;
}

/** No faults. */
export const noFaults = (): ProviderFaults => ({
  refuseShare: 0,
  addLatencyMs: 0,
  shockFailRate: 0,
  shockFailAfterMs: 60_000,
  capacityFactor: 1,
  unfollowedPriceFactor: 1,
});

/** What a provider needs from the engine. */
export interface SimProviderDeps {
  readonly now: () => number;
  readonly random: () => number;
  /** Running time of the workload with this uid, ms. */
  readonly runtimeOf: (uid: string) => number;
}

/** One external provider on the virtual clock. */
export class SimProvider {
  readonly name: string;
  readonly faults: ProviderFaults = noFaults();
  readonly #p: ScenarioProvider;
  readonly #d: SimProviderDeps;
  readonly #jobs = new Map<string, SimJob>();
  readonly #byKey = new Map<string, SimJob>();
  /** Jobs that may still hold capacity (pruned on submission). */
  #active: SimJob[] = [];
  /** The client the product's ExternalAttempts talks to. */
  readonly client: ProviderClient;

  constructor(p: ScenarioProvider, deps: SimProviderDeps) {
    this.name = p.name;
    this.#p = p;
    this.#d = deps;
    const client: Pick<ProviderClient, "submit" | "get" | "cancel"> = {
      submit: (key, request) => this.#call(() => this.#submit(key, request)),
      get: (id) => this.#call(() => this.#view(this.#job(id))),
      cancel: (id) => this.#call(() => this.#cancel(this.#job(id))),
    };
    // The product's code types the client as the class; this object has its three methods
    // used by ExternalAttempts with the same contract (results and ProviderError codes).
    this.client = client as ProviderClient;
  }

  /** Round trip a probe measures now; undefined when the provider does not answer. */
  probe(): number | undefined {
    if (this.faults.refuseShare >= 1) return undefined;
    return this.#p.latencyMs + this.faults.addLatencyMs;
  }

  /** Virtual time at which the job's reported state next changes (start or end), or Infinity. */
  nextChange(id: string): number {
    const j = this.#jobs.get(id);
    if (j === undefined || j.cancelledMs !== undefined || j.fate === "stuck") return Infinity;
    const now = this.#d.now();
    const start = j.createdMs + j.durations.queuedMs;
    if (now < start) return start;
    const end = start + j.durations.runningMs;
    return now < end ? end : Infinity;
  }

  /**
   * Fails every job running now (an outage that loses the hardware); returns the uids of
   * their workloads, whose attempts the engine must look at again.
   */
  killRunning(): string[] {
    const now = this.#d.now();
    const uids: string[] = [];
    for (const j of this.#active) {
      const start = j.createdMs + j.durations.queuedMs;
      if (j.fate === "stuck" || now < start || now >= start + j.durations.runningMs) continue;
      if (j.cancelledMs !== undefined) continue;
      const killed: SimJob = {
        ...j,
        fate: "fail",
        durations: { ...j.durations, runningMs: now - start },
      };
      this.#jobs.set(j.id, killed);
      this.#byKey.set(j.key, killed);
      uids.push(j.request.labels?.[WORKLOAD_UID_LABEL] ?? "");
    }
    this.#active = this.#active.map((j) => this.#jobs.get(j.id) ?? j);
    return uids;
  }

  // One client call: refused (503) with the outage's share on each of its tries.
  #call<T>(fn: () => T): Promise<T> {
    for (let i = 1; ; i++) {
      if (this.#d.random() >= this.faults.refuseShare) {
        try {
          return Promise.resolve(fn());
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
      if (i === TRIES) return Promise.reject(error("unavailable", "the provider is down"));
    }
  }

  #submit(key: string, request: JobRequest): SubmitResult {
    const now = this.#d.now();
    const existing = this.#byKey.get(key);
    const fingerprint = stableJson(request);
    if (existing !== undefined) {
      if (existing.fingerprint !== fingerprint) {
        throw error(
          "idempotency_key_reused",
          `Idempotency-Key ${key} was used for another request`,
        );
      }
      return { job: viewOf(existing, now), created: false };
    }
    if (this.faults.unfollowedPriceFactor > 1) {
      throw error("unsupported", `price above maxPricePerHour ${request.maxPricePerHour ?? ""}`);
    }
    const capacity = Math.floor(this.#p.capacityGpus * this.faults.capacityFactor);
    if (this.#inUse(now) + request.gpu.count > capacity) {
      throw error(
        "insufficient_capacity",
        `no ${request.gpu.count}× ${request.gpu.type} available now`,
      );
    }
    const uid = request.labels?.[WORKLOAD_UID_LABEL] ?? "";
    const shocked = this.faults.shockFailRate > 0 && this.#d.random() < this.faults.shockFailRate;
    const plan = planJob(
      request,
      {
        queuedMs: this.#p.startSeconds * 1000,
        runningMs: shocked ? this.faults.shockFailAfterMs : this.#d.runtimeOf(uid),
      },
      {
        stuck: this.#d.random() < this.#p.stuckRate,
        failed: shocked || this.#d.random() < this.#p.failRate,
      },
    );
    const job: SimJob = {
      id: jobIdFor(key),
      key,
      fingerprint,
      request,
      pricePerHour: request.maxPricePerHour ?? 0,
      createdMs: now,
      ...plan,
    };
    this.#jobs.set(job.id, job);
    this.#byKey.set(key, job);
    this.#active.push(job);
    return { job: viewOf(job, now), created: true };
  }

  #inUse(now: number): number {
    this.#active = this.#active.filter((j) => !ended(j, now));
    let n = 0;
    for (const j of this.#active) n += j.request.gpu.count;
    return n;
  }

  #job(id: string): SimJob {
    const j = this.#jobs.get(id);
    if (j === undefined) throw error("not_found", `job ${id} does not exist`);
    return j;
  }

  #view(j: SimJob): ProviderJob {
    return viewOf(j, this.#d.now());
  }

  #cancel(j: SimJob): ProviderJob {
    const now = this.#d.now();
    if (!ended(j, now)) j.cancelledMs = now;
    return viewOf(j, now);
  }
}

function ended(j: SimJob, now: number): boolean {
  if (j.cancelledMs !== undefined && j.cancelledMs <= now) return true;
  if (j.fate === "stuck") return false;
  return now >= j.createdMs + j.durations.queuedMs + j.durations.runningMs;
}

function error(code: ErrorCode, message: string): ProviderError {
  const { status, retryable } = ERRORS[code];
  return new ProviderError(message, { code, retryable, status });
}
