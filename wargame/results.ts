// What a war-game run measures, and its JSON result: fill rate overall and per treaty (the
// KPI's one definition, services/kpi), GPU-hours and cost per provider, failovers,
// time-to-start percentiles, workloads lost or stuck, and per-minute series for the report.
import type { GPUWorkload } from "../crds/index.ts";
import type { CompletionPayload } from "../crds/domain/index.ts";
import type { Attempt } from "../crds/index.ts";
import { attemptCountsByTreaty, KPI_TARGETS, treatyFillRate } from "../services/kpi/index.ts";
import type { RoutingStrategy } from "../services/routing/index.ts";
import { percentile } from "./sim-kernel.ts";
import type { Scenario, ScenarioEvent } from "./scenario.ts";
import type { TreatyWorld } from "./world.ts";

/** One minute of the run, for the plots. */
export interface Sample {
  /** Minutes from the start. */
  readonly minute: number;
  /** Fill rate of the attempts routed in this minute (null when none was). */
  readonly fillRate: number | null;
  /** USD per hour of the GPUs running now. */
  readonly costPerHour: number;
  /** GPUs running now by provider. */
  readonly gpusByProvider: Readonly<Record<string, number>>;
  /** Workloads waiting for an eligible treaty. */
  readonly waiting: number;
  /** Reputation by treaty (Treaty status). */
  readonly reputation: Readonly<Record<string, number>>;
}

/** A scenario event as the report marks it. */
export interface EventMark {
  readonly kind: ScenarioEvent["kind"];
  readonly target: string;
  readonly fromMinute: number;
  readonly toMinute: number | null;
}

/** The result of one run. */
export interface RunResult {
  readonly scenario: string;
  readonly strategy: RoutingStrategy;
  readonly seed: number;
  readonly workloads: number;
  readonly simulatedMinutes: number;
  /** Fill rate over all attempts (services/kpi treatyFillRate over the summed counts). */
  readonly fillRate: number | null;
  readonly fillRateTarget: number;
  /** Share of admitted workloads that started. */
  readonly startedShare: number;
  readonly perTreaty: Readonly<
    Record<
      string,
      {
        readonly routed: number;
        readonly placed: number;
        readonly fillRate: number | null;
        readonly reputation: number | null;
        readonly ready: string;
      }
    >
  >;
  readonly perProvider: Readonly<
    Record<string, { readonly gpuHours: number; readonly cost: number; readonly workloads: number }>
  >;
  readonly totalCost: number;
  readonly totalGpuHours: number;
  /** USD per GPU-hour over the run. */
  readonly costPerGpuHour: number;
  readonly failovers: number;
  /** Failovers by reason (numbers and job ids elided). */
  readonly failoverReasons: Readonly<Record<string, number>>;
  readonly succeeded: number;
  readonly failed: number;
  /** Workloads refused at admission by their tenant's quota (then resubmitted). */
  readonly admissionRefusals: number;
  /** Seconds from creation to start. */
  readonly timeToStartSeconds: {
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
  };
  /** Workloads whose record vanished (must be 0). */
  readonly lost: number;
  /** Workloads not finished when the run ended, by waiting reason or phase (must be 0). */
  readonly stuck: number;
  readonly stuckBy: Readonly<Record<string, number>>;
  readonly events: readonly EventMark[];
  readonly series: readonly Sample[];
}

interface Running {
  readonly provider: string;
  readonly gpus: number;
  readonly price: number;
}

/** Collects a run's measurements as the engine goes. */
export class Recorder {
  refusedAtAdmission = 0;
  readonly #s: Scenario;
  readonly #strategy: RoutingStrategy;
  readonly #t0: number;
  readonly #running = new Map<string, Running>();
  readonly #waitReasons = new Map<object, string>();
  readonly #events: EventMark[] = [];
  readonly #series: Sample[] = [];
  readonly #perProvider = new Map<
    string,
    { gpuSeconds: number; cost: number; workloads: number }
  >();
  #windowRouted = 0;
  #windowAbandoned = 0;
  #failovers = 0;
  readonly #abandonReasons = new Map<string, number>();
  #reputation: Record<string, number> = {};

  constructor(s: Scenario, strategy: RoutingStrategy, t0: number) {
    this.#s = s;
    this.#strategy = strategy;
    this.#t0 = t0;
  }

  /** An attempt routed to `treaty`. */
  routed(_treaty: string, _now: number): void {
    this.#windowRouted++;
  }

  /** An attempt abandoned (failover). */
  abandoned(_treaty: string, _now: number, reason: string): void {
    const kind = reason.replace(/[0-9a-f]{16}|\d+/g, "#").slice(0, 90);
    this.#abandonReasons.set(kind, (this.#abandonReasons.get(kind) ?? 0) + 1);
    this.#windowAbandoned++;
    this.#failovers++;
  }

  /** The workload's latest waiting reason. */
  waitReason(w: object, reason: string): void {
    this.#waitReasons.set(w, reason);
  }

  /** The workload's attempt `cur` started, at `pricePerHour` per GPU. */
  started(w: { readonly wl: GPUWorkload }, cur: Attempt, pricePerHour: number): void {
    this.#running.set(w.wl.metadata.uid ?? "", {
      provider: cur.provider,
      gpus: w.wl.spec.gpu.count,
      price: pricePerHour,
    });
  }

  /** The workload finished with this completion receipt payload. */
  completed(w: { readonly wl: GPUWorkload }, p: CompletionPayload, _at: number): void {
    this.#running.delete(w.wl.metadata.uid ?? "");
    const c = this.#perProvider.get(p.provider) ?? { gpuSeconds: 0, cost: 0, workloads: 0 };
    c.gpuSeconds += p.gpuSeconds;
    c.cost += p.costMicroUsd / 1e6;
    c.workloads++;
    this.#perProvider.set(p.provider, c);
  }

  /** A scenario event started (`on`) or ended. */
  event(e: ScenarioEvent, on: boolean, now: number): void {
    const minute = (now - this.#t0) / 60_000;
    const target = "provider" in e ? e.provider : e.treaty;
    if (on) {
      this.#events.push({ kind: e.kind, target, fromMinute: minute, toMinute: null });
      return;
    }
    const open = this.#events.findLast((m) => m.kind === e.kind && m.target === target);
    if (open) this.#events[this.#events.indexOf(open)] = { ...open, toMinute: minute };
  }

  /** Reputation of every treaty now. */
  reputations(_now: number, world: TreatyWorld): void {
    const r: Record<string, number> = {};
    for (const n of world.names()) r[n] = world.get(n)?.status?.reputation ?? 0;
    this.#reputation = r;
  }

  /** One per-minute sample. */
  sample(now: number, waiting: number): void {
    const gpus: Record<string, number> = {};
    for (const p of this.#s.providers) gpus[p.name] = 0;
    let cost = 0;
    for (const r of this.#running.values()) {
      gpus[r.provider] = (gpus[r.provider] ?? 0) + r.gpus;
      cost += r.price * r.gpus;
    }
    const fill = treatyFillRate({
      routed: this.#windowRouted,
      placed: this.#windowRouted - Math.min(this.#windowAbandoned, this.#windowRouted),
    });
    this.#series.push({
      minute: Math.round((now - this.#t0) / 60_000),
      fillRate: fill === undefined ? null : round(fill),
      costPerHour: round(cost, 2),
      gpusByProvider: gpus,
      waiting,
      reputation: this.#reputation,
    });
    this.#windowRouted = 0;
    this.#windowAbandoned = 0;
  }

  // Workloads by final state; a workload not finished is stuck, by its waiting reason.
  #tally(
    all: readonly {
      readonly phase: string;
      readonly status: GPUWorkload["status"];
      readonly createdMs?: number | undefined;
    }[],
  ): Tally {
    const stuckBy: Record<string, number> = {};
    let stuck = 0;
    let succeeded = 0;
    let failed = 0;
    let admitted = 0;
    for (const w of all) {
      if (w.createdMs !== undefined) admitted++;
      if (w.phase === "done") {
        if (w.status?.attempts?.at(-1)?.outcome === "Succeeded") succeeded++;
        else failed++;
        continue;
      }
      stuck++;
      const why = w.phase === "waiting" ? (this.#waitReasons.get(w) ?? "Waiting") : w.phase;
      stuckBy[why] = (stuckBy[why] ?? 0) + 1;
    }
    return { stuckBy, stuck, succeeded, failed, admitted };
  }

  /** The run's result at `now`, from the workloads' final state. */
  finish(
    now: number,
    all: readonly {
      readonly wl: GPUWorkload;
      readonly status: GPUWorkload["status"];
      readonly phase: string;
      readonly createdMs?: number | undefined;
      readonly startedMs?: number | undefined;
    }[],
    world: TreatyWorld,
  ): RunResult {
    const counts = attemptCountsByTreaty(all.map((w) => ({ status: w.status })));
    let routed = 0;
    let placed = 0;
    const perTreaty: Record<string, RunResult["perTreaty"][string]> = {};
    for (const name of world.names()) {
      const c = counts.get(name) ?? { routed: 0, placed: 0 };
      routed += c.routed;
      placed += c.placed;
      const t = world.get(name);
      const ready = t?.status?.conditions?.find((x) => x.type === "Ready");
      perTreaty[name] = {
        ...c,
        fillRate: nullable(treatyFillRate(c)),
        reputation: t?.status?.reputation ?? null,
        ready: ready ? `${ready.status}/${ready.reason}` : "unknown",
      };
    }
    const tts = all
      .filter((w) => w.startedMs !== undefined && w.createdMs !== undefined)
      .map((w) => (w.startedMs! - w.createdMs!) / 1000)
      .sort((a, b) => a - b);
    const { stuckBy, stuck, succeeded, failed, admitted } = this.#tally(all);
    const perProvider: Record<string, RunResult["perProvider"][string]> = {};
    let totalCost = 0;
    let totalGpuSeconds = 0;
    for (const p of this.#s.providers) {
      const c = this.#perProvider.get(p.name) ?? { gpuSeconds: 0, cost: 0, workloads: 0 };
      perProvider[p.name] = {
        gpuHours: round(c.gpuSeconds / 3600, 2),
        cost: round(c.cost, 2),
        workloads: c.workloads,
      };
      totalCost += c.cost;
      totalGpuSeconds += c.gpuSeconds;
    }
    const started = all.filter((w) => w.startedMs !== undefined).length;
    return {
      scenario: this.#s.name,
      strategy: this.#strategy,
      seed: this.#s.seed,
      workloads: all.length,
      simulatedMinutes: Math.round((now - this.#t0) / 60_000),
      fillRate: nullable(treatyFillRate({ routed, placed }), 4),
      fillRateTarget: KPI_TARGETS.treatyFillRate.target,
      startedShare: round(admitted === 0 ? 0 : started / admitted),
      perTreaty,
      perProvider,
      totalCost: round(totalCost, 2),
      totalGpuHours: round(totalGpuSeconds / 3600, 2),
      costPerGpuHour: round(totalGpuSeconds === 0 ? 0 : totalCost / (totalGpuSeconds / 3600), 4),
      failovers: this.#failovers,
      failoverReasons: Object.fromEntries([...this.#abandonReasons].sort((a, b) => b[1] - a[1])),
      succeeded,
      failed,
      admissionRefusals: this.refusedAtAdmission,
      timeToStartSeconds: {
        p50: nullable(percentile(tts, 0.5), 1),
        p95: nullable(percentile(tts, 0.95), 1),
        p99: nullable(percentile(tts, 0.99), 1),
      },
      lost: lostWorkloads(all),
      stuck,
      stuckBy,
      events: this.#events,
      series: this.#series,
    };
  }
}

/**
 * Workloads whose record contradicts itself at the end: said to be placed or running with no
 * running attempt, or done without a finished attempt and completion time. Must be 0.
 */
export function lostWorkloads(
  all: readonly { readonly status: GPUWorkload["status"]; readonly phase: string }[],
): number {
  let lost = 0;
  for (const w of all) {
    const last = w.status?.attempts?.at(-1)?.outcome;
    if ((w.phase === "placed" || w.phase === "running") && last !== "Running") lost++;
    const finished = last === "Succeeded" || last === "Failed";
    if (w.phase === "done" && (!finished || w.status?.completionTime === undefined)) lost++;
  }
  return lost;
}

interface Tally {
  readonly stuckBy: Record<string, number>;
  readonly stuck: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly admitted: number;
}

function round(x: number, d = 4): number {
  return Math.round(x * 10 ** d) / 10 ** d;
}

function nullable(x: number | undefined, d = 4): number | null {
  return x === undefined ? null : round(x, d);
}
