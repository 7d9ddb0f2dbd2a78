// The war-game's world at one virtual instant: the Treaty objects as the informer cache would
// hold them (replaced, never mutated, so the router's memo sees every change), the evidence
// the Treaty controller gathers about each, live quota usage, the providers and the pool.
// The Treaty status is recomputed by the product's computeTreatyStatus from that evidence.
import { IN_CLUSTER_PROVIDER } from "../crds/constants.ts";
import type { Treaty } from "../crds/index.ts";
import { periodStart } from "../crds/domain/index.ts";
import { RTT_SAMPLES } from "../operator/controllers/treaty/treaty-evidence.ts";
import {
  computeTreatyStatus,
  type TreatyEvidence,
} from "../operator/controllers/treaty/treaty-status.ts";
import type { TreatyCompletion } from "../operator/controllers/treaty/treaty-availability.ts";
import type { TreatyUsage } from "../services/routing/index.ts";
import { stableJson } from "../services/provider-sim/sim-jobs.ts";
import type { Scenario, ScenarioTreaty } from "./scenario.ts";

/** The Treaty controller's evidence about one treaty, kept up to date by the engine. */
export interface TreatyBook {
  /** In completion order. */
  completions: TreatyCompletion[];
  gpuSecondsThisPeriod: number;
  routed: number;
  placed: number;
  activeJobs: number;
  rttMs: number[];
  unreachable: string | undefined;
}

/** The scenario's treaties as Treaty objects, with their evidence and live usage. */
export class TreatyWorld {
  readonly #byName = new Map<string, Treaty>();
  readonly #books = new Map<string, TreatyBook>();
  readonly #basePricing = new Map<string, Treaty["spec"]["pricing"]>();
  /** What the last status was computed from, per treaty (see resync). */
  readonly #computedFrom = new Map<string, string>();
  /** Until when (ms) that status holds without new evidence (its requeueAfterMs). */
  readonly #holdsUntil = new Map<string, number>();
  #list: Treaty[] = [];
  #usage = new Map<string, TreatyUsage>();
  #rv = 0;

  constructor(s: Scenario, now: Date) {
    for (const t of s.treaties) {
      const treaty = toTreaty(t, ++this.#rv);
      this.#byName.set(t.name, treaty);
      this.#basePricing.set(t.name, treaty.spec.pricing);
      // The declared history completed just before the start (it ages out of the
      // availability window like any evidence; reputation keeps it).
      const completions: TreatyCompletion[] = [];
      for (let i = 0; i < t.history.completions; i++) {
        completions.push({
          outcome: i < t.history.failures ? ("Failed" as const) : ("Succeeded" as const),
          provisionSeconds: 0,
          startedAtMs: now.getTime() - 1,
          completedAtMs: now.getTime(),
        });
      }
      this.#books.set(t.name, {
        completions,
        gpuSecondsThisPeriod: 0,
        routed: 0,
        placed: 0,
        activeJobs: 0,
        rttMs: [],
        unreachable: undefined,
      });
    }
    this.#relist();
    for (const name of this.#byName.keys()) this.resync(name, now);
  }

  /** Every Treaty, the same array between changes (the router's fast path). */
  get list(): readonly Treaty[] {
    return this.#list;
  }

  /** Live usage by treaty name (the router's `usage` input). */
  get usage(): ReadonlyMap<string, TreatyUsage> {
    return this.#usage;
  }

  /** The Treaty named `name`. */
  get(name: string): Treaty | undefined {
    return this.#byName.get(name);
  }

  /** The evidence about `name`. */
  book(name: string): TreatyBook {
    return this.#books.get(name)!;
  }

  /** Names of the treaties. */
  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** Updates live usage of `name` from its book. */
  refreshUsage(name: string): void {
    const b = this.book(name);
    const next = new Map(this.#usage);
    next.set(name, { activeJobs: b.activeJobs, gpuHoursThisPeriod: b.gpuSecondsThisPeriod / 3600 });
    this.#usage = next;
  }

  /** Replaces the spec of `name` (an edit by its owner); returns the new Treaty. */
  editSpec(
    name: string,
    edit: (spec: Treaty["spec"], base: Treaty["spec"]["pricing"]) => Treaty["spec"],
  ): Treaty {
    const t = this.#byName.get(name)!;
    const next: Treaty = {
      ...t,
      metadata: {
        ...t.metadata,
        resourceVersion: String(++this.#rv),
        generation: (t.metadata.generation ?? 1) + 1,
      },
      spec: edit(t.spec, this.#basePricing.get(name)!),
    };
    this.#byName.set(name, next);
    this.#relist();
    return next;
  }

  /**
   * One Treaty controller pass over `name`: the status the product computes from the
   * evidence at `now`. Returns true when the status changed (the Treaty object was replaced).
   */
  resync(name: string, now: Date): boolean {
    const t = this.#byName.get(name)!;
    const b = this.book(name);
    // The parts of the status routing reads change only with these inputs; the counters
    // (routed, placed, active jobs, GPU-hours) are read from live usage instead (the router's
    // `usage` input), so a pass with none of these changed would write nothing routing sees
    // until the time the last status asked to be looked at again (the availability breaker).
    const from = `${t.metadata.resourceVersion}|${now.toISOString().slice(0, 10)}|${b.completions.length}|${b.unreachable}|${b.rttMs.join(",")}`;
    const holds = now.getTime() < (this.#holdsUntil.get(name) ?? Infinity);
    if (this.#computedFrom.get(name) === from && holds) return false;
    this.#computedFrom.set(name, from);
    const evidence: TreatyEvidence = {
      completions: b.completions,
      gpuSecondsThisPeriod: b.gpuSecondsThisPeriod,
      routed: b.routed,
      placed: b.placed,
      activeJobs: b.activeJobs,
      rttMs: b.rttMs,
      unreachable: b.unreachable,
      credentials: undefined,
    };
    const { status, requeueAfterMs } = computeTreatyStatus(t, evidence, now, periodStart(now));
    this.#holdsUntil.set(
      name,
      requeueAfterMs === undefined ? Infinity : now.getTime() + requeueAfterMs,
    );
    // Counters move with every placement; what routing reads is the rest.
    const routingView = (s: Treaty["status"]): string =>
      stableJson({
        ...s,
        fillRate: undefined,
        activeJobs: undefined,
        gpuHoursThisPeriod: undefined,
      });
    if (t.status !== undefined && routingView(t.status) === routingView(status)) return false;
    const rv = String(++this.#rv);
    this.#byName.set(name, { ...t, metadata: { ...t.metadata, resourceVersion: rv }, status });
    this.#computedFrom.set(name, from.replace(/^[^|]*/, rv));
    this.#relist();
    return true;
  }

  /** Records a probe result of `name`'s provider. */
  probe(name: string, rtt: number | undefined): void {
    const b = this.book(name);
    if (rtt === undefined) {
      b.unreachable = "the provider is down (503)";
      return;
    }
    b.unreachable = undefined;
    b.rttMs.push(rtt);
    if (b.rttMs.length > RTT_SAMPLES) b.rttMs.shift();
  }

  #relist(): void {
    this.#list = [...this.#byName.values()];
  }
}

function toTreaty(t: ScenarioTreaty, rv: number): Treaty {
  const inCluster = t.provider === IN_CLUSTER_PROVIDER;
  const spec = {
    provider: t.provider,
    regions: t.regions,
    pricing: Object.entries(t.pricing).map(([gpuType, usdPerHour]) => ({ gpuType, usdPerHour })),
    ...(t.slo === undefined ? {} : { slo: t.slo }),
    ...(t.quotas === undefined ? {} : { quotas: t.quotas }),
    reputationFloor: t.reputationFloor,
    effectiveDate: "2020-01-01",
    ...(t.expiryDate === undefined ? {} : { expiryDate: t.expiryDate }),
    ...(inCluster
      ? { inCluster: { gpuResourceName: "nvidia.com/gpu" } }
      : { endpoint: `http://${t.provider}.wargame.invalid` }),
    suspended: t.suspended,
  };
  return {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "Treaty",
    metadata: { name: t.name, resourceVersion: String(rv), generation: 1 },
    spec,
  } as unknown as Treaty;
}
