/**
 * Prometheus metrics of the operator (definitions: services/metrics/catalog.ts, documented in
 * docs/metrics.md): reconcile totals, errors and durations per controller, work-queue depth, adds
 * and retries, routing decision time, placements and completions, treaty RTT, and — computed at
 * scrape time from the caches with the KPI functions of services/kpi — treaty fill rate and
 * provenance coverage (ADR 0110). No label names a workload: a scrape of 10k cached objects
 * exposes a series per treaty at most.
 */
import client from "prom-client";
import { microsToUsd } from "../crds/domain/index.ts";
import type { GPUWorkload, Receipt, Tenant } from "../crds/index.ts";
import {
  attemptCountsByTreaty,
  provenanceCounts,
  provenanceCoverage,
  treatyFillRate,
} from "../services/kpi/index.ts";
import type { ObjectCache } from "../services/kube/index.ts";
import {
  CACHED_OBJECTS,
  counter,
  gauge,
  histogram,
  KUBE_REQUESTS,
  LEADER,
  oncePerScrape,
  processMetrics,
  PROVENANCE_COMPLETED,
  PROVENANCE_COVERAGE,
  PROVENANCE_COVERED,
  RECONCILE_DURATION,
  RECONCILE_ERRORS,
  RECONCILE_TOTAL,
  ROUTING_DECISION_DURATION,
  TENANT_COST,
  TENANT_GPU_HOURS,
  TENANT_GPUS_IN_USE,
  TREATY_ATTEMPTS_PLACED,
  TREATY_ATTEMPTS_ROUTED,
  TREATY_FILL_RATE,
  TREATY_RTT,
  WORKLOADS_COMPLETED,
  WORKLOADS_PLACED,
  WORKQUEUE_ADDS,
  WORKQUEUE_DEPTH,
  WORKQUEUE_RETRIES,
} from "../services/metrics/index.ts";
import type { WorkloadMetrics } from "./controllers/gpuworkload/gpuworkload-reconciler.ts";
import type { ControllerMetrics, ReconcileOutcome } from "./runtime/index.ts";

/** The operator's metrics on their own registry. */
export class OperatorMetrics implements ControllerMetrics, WorkloadMetrics {
  readonly registry = new client.Registry();
  private readonly reconcileTotal: client.Counter<"controller" | "result">;
  private readonly reconcileErrors: client.Counter<"controller">;
  private readonly reconcileDuration: client.Histogram<"controller">;
  private readonly depth: client.Gauge<"controller">;
  private readonly adds: client.Counter<"controller">;
  private readonly retries: client.Counter<"controller">;
  private readonly rtt: client.Histogram<"treaty">;
  private readonly routing: client.Histogram;
  private readonly placedTotal: client.Counter<"treaty">;
  private readonly completedTotal: client.Counter<"outcome">;
  private readonly leaderGauge: client.Gauge;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = this.registry;
    if (opts.defaultMetrics !== false) processMetrics(r);
    this.reconcileTotal = counter(r, RECONCILE_TOTAL);
    this.reconcileErrors = counter(r, RECONCILE_ERRORS);
    this.reconcileDuration = histogram(r, RECONCILE_DURATION);
    this.depth = gauge(r, WORKQUEUE_DEPTH);
    this.adds = counter(r, WORKQUEUE_ADDS);
    this.retries = counter(r, WORKQUEUE_RETRIES);
    this.rtt = histogram(r, TREATY_RTT);
    this.routing = histogram(r, ROUTING_DECISION_DURATION);
    this.placedTotal = counter(r, WORKLOADS_PLACED);
    this.completedTotal = counter(r, WORKLOADS_COMPLETED);
    for (const outcome of ["Succeeded", "Failed"]) this.completedTotal.inc({ outcome }, 0);
    this.leaderGauge = gauge(r, LEADER);
  }

  reconciled(controller: string, outcome: ReconcileOutcome, seconds: number): void {
    this.reconcileTotal.inc({ controller, result: outcome });
    if (outcome === "error" || outcome === "terminal") this.reconcileErrors.inc({ controller });
    this.reconcileDuration.observe({ controller }, seconds);
  }

  queueDepth(controller: string, depth: number): void {
    this.depth.set({ controller }, depth);
  }

  queued(controller: string): void {
    this.adds.inc({ controller });
  }

  retried(controller: string): void {
    this.retries.inc({ controller });
  }

  leader(isLeader: boolean): void {
    this.leaderGauge.set(isLeader ? 1 : 0);
  }

  routingDecision(seconds: number): void {
    this.routing.observe(seconds);
  }

  placed(treaty: string): void {
    this.placedTotal.inc({ treaty });
  }

  completed(outcome: "Succeeded" | "Failed"): void {
    this.completedTotal.inc({ outcome });
  }

  treatyRtt(treaty: string, ms: number): void {
    this.rtt.observe({ treaty }, ms / 1000);
  }

  /**
   * The Treaty controller's status hook. The fill-rate gauge is computed from the workload cache
   * at scrape time ({@link treatyFillRateFrom}), so nothing is kept here.
   */
  treatyFillRate(_treaty: string, _fillRate: number | undefined): void {}

  /** Registers `vaultmesh_kube_requests{verb,resource}`: API requests sent by `counts`' client. */
  kubeRequestsFrom(counts: ReadonlyMap<string, number>): void {
    gauge(this.registry, KUBE_REQUESTS, function () {
      for (const [k, n] of counts) {
        const [verb = "", resource = ""] = k.split(" ");
        this.set({ verb, resource }, n);
      }
    });
  }

  /** Registers `vaultmesh_cached_objects`: objects held in this process's informer caches. */
  cachedObjectsFrom(count: () => number): void {
    gauge(this.registry, CACHED_OBJECTS, function () {
      this.set(count());
    });
  }

  /**
   * Registers the fill-rate gauges per treaty (`vaultmesh_treaty_fill_rate` and its numerator
   * and denominator), computed from the workloads' attempts at scrape time with the KPI's one
   * definition (services/kpi) — the same figures as each Treaty's `status.fillRate`.
   */
  treatyFillRateFrom(workloads: Pick<ObjectCache<GPUWorkload>, "list">): void {
    const counts = oncePerScrape(() => attemptCountsByTreaty(workloads.list()));
    gauge(this.registry, TREATY_FILL_RATE, function () {
      this.reset();
      for (const [treaty, c] of counts()) {
        const rate = treatyFillRate(c);
        if (rate !== undefined) this.set({ treaty }, rate);
      }
    });
    gauge(this.registry, TREATY_ATTEMPTS_ROUTED, function () {
      this.reset();
      for (const [treaty, c] of counts()) this.set({ treaty }, c.routed);
    });
    gauge(this.registry, TREATY_ATTEMPTS_PLACED, function () {
      this.reset();
      for (const [treaty, c] of counts()) this.set({ treaty }, c.placed);
    });
  }

  /**
   * Registers the tenant usage gauges (GPUs in use, GPU-hours and cost this period, per
   * tenant), read from the Tenants' status in the cache at scrape time; a tenant without usage
   * yet has no series.
   */
  tenantUsageFrom(tenants: Pick<ObjectCache<Tenant>, "list">): void {
    const usage = (t: Tenant) => t.status?.usage;
    const each = (
      g: client.Gauge<"tenant">,
      value: (u: NonNullable<ReturnType<typeof usage>>) => number | undefined,
    ): void => {
      g.reset();
      for (const t of tenants.list()) {
        const u = usage(t);
        const v = u ? value(u) : undefined;
        if (v !== undefined) g.set({ tenant: t.metadata.name ?? "" }, v);
      }
    };
    gauge(this.registry, TENANT_GPUS_IN_USE, function () {
      each(this, (u) => u.gpusInUse);
    });
    gauge(this.registry, TENANT_GPU_HOURS, function () {
      each(this, (u) => u.gpuHoursThisPeriod);
    });
    gauge(this.registry, TENANT_COST, function () {
      each(this, (u) => (u.costMicroUsd !== undefined ? microsToUsd(u.costMicroUsd) : u.cost));
    });
  }

  /**
   * Registers the provenance-coverage gauges (the ratio, its numerator and denominator),
   * computed from the caches at scrape time with services/kpi's definition.
   */
  provenanceFrom(
    workloads: Pick<ObjectCache<GPUWorkload>, "list">,
    receipts: Pick<ObjectCache<Receipt>, "get">,
  ): void {
    const counts = oncePerScrape(() =>
      provenanceCounts(workloads.list(), (ns, name) => receipts.get(name, ns)),
    );
    gauge(this.registry, PROVENANCE_COVERAGE, function () {
      this.set(provenanceCoverage(counts()));
    });
    gauge(this.registry, PROVENANCE_COMPLETED, function () {
      this.set(counts().completed);
    });
    gauge(this.registry, PROVENANCE_COVERED, function () {
      this.set(counts().covered);
    });
  }
}
