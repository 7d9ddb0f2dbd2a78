// Fast mode: a discrete-event simulation of a scenario on a virtual clock that drives the
// product's own decision code — route() (eligibility, scoring, treaty quotas), the Treaty
// controller's computeTreatyStatus (reputation, availability, Degraded, fill rate), the
// GPUWorkload reconciler's inClusterStep and ExternalAttempts.step (failover, provision and
// unschedulable timeouts), abandonAttempt, completionReceiptFor (GPU-seconds and cost) and the
// admission webhook's quota check. The engine plays only the world: arrivals, providers, the
// cluster's pool, faults, and when each controller looks (see docs/wargame/README.md).
import { IN_CLUSTER_PROVIDER } from "../crds/constants.ts";
import type { GPUWorkload, GPUWorkloadStatus, Tenant, Treaty } from "../crds/index.ts";
import {
  completionReceiptFor,
  type FinishedAttempt,
} from "../operator/controllers/gpuworkload/completion-receipt.ts";
import {
  ExternalAttempts,
  provisionWait,
  type ExternalStep,
} from "../operator/controllers/gpuworkload/external-attempt.ts";
import { DEFAULT_UNSCHEDULABLE_TIMEOUT_MS } from "../operator/controllers/gpuworkload/gpuworkload-reasons.ts";
import {
  abandonAttempt,
  type WorkloadScope,
} from "../operator/controllers/gpuworkload/gpuworkload-scope.ts";
import { waitingReason } from "../operator/controllers/gpuworkload/gpuworkload-status.ts";
import {
  inClusterStep,
  treatyUnfit,
  type Attempt,
} from "../operator/controllers/gpuworkload/in-cluster-attempt.ts";
import { WorkQueue } from "../operator/runtime/work-queue.ts";
import { route, RouterMemo, type RoutingStrategy } from "../services/routing/index.ts";
import {
  attemptExclusions,
  DEFAULT_RETRY_BACKOFF,
  MAX_ATTEMPTS,
} from "../operator/controllers/gpuworkload/attempt-backoff.ts";
import { limitsOf } from "../webhooks/handlers.ts";
import { quotaErrors } from "../webhooks/policies/gpuworkload.ts";
import { Recorder, type RunResult } from "./results.ts";
import { ClusterPool } from "./cluster-pool.ts";
import { generateArrivals, type Arrival } from "./arrivals.ts";
import { EventQueue, prng } from "./sim-kernel.ts";
import { isInCluster, type Scenario, type ScenarioEvent } from "./scenario.ts";
import { SimProvider } from "./sim-provider.ts";
import { TreatyWorld } from "./world.ts";

/** Overrides of a run (what a sweep varies). */
export interface RunOptions {
  readonly strategy?: RoutingStrategy;
}

type SimEvent =
  | { readonly kind: "arrive"; readonly w: SimWorkload }
  | { readonly kind: "look"; readonly w: SimWorkload; readonly gen: number }
  | { readonly kind: "podEnd"; readonly key: string }
  | { readonly kind: "fault"; readonly e: ScenarioEvent; readonly on: boolean }
  | { readonly kind: "resync" }
  | { readonly kind: "retryWaiting" }
  | { readonly kind: "sample" };

/** One workload through its life. */
export interface SimWorkload {
  readonly arrival: Arrival;
  readonly wl: GPUWorkload;
  status: GPUWorkloadStatus;
  phase: "held" | "waiting" | "placed" | "running" | "done";
  gen: number;
  failures: number;
  createdMs?: number;
  startedMs?: number;
  podKey?: string;
  /** The treaties abandoned so far, joined: part of the workload's routing shape. */
  abandoned: string;
}

const MINUTE = 60_000;

/** Runs a scenario in fast mode; deterministic for the scenario (and its seed). */
export async function runScenario(s: Scenario, opts: RunOptions = {}): Promise<RunResult> {
  const sim = new Simulation(s, opts.strategy ?? s.strategy);
  return await sim.run();
}

class Simulation {
  readonly #s: Scenario;
  readonly #strategy: RoutingStrategy;
  readonly #q = new EventQueue<SimEvent>();
  readonly #t0: number;
  #now: number;
  readonly #world: TreatyWorld;
  readonly #providers = new Map<string, SimProvider>();
  readonly #pool: ClusterPool | undefined;
  readonly #external: ExternalAttempts;
  readonly #byUid = new Map<string, SimWorkload>();
  readonly #waiting = new Set<SimWorkload>();
  readonly #held = new Map<string, SimWorkload[]>();
  readonly #tenantLive = new Map<string, { gpusInUse: number; activeWorkloads: number }>();
  readonly #notStarted = new Map<string, Set<SimWorkload>>();
  readonly #podOwner = new Map<string, SimWorkload>();
  readonly #rec: Recorder;
  readonly #backoff = new WorkQueue();
  readonly #memo = new RouterMemo();
  readonly #dice: () => number;
  #retryQueued = false;
  #open = 0;
  #lastArrival = 0;

  constructor(s: Scenario, strategy: RoutingStrategy) {
    this.#s = s;
    this.#strategy = strategy;
    this.#t0 = Date.parse(s.start);
    this.#now = this.#t0;
    this.#world = new TreatyWorld(s, new Date(this.#now));
    this.#dice = prng(s.seed ^ 0x5eed);
    const runtime = (uid: string): number => this.#byUid.get(uid)?.arrival.runtimeMs ?? MINUTE;
    let i = 0;
    for (const p of s.providers) {
      if (isInCluster(p.name)) continue;
      const random = prng(s.seed + 7919 * ++i);
      this.#providers.set(
        p.name,
        new SimProvider(p, { now: () => this.#now, random, runtimeOf: runtime }),
      );
    }
    const pool = s.providers.find((p) => isInCluster(p.name));
    this.#pool = pool && new ClusterPool(pool.capacityGpus, pool.startSeconds);
    this.#external = new ExternalAttempts({
      client: { get: () => Promise.resolve(undefined) } as never,
      providers: {
        clientFor: (t: Treaty) => Promise.resolve(this.#providers.get(t.spec.provider)!.client),
      },
      unfit: treatyUnfit,
      provisionTimeoutMs: s.operator.provisionTimeoutSeconds * 1000,
    });
    this.#rec = new Recorder(s, strategy, this.#t0);
  }

  async run(): Promise<RunResult> {
    const arrivals = generateArrivals(this.#s, this.#t0);
    for (const a of arrivals) {
      const w = this.#newWorkload(a);
      this.#q.push(a.atMs, { kind: "arrive", w });
    }
    this.#lastArrival = arrivals.at(-1)?.atMs ?? this.#t0;
    for (const e of this.#s.events) {
      this.#q.push(this.#t0 + e.atMinute * MINUTE, { kind: "fault", e, on: true });
      const d = "durationMinutes" in e ? e.durationMinutes : undefined;
      if (d !== undefined)
        this.#q.push(this.#t0 + (e.atMinute + d) * MINUTE, { kind: "fault", e, on: false });
    }
    this.#q.push(this.#t0, { kind: "resync" });
    this.#q.push(this.#t0, { kind: "sample" });
    const horizon = this.#lastArrival + this.#s.drainMinutes * MINUTE;
    for (let ev = this.#q.pop(); ev !== undefined && ev.at <= horizon; ev = this.#q.pop()) {
      this.#now = ev.at;
      await this.#handle(ev.item);
      if (this.#open === 0 && this.#now >= this.#lastArrival && this.#q.size <= 2) break;
    }
    return this.#rec.finish(this.#now, [...this.#byUid.values()], this.#world);
  }

  #newWorkload(a: Arrival): SimWorkload {
    const wl = {
      apiVersion: "vaultmesh.cloud/v1alpha1",
      kind: "GPUWorkload",
      metadata: {
        name: `wl-${a.index}`,
        namespace: `tenant-${a.tenant.name}`,
        uid: `uid-${a.index}`,
      },
      spec: {
        gpu: { type: a.gpuType, count: a.gpus },
        template: { image: "registry.example/wargame:1" },
        routing: { strategy: this.#strategy },
        profile: a.profile,
        ...(a.maxPricePerHour === undefined ? {} : { maxPricePerHour: a.maxPricePerHour }),
      },
    } as unknown as GPUWorkload;
    const w: SimWorkload = {
      arrival: a,
      wl,
      status: {},
      phase: "held",
      gen: 0,
      failures: 0,
      abandoned: "",
    };
    this.#byUid.set(`uid-${a.index}`, w);
    return w;
  }

  async #handle(e: SimEvent): Promise<void> {
    switch (e.kind) {
      case "arrive":
        this.#open++;
        this.#admit(e.w);
        return;
      case "look":
        if (e.gen === e.w.gen && e.w.phase !== "done") await this.#reconcile(e.w);
        return;
      case "podEnd":
        this.#onPodEnd(e.key);
        return;
      case "fault":
        this.#fault(e.e, e.on);
        return;
      case "resync":
        this.#resync();
        return;
      case "retryWaiting":
        this.#retryQueued = false;
        this.#retryWaiting();
        return;
      case "sample":
        this.#rec.sample(this.#now, this.#waiting.size);
        if (this.#open > 0 || this.#now < this.#lastArrival) this.#q.push(this.#now + MINUTE, e);
        return;
    }
  }

  // --- admission (the webhook's tenant quota check) -------------------------------------

  #admit(w: SimWorkload): void {
    const t = w.arrival.tenant;
    const usage = this.#tenantLive.get(t.name) ?? { gpusInUse: 0, activeWorkloads: 0 };
    const limits = limitsOf({
      spec: { plan: t.plan, ...(t.quotas ? { quotas: t.quotas } : {}) },
    } as Pick<Tenant, "spec">);
    const errors = quotaErrors(w.wl.spec, { limits, usage, tenant: undefined }, true);
    if (errors.length > 0) {
      const held = this.#held.get(t.name) ?? [];
      held.push(w);
      this.#held.set(t.name, held);
      this.#rec.refusedAtAdmission++;
      return;
    }
    this.#tenantLive.set(t.name, {
      gpusInUse: usage.gpusInUse + w.wl.spec.gpu.count,
      activeWorkloads: usage.activeWorkloads + 1,
    });
    w.createdMs = this.#now;
    this.#look(w, this.#now);
  }

  #releaseTenant(w: SimWorkload): void {
    const t = w.arrival.tenant.name;
    const u = this.#tenantLive.get(t)!;
    this.#tenantLive.set(t, {
      gpusInUse: u.gpusInUse - w.wl.spec.gpu.count,
      activeWorkloads: u.activeWorkloads - 1,
    });
    const held = this.#held.get(t);
    // The client submits again: the oldest held workload first, until one is refused.
    while (held !== undefined && held.length > 0) {
      const next = held.shift()!;
      const before = this.#rec.refusedAtAdmission;
      this.#admit(next);
      if (this.#rec.refusedAtAdmission !== before) {
        held.pop();
        held.unshift(next);
        this.#rec.refusedAtAdmission = before;
        break;
      }
    }
  }

  // --- the GPUWorkload reconciler -------------------------------------------------------

  #look(w: SimWorkload, at: number): void {
    w.gen++;
    this.#q.push(at, { kind: "look", w, gen: w.gen });
  }

  async #reconcile(w: SimWorkload): Promise<void> {
    const cur = w.status.attempts?.at(-1);
    if (cur?.outcome === "Running") {
      const failedOver = isInCluster(cur.provider)
        ? this.#trackInCluster(w, cur)
        : await this.#trackExternal(w, cur);
      if (!failedOver) return;
    }
    this.#place(w);
  }

  #place(w: SimWorkload): void {
    const now = new Date(this.#now);
    const attempts = w.status.attempts ?? [];
    if (attempts.length >= MAX_ATTEMPTS) {
      this.#wait(w, "AttemptsExhausted");
      return;
    }
    // The placement phase's exclusions: abandoned treaties for their back-off (ADR 0099).
    const exclusions = attemptExclusions(attempts, this.#now, DEFAULT_RETRY_BACKOFF);
    const decision = route(
      {
        spec: w.wl.spec,
        tenant: w.arrival.tenantSpec,
        treaties: this.#world.list,
        usage: this.#world.usage,
        now,
        excluding: exclusions.excluding,
      },
      this.#memo,
    );
    const placement = decision.placement;
    if (placement === undefined) {
      this.#wait(w, waitingReason(decision.candidates));
      if (exclusions.retryAtMs !== undefined) this.#look(w, exclusions.retryAtMs);
      return;
    }
    this.#waiting.delete(w);
    const n = (attempts.at(-1)?.attempt ?? 0) + 1;
    const attempt: Attempt = {
      attempt: n,
      treaty: placement.treaty,
      provider: placement.provider,
      outcome: "Running",
      startTime: now.toISOString(),
    };
    const book = this.#world.book(placement.treaty);
    book.routed++;
    book.placed++;
    book.activeJobs++;
    this.#world.refreshUsage(placement.treaty);
    this.#rec.routed(placement.treaty, this.#now);
    w.phase = "placed";
    this.#notStartedUnder(placement.treaty).add(w);
    if (isInCluster(placement.provider)) {
      const name = `${w.wl.metadata.name}-${n}`;
      w.podKey = this.#pool!.create(
        {
          namespace: w.wl.metadata.namespace ?? "",
          name,
          attempt: n,
          treaty: placement.treaty,
          region: placement.region ?? "",
          pricePerHour: placement.pricePerHour,
          gpus: w.wl.spec.gpu.count,
          runtimeMs: w.arrival.runtimeMs,
          fails: this.#dice() < this.#inClusterFailRate(),
        },
        this.#now,
      );
      this.#podOwner.set(w.podKey, w);
      w.status = { ...w.status, placement, attempts: [...attempts, { ...attempt, jobName: name }] };
      this.#schedulePods();
    } else {
      w.status = { ...w.status, placement, attempts: [...attempts, attempt] };
    }
    this.#look(w, this.#now);
  }

  #wait(w: SimWorkload, reason: string): void {
    w.phase = "waiting";
    this.#waiting.add(w);
    this.#rec.waitReason(w, reason);
  }

  #inClusterFailRate(): number {
    return this.#s.providers.find((p) => isInCluster(p.name))?.failRate ?? 0;
  }

  #trackInCluster(w: SimWorkload, cur: Attempt): boolean {
    const key = w.podKey!;
    const seen = this.#pool!.observe(key, this.#now);
    if (seen === undefined) return this.#abandon(w, cur, "Job was deleted");
    const step = inClusterStep({
      attempt: cur,
      job: seen.job,
      pods: seen.pods,
      treaty: this.#world.get(cur.treaty),
      now: new Date(this.#now),
      unschedulableTimeoutMs:
        this.#s.operator.unschedulableTimeoutSeconds * 1000 || DEFAULT_UNSCHEDULABLE_TIMEOUT_MS,
    });
    switch (step.kind) {
      case "complete":
        this.#pool!.remove(key);
        this.#podOwner.delete(key);
        this.#complete(w, cur, step.finished);
        this.#schedulePods();
        return false;
      case "running":
        this.#started(w, cur, Date.parse(step.startTime));
        return false;
      case "failover":
        if (step.deleteJob) this.#pool!.remove(key);
        this.#podOwner.delete(key);
        this.#schedulePods();
        return this.#abandon(w, cur, step.reason);
      case "wait": {
        const times = this.#pool!.times(key);
        const at = this.#now + step.requeueAfterMs;
        this.#look(w, times === undefined ? at : Math.min(at, times.start));
        return false;
      }
    }
  }

  #schedulePods(): void {
    for (const key of this.#pool?.schedule(this.#now) ?? []) {
      const t = this.#pool!.times(key)!;
      this.#q.push(t.end, { kind: "podEnd", key });
      const w = this.#podOwner.get(key);
      if (w !== undefined) this.#look(w, t.start);
    }
  }

  #onPodEnd(key: string): void {
    const w = this.#podOwner.get(key);
    if (w !== undefined && w.podKey === key && w.phase !== "done") this.#look(w, this.#now);
  }

  async #trackExternal(w: SimWorkload, cur: Attempt): Promise<boolean> {
    const treaty = this.#world.get(cur.treaty);
    let step: ExternalStep;
    try {
      step = await this.#external.step(w.wl, w.status, cur, treaty, new Date(this.#now));
    } catch {
      // A reconcile error: retried with the work queue's backoff.
      this.#look(w, this.#now + this.#backoff.backoffFor(w.failures++));
      return false;
    }
    w.failures = 0;
    if (step.kind === "abandon") return this.#abandon(w, cur, step.reason);
    const attempts = (w.status.attempts ?? []).map((a) =>
      a.attempt === cur.attempt ? { ...a, externalId: step.job.id } : a,
    );
    w.status = { ...w.status, attempts };
    const updated = attempts.at(-1)!;
    const provider = this.#providers.get(cur.provider)!;
    if (step.kind === "finished") {
      this.#complete(w, updated, step.finished);
      return false;
    }
    if (step.kind === "running") {
      this.#started(
        w,
        updated,
        Date.parse(step.job.startedAt ?? new Date(this.#now).toISOString()),
      );
      this.#look(w, provider.nextChange(step.job.id));
      return false;
    }
    const { ageMs, limitMs } = provisionWait(
      treaty!,
      updated,
      step.job.createdAt,
      new Date(this.#now),
      { provisionTimeoutMs: this.#s.operator.provisionTimeoutSeconds * 1000 },
    );
    this.#look(
      w,
      Math.min(provider.nextChange(step.job.id), this.#now + Math.max(0, limitMs - ageMs)),
    );
    return false;
  }

  #started(w: SimWorkload, cur: Attempt, at: number): void {
    if (w.phase === "running") return;
    w.phase = "running";
    w.startedMs = at;
    w.status = { ...w.status, startTime: w.status.startTime ?? new Date(at).toISOString() };
    this.#notStartedUnder(cur.treaty).delete(w);
    this.#rec.started(w, cur, w.status.placement?.pricePerHour ?? 0);
  }

  #abandon(w: SimWorkload, cur: Attempt, reason: string): boolean {
    const scope = { status: w.status, now: new Date(this.#now), events: [] };
    abandonAttempt(scope as unknown as WorkloadScope, cur, reason);
    w.status = scope.status;
    w.abandoned += `${cur.treaty},`;
    const book = this.#world.book(cur.treaty);
    book.placed--;
    book.activeJobs--;
    this.#world.refreshUsage(cur.treaty);
    this.#notStartedUnder(cur.treaty).delete(w);
    this.#rec.abandoned(cur.treaty, this.#now, reason);
    w.phase = "waiting";
    w.podKey = undefined;
    this.#queueRetry();
    return true;
  }

  #complete(w: SimWorkload, cur: Attempt, f: FinishedAttempt): void {
    const { payload } = completionReceiptFor(w.wl, f);
    const attempts = (w.status.attempts ?? []).map((a) =>
      a.attempt === cur.attempt ? { ...a, outcome: f.outcome, endTime: f.completionTime } : a,
    );
    w.status = { ...w.status, attempts, completionTime: f.completionTime };
    if (w.phase !== "running") this.#started(w, cur, Date.parse(f.startTime));
    w.phase = "done";
    this.#open--;
    const book = this.#world.book(cur.treaty);
    book.completions.push({
      outcome: payload.outcome,
      provisionSeconds: payload.provisionSeconds,
      startedAtMs: Date.parse(payload.startTime),
      completedAtMs: Date.parse(payload.completionTime),
    });
    book.gpuSecondsThisPeriod += payload.gpuSeconds;
    book.activeJobs--;
    this.#world.refreshUsage(cur.treaty);
    this.#rec.completed(w, payload, Date.parse(f.completionTime));
    this.#releaseTenant(w);
    this.#queueRetry();
  }

  #notStartedUnder(treaty: string): Set<SimWorkload> {
    let s = this.#notStarted.get(treaty);
    if (s === undefined) this.#notStarted.set(treaty, (s = new Set()));
    return s;
  }

  // --- waiting workloads: re-routed when usage or a treaty changes (the watches) ---------

  #queueRetry(): void {
    if (this.#retryQueued || this.#waiting.size === 0) return;
    this.#retryQueued = true;
    this.#q.push(this.#now, { kind: "retryWaiting" });
  }

  #retryWaiting(): void {
    // Workloads of the same shape get the same decision until usage changes: one refusal
    // per shape per pass stands for the rest (route() is a pure function of these inputs).
    const refused = new Set<string>();
    for (const w of [...this.#waiting]) {
      const excluded =
        w.abandoned === ""
          ? ""
          : attemptExclusions(
              w.status.attempts ?? [],
              this.#now,
              DEFAULT_RETRY_BACKOFF,
            ).excluding.join(",");
      const shape = `${w.arrival.shape}|${excluded}`;
      if (refused.has(shape)) continue;
      this.#place(w);
      if (w.phase === "waiting") refused.add(shape);
    }
  }

  // --- the Treaty controller and the scenario's events ----------------------------------

  #resync(): void {
    const now = new Date(this.#now);
    let changed = false;
    for (const name of this.#world.names()) {
      const t = this.#world.get(name)!;
      if (t.spec.provider !== IN_CLUSTER_PROVIDER) {
        this.#world.probe(name, this.#providers.get(t.spec.provider)!.probe());
      }
      if (this.#world.resync(name, now)) {
        changed = true;
        this.#treatyChanged(name);
      }
    }
    if (changed) this.#queueRetry();
    this.#rec.reputations(this.#now, this.#world);
    if (this.#open > 0 || this.#now < this.#lastArrival) {
      this.#q.push(this.#now + this.#s.operator.treatyResyncSeconds * 1000, { kind: "resync" });
    }
  }

  // A Treaty change re-queues the workloads whose attempt under it has not started.
  #treatyChanged(name: string): void {
    for (const w of this.#notStartedUnder(name)) this.#look(w, this.#now);
  }

  #fault(e: ScenarioEvent, on: boolean): void {
    this.#rec.event(e, on, this.#now);
    if (e.kind === "treatySuspended" || e.kind === "treatyExpired") {
      const day = new Date(this.#now).toISOString().slice(0, 10);
      this.#world.editSpec(e.treaty, (spec) =>
        e.kind === "treatyExpired" ? { ...spec, expiryDate: day } : { ...spec, suspended: on },
      );
      this.#world.resync(e.treaty, new Date(this.#now));
      this.#treatyChanged(e.treaty);
      this.#queueRetry();
      return;
    }
    if (isInCluster(e.provider)) {
      if (e.kind === "capacityDrop" && this.#pool) {
        const cap = this.#s.providers.find((p) => isInCluster(p.name))!.capacityGpus;
        this.#pool.capacityGpus = on ? Math.floor(cap * e.remaining) : cap;
        this.#schedulePods();
      }
      return;
    }
    const p = this.#providers.get(e.provider)!;
    switch (e.kind) {
      case "outage":
        p.faults.refuseShare = on ? e.share : 0;
        if (on && e.killsRunning) for (const uid of p.killRunning()) this.#lookUid(uid);
        break;
      case "latency":
        p.faults.addLatencyMs = on ? e.addMs : 0;
        break;
      case "reputationShock":
        p.faults.shockFailRate = on ? e.failRate : 0;
        p.faults.shockFailAfterMs = e.failAfterSeconds * 1000;
        break;
      case "capacityDrop":
        p.faults.capacityFactor = on ? e.remaining : 1;
        break;
      case "priceSpike":
        this.#priceSpike(e, on, p);
        break;
    }
    this.#queueRetry();
  }

  #priceSpike(
    e: Extract<ScenarioEvent, { kind: "priceSpike" }>,
    on: boolean,
    p: SimProvider,
  ): void {
    if (!e.treatiesFollow) {
      p.faults.unfollowedPriceFactor = on ? e.factor : 1;
      return;
    }
    for (const name of this.#world.names()) {
      if (this.#world.get(name)!.spec.provider !== e.provider) continue;
      this.#world.editSpec(name, (spec, base) => ({
        ...spec,
        pricing: base.map((x) => ({
          ...x,
          usdPerHour: on ? Math.round(x.usdPerHour * e.factor * 100) / 100 : x.usdPerHour,
        })),
      }));
      this.#treatyChanged(name);
    }
  }

  #lookUid(uid: string): void {
    const w = this.#byUid.get(uid);
    if (w !== undefined && w.phase !== "done") this.#look(w, this.#now);
  }
}
