// Live mode's pure half (ADR 0133): the scenario played on a compressed wall clock — when each
// workload is created, what it asks the provider simulator for (its running time, through the
// simulator's `sim.vaultmesh.cloud/*` labels), when each simulator's faults switch — and the
// result read back from the GPUWorkloads the real operator wrote, in the fast mode's shape and
// with the KPI's one definition of fill rate. No I/O here: wargame/live.ts does it.
import type { GPUWorkload } from "../crds/index.ts";
import { DEFAULT_RETRY_BACKOFF_MS } from "../operator/controllers/gpuworkload/attempt-backoff.ts";
import { DEFAULT_PROVIDER_POLL_MS } from "../operator/controllers/gpuworkload/external-attempt.ts";
import {
  DEFAULT_QUEUE_BASE_DELAY_MS,
  DEFAULT_QUEUE_MAX_DELAY_MS,
} from "../operator/runtime/work-queue.ts";
import type { SimFaults } from "../services/provider-sim/index.ts";
import { attemptCountsByTreaty, treatyFillRate } from "../services/kpi/index.ts";
import type { RoutingStrategy } from "../services/routing/index.ts";
import { generateArrivals, type Arrival } from "./arrivals.ts";
import type { RunResult } from "./results.ts";
import { isInCluster, type Scenario } from "./scenario.ts";

/** Event kinds live mode replays; the others are refused up front (see {@link livePlan}). */
export const LIVE_EVENT_KINDS = ["outage", "latency", "reputationShock"] as const;

/** One workload to create. */
export interface LiveArrival {
  readonly arrival: Arrival;
  /** Wall ms after the start. */
  readonly atWallMs: number;
}

/** A switch of one provider simulator's faults. */
export interface FaultSwitch {
  readonly atWallMs: number;
  readonly provider: string;
  /** The whole faults object from then on (the provider's baseline plus active events). */
  readonly faults: SimFaults;
}

/** The wall-clock plan of a scenario. */
export interface LivePlan {
  /** Simulated ms per wall ms. */
  readonly compression: number;
  readonly arrivals: readonly LiveArrival[];
  readonly faults: readonly FaultSwitch[];
  /** External providers (one simulator each): compressed start time and capacity. */
  readonly providers: readonly {
    name: string;
    queuedMs: number;
    runningMs: number;
    capacityGpus: number;
  }[];
  /** Wall ms until the last arrival plus the drain. */
  readonly durationWallMs: number;
}

/** A scenario live mode cannot play, with every reason. */
export class LivePlanError extends Error {}

const MINUTE = 60_000;

/**
 * Plans scenario `s` on a clock `compression` times faster than the simulated one. Refused
 * (LivePlanError naming the field): in-cluster providers (the live run uses external treaties
 * on simulators only), events other than {@link LIVE_EVENT_KINDS}.
 */
export function livePlan(s: Scenario, compression: number): LivePlan {
  if (!(compression >= 1)) throw new LivePlanError(`compression: expected ≥ 1, got ${compression}`);
  const why: string[] = [];
  s.providers.forEach((p, i) => {
    if (isInCluster(p.name))
      why.push(`providers[${i}].name: live mode plays external providers only`);
  });
  s.events.forEach((e, i) => {
    if (!(LIVE_EVENT_KINDS as readonly string[]).includes(e.kind)) {
      why.push(
        `events[${i}].kind: live mode replays ${LIVE_EVENT_KINDS.join(", ")}, got ${e.kind}`,
      );
    }
  });
  const r = s.arrivals.runtimeMinutes;
  if (r.min !== r.max) {
    // The operator does not pass a workload's labels to the provider, so a simulator runs every
    // job for its one default running time.
    why.push(
      `arrivals.runtimeMinutes: live mode needs min = max (one running time), got ${r.min}..${r.max}`,
    );
  }
  if (why.length > 0) throw new LivePlanError(`${s.name}: ${why.join("; ")}`);
  const wall = (simMs: number): number => Math.round(simMs / compression);
  const t0 = Date.parse(s.start);
  const arrivals = generateArrivals(s, t0).map((a) => ({
    arrival: a,
    atWallMs: wall(a.atMs - t0),
  }));
  const providers = s.providers.map((p) => ({
    name: p.name,
    queuedMs: wall(p.startSeconds * 1000),
    runningMs: wall(r.min * MINUTE),
    capacityGpus: p.capacityGpus,
  }));
  const faults = faultSwitches(s, wall);
  const last = arrivals.at(-1)?.atWallMs ?? 0;
  return {
    compression,
    arrivals,
    faults,
    providers,
    durationWallMs: last + wall(s.drainMinutes * MINUTE),
  };
}

/** Every instant a provider's faults change, with the faults from then on. */
function faultSwitches(s: Scenario, wall: (ms: number) => number): FaultSwitch[] {
  const out: FaultSwitch[] = [];
  for (const p of s.providers) {
    const mine = s.events.filter((e) => "provider" in e && e.provider === p.name);
    const instants = new Set<number>([0]);
    for (const e of mine) {
      instants.add(e.atMinute);
      if ("durationMinutes" in e && e.durationMinutes !== undefined) {
        instants.add(e.atMinute + e.durationMinutes);
      }
    }
    for (const m of [...instants].sort((a, b) => a - b)) {
      const f: SimFaults = { failRate: p.failRate, stuckRate: p.stuckRate };
      for (const e of mine) {
        const end =
          "durationMinutes" in e ? e.atMinute + (e.durationMinutes ?? Infinity) : Infinity;
        if (!(e.atMinute <= m && m < end)) continue;
        if (e.kind === "outage") {
          if (e.share >= 1) f.down = true;
          else f.errorRate = e.share;
        } else if (e.kind === "latency") f.latencyMs = (f.latencyMs ?? 0) + e.addMs;
        else if (e.kind === "reputationShock") f.failRate = e.failRate;
      }
      out.push({ atWallMs: wall(m * MINUTE), provider: p.name, faults: f });
    }
  }
  return out.sort((a, b) => a.atWallMs - b.atWallMs);
}

/** What live mode measures: the fast result's fields it can read from the cluster. */
export type LiveResult = Pick<
  RunResult,
  "scenario" | "strategy" | "seed" | "workloads" | "fillRate" | "failovers" | "succeeded" | "failed"
> & {
  readonly mode: "live";
  readonly perTreaty: Readonly<
    Record<string, { routed: number; placed: number; fillRate: number | null }>
  >;
  /** Failovers by reason (numbers elided). */
  readonly failoverReasons: Readonly<Record<string, number>>;
  /** Workloads not finished when the run ended. */
  readonly stuck: number;
};

/** The live result from the workloads as the operator left them. */
export function liveResult(
  s: Scenario,
  strategy: RoutingStrategy,
  workloads: readonly Pick<GPUWorkload, "status">[],
): LiveResult {
  const counts = attemptCountsByTreaty(workloads);
  let routed = 0;
  let placed = 0;
  const perTreaty: Record<string, { routed: number; placed: number; fillRate: number | null }> = {};
  for (const [t, c] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) {
    routed += c.routed;
    placed += c.placed;
    perTreaty[t] = { ...c, fillRate: treatyFillRate(c) ?? null };
  }
  const attempts = workloads.flatMap((w) => w.status?.attempts ?? []);
  // A workload is finished once it has a completion time; its last attempt says how.
  const phase = (p: string): number =>
    workloads.filter(
      (w) => w.status?.completionTime !== undefined && w.status.attempts?.at(-1)?.outcome === p,
    ).length;
  return {
    mode: "live",
    scenario: s.name,
    strategy,
    seed: s.seed,
    workloads: workloads.length,
    fillRate: treatyFillRate({ routed, placed }) ?? null,
    perTreaty,
    failovers: attempts.filter((a) => a.outcome === "Abandoned").length,
    failoverReasons: countBy(
      attempts
        .filter((a) => a.outcome === "Abandoned")
        .map((a) =>
          (a.reason ?? "")
            .replace(/job-[0-9a-f]+/g, "job-#")
            .replace(/https?:\/\/\S+/g, "URL")
            .replace(/\d+/g, "#"),
        ),
    ),
    succeeded: phase("Succeeded"),
    failed: phase("Failed"),
    stuck: workloads.length - phase("Succeeded") - phase("Failed"),
  };
}

/** Tolerances of the live-vs-fast agreement (ADR 0133 says why). */
export interface Tolerance {
  /** Absolute difference of fill rates. */
  readonly fillRate: number;
  /** Absolute difference of failover counts, plus `failoversShare` of the workloads. */
  readonly failovers: number;
  readonly failoversShare: number;
}

/**
 * Fill rate within 0.04 and failovers within 2 — about two workloads either way for the short
 * scenario, where every workload finishes and fill rate is workloads / (workloads + failovers).
 * What stays jittered once every operator timing is compressed is which arrivals fall within a
 * probe interval of the outage's start (ADR 0133): up to rate × interval, 2 at live-short's
 * peak. Leaving the work queue's back-off uncompressed moved 3, which this must reject.
 */
export const DEFAULT_TOLERANCE: Tolerance = { fillRate: 0.04, failovers: 2, failoversShare: 0 };

/** Where live and fast disagree beyond `tol` (empty: they agree). */
export function disagreements(
  fast: Pick<RunResult, "fillRate" | "failovers" | "workloads">,
  live: Pick<LiveResult, "fillRate" | "failovers" | "stuck">,
  tol: Tolerance = DEFAULT_TOLERANCE,
): string[] {
  const out: string[] = [];
  const fr = Math.abs((fast.fillRate ?? 0) - (live.fillRate ?? 0));
  if (fr > tol.fillRate) {
    out.push(`fillRate: fast ${fast.fillRate}, live ${live.fillRate} (tolerance ${tol.fillRate})`);
  }
  const fo = tol.failovers + Math.ceil(tol.failoversShare * fast.workloads);
  if (Math.abs(fast.failovers - live.failovers) > fo) {
    out.push(`failovers: fast ${fast.failovers}, live ${live.failovers} (tolerance ${fo})`);
  }
  if (live.stuck > 0) out.push(`stuck: ${live.stuck} live workloads did not finish`);
  return out;
}

/** The operator's timings for a live run, in wall ms (see {@link liveOperatorTimings}). */
export interface LiveOperatorTimings {
  /** The Treaty controller's endpoint probe: the scenario's `operator.treatyResyncSeconds`. */
  readonly probeIntervalMs: number;
  readonly unschedulableTimeoutMs: number;
  /** The first back-off of a treaty after an attempt abandoned there (ADR 0099). */
  readonly retryBackoffMs: number;
  /** How often a provider's job is polled (the operator's default, 2 s). */
  readonly providerPollMs: number;
  /** The GPUWorkload work queue's back-off of a failing reconcile (100 ms doubling to 60 s). */
  readonly queueBackoff: { readonly baseDelayMs: number; readonly maxDelayMs: number };
}

/**
 * The operator's timings for a live run: the scenario's and the product's defaults, every one
 * compressed like the scenario's clock. Fast mode runs them all on the virtual clock; one left
 * on the wall clock is `compression` times longer in simulated time live. The work queue's
 * back-off is the one that decides an outage: a job submitted but not seen to start is retried
 * on it until the provision deadline, and uncompressed its last gaps (12.8 s, 25.6 s wall) span
 * 4–8 simulated minutes at 20×, so the retry past the deadline landed after the outage had
 * ended and the job was found running instead of failed over (ADR 0133).
 */
export function liveOperatorTimings(s: Scenario, compression: number): LiveOperatorTimings {
  const ms = (wallMs: number): number => Math.max(1, Math.round(wallMs / compression));
  return {
    probeIntervalMs: ms(s.operator.treatyResyncSeconds * 1000),
    unschedulableTimeoutMs: ms(s.operator.unschedulableTimeoutSeconds * 1000),
    retryBackoffMs: ms(DEFAULT_RETRY_BACKOFF_MS),
    providerPollMs: ms(DEFAULT_PROVIDER_POLL_MS),
    queueBackoff: {
      baseDelayMs: ms(DEFAULT_QUEUE_BASE_DELAY_MS),
      maxDelayMs: ms(DEFAULT_QUEUE_MAX_DELAY_MS),
    },
  };
}

function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
