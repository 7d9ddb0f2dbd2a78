/**
 * Live quota usage of every treaty, for the router's `usage` input: active jobs and GPU-hours
 * in the current period. Derived, never incremented (ADR 0022): each cache event re-derives the
 * state of the one object it carries (is this Job live? does this workload hold an external
 * attempt?) as set membership by key, and marks the treaty whose GPU-hours must be re-summed
 * from its receipts. A routing decision then reads a Map that is up to date, instead of copying
 * every treaty and re-summing every treaty's receipts per decision (ADR 0030). Placements this
 * process made that the Job watch has not delivered yet count too (an expectation, dropped when
 * the Job shows up or after a minute), so a burst of decisions cannot overrun maxConcurrentJobs.
 */
import { IN_CLUSTER_PROVIDER } from "../../../crds/constants.ts";
import type { GPUWorkload, Receipt, Treaty } from "../../../crds/index.ts";
import { objectKey, type Informer } from "../../../services/kube/index.ts";
import type { TreatyUsage } from "../../../services/routing/index.ts";
import { Labels } from "./completion-receipt.ts";
import type { Job } from "../../shared/kube-types.ts";
import { periodStart, sumUsage } from "../../../crds/domain/index.ts";
import { jobIsLive, treatyCompletions } from "../../shared/workload-caches.ts";

/** How long a placement not yet seen in the Job cache still counts. */
const EXPECTATION_MS = 60000;

/** The caches usage is derived from. */
export interface TreatyUsageSources {
  readonly jobs: Informer<Job>;
  readonly receipts: Informer<Receipt>;
  readonly workloads: Informer<GPUWorkload>;
  readonly treaties: Informer<Treaty>;
}

/** Keys by treaty, each key under at most one treaty. */
class KeysByTreaty {
  private readonly byTreaty = new Map<string, Set<string>>();
  private readonly treatyOf = new Map<string, string>();

  /** Puts `key` under `treaty`, or removes it when `treaty` is undefined; returns the treaties touched. */
  set(key: string, treaty: string | undefined): string[] {
    const prev = this.treatyOf.get(key);
    if (prev === treaty) return [];
    if (prev !== undefined) {
      this.byTreaty.get(prev)?.delete(key);
      this.treatyOf.delete(key);
    }
    if (treaty !== undefined) {
      let s = this.byTreaty.get(treaty);
      if (!s) this.byTreaty.set(treaty, (s = new Set()));
      s.add(key);
      this.treatyOf.set(key, treaty);
    }
    return [prev, treaty].filter((t): t is string => t !== undefined);
  }

  count(treaty: string): number {
    return this.byTreaty.get(treaty)?.size ?? 0;
  }

  has(key: string): boolean {
    return this.treatyOf.has(key);
  }
}

/** The expectation key of an external attempt of the workload `namespace/name`. */
export const externalKey = (workloadKey: string): string => `gpuworkload:${workloadKey}`;

/** Maintains each treaty's live usage from the caches' events. */
export class TreatyUsageTracker {
  private readonly s: TreatyUsageSources;
  private readonly liveJobs = new KeysByTreaty();
  private readonly seenJobs = new Set<string>();
  private readonly external = new KeysByTreaty();
  private readonly pending = new Map<string, { treaty: string; at: number }>();
  private readonly usageMap = new Map<string, TreatyUsage>();
  private readonly hours = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly hoursDirty = new Set<string>();
  private period = -1;

  constructor(sources: TreatyUsageSources) {
    this.s = sources;
    sources.jobs.on((type, j) => this.onJob(type, j));
    sources.workloads.on((type, w) => this.onWorkload(type, w));
    sources.receipts.on((_type, r, old) => {
      for (const x of [r, old]) {
        const t = x?.metadata.labels?.[Labels.receiptTreaty];
        if (t) this.touchHours(t);
      }
    });
    // Every treaty has an entry, so a stale status.activeJobs is never what the router reads.
    sources.treaties.on((type, t) => {
      const name = t.metadata.name ?? "";
      if (type === "delete") this.usageMap.delete(name);
      else if (!this.usageMap.has(name)) this.touchHours(name);
    });
    for (const t of sources.treaties.list()) this.touchHours(t.metadata.name ?? "");
    // Objects cached before this tracker subscribed.
    for (const j of sources.jobs.list()) this.onJob("add", j);
    for (const w of sources.workloads.list()) this.onWorkload("add", w);
  }

  /**
   * Records a Job this process just created (`namespace/name`), or an external attempt it just
   * recorded (`externalKey(workload key)`), under `treaty`.
   */
  expect(jobKey: string, treaty: string, now: number): void {
    if (this.seenJobs.has(jobKey)) return;
    this.pending.set(jobKey, { treaty, at: now });
    this.dirty.add(treaty);
  }

  /** Forgets an expectation (the Job's creation failed). */
  observed(jobKey: string): void {
    const p = this.pending.get(jobKey);
    if (!p) return;
    this.pending.delete(jobKey);
    this.dirty.add(p.treaty);
  }

  /**
   * Usage by treaty name at `now`: active jobs (live Jobs, expected Jobs, external attempts)
   * and GPU-hours of completion receipts in the period, for every cached treaty. The Map is
   * reused between calls; read it before the next call.
   */
  usage(now: Date): ReadonlyMap<string, TreatyUsage> {
    const t = now.getTime();
    const period = periodStart(now).getTime();
    if (period !== this.period) {
      // A new quota period: every treaty's GPU-hours start again.
      this.period = period;
      this.hours.clear();
      for (const name of this.usageMap.keys()) this.touchHours(name);
    }
    for (const [key, p] of this.pending) {
      if (t - p.at > EXPECTATION_MS) this.observed(key);
    }
    for (const name of this.hoursDirty) {
      this.hours.set(
        name,
        sumUsage(treatyCompletions(this.s.receipts, name, new Date(period))).gpuSeconds / 3600,
      );
      this.dirty.add(name);
    }
    this.hoursDirty.clear();
    for (const name of this.dirty) this.recompute(name);
    this.dirty.clear();
    return this.usageMap;
  }

  private recompute(name: string): void {
    let expected = 0;
    for (const p of this.pending.values()) if (p.treaty === name) expected++;
    const activeJobs = this.liveJobs.count(name) + expected + this.external.count(name);
    const gpuHoursThisPeriod = this.hours.get(name) ?? 0;
    if (this.s.treaties.get(name)) this.usageMap.set(name, { activeJobs, gpuHoursThisPeriod });
  }

  private touchHours(treaty: string): void {
    this.hoursDirty.add(treaty);
  }

  private onJob(type: "add" | "update" | "delete", j: Job): void {
    const key = `${j.metadata.namespace}/${j.metadata.name}`;
    const treaty = j.metadata.labels?.[Labels.treaty];
    if (type === "delete") this.seenJobs.delete(key);
    else this.seenJobs.add(key);
    const live = type !== "delete" && treaty !== undefined && jobIsLive(j);
    for (const t of this.liveJobs.set(key, live ? treaty : undefined)) this.dirty.add(t);
    if (type !== "delete") this.observed(key);
  }

  private onWorkload(type: "add" | "update" | "delete", w: GPUWorkload): void {
    const last = w.status?.attempts?.at(-1);
    const holds =
      type !== "delete" &&
      last?.outcome === "Running" &&
      last.provider !== IN_CLUSTER_PROVIDER &&
      last.jobName === undefined;
    const key = objectKey(w);
    for (const t of this.external.set(key, holds ? last.treaty : undefined)) this.dirty.add(t);
    if (holds) this.observed(externalKey(key));
  }
}
