/**
 * Prometheus metrics of the operator (prom-client, every name prefixed `vaultmesh_`): reconcile
 * totals, errors and durations per controller, queue depth, treaty fill rate and RTT, routing
 * decision time, placements, completions, and provenance coverage (completed workloads whose
 * Receipt is logged / completed workloads), computed at scrape time from the caches.
 */
import client from "prom-client";
import type { GPUWorkload, Receipt } from "../crds/index.ts";
import type { ObjectCache } from "../services/kube/index.ts";
import type { WorkloadMetrics } from "./controllers/gpuworkload/gpuworkload-reconciler.ts";
import type { ControllerMetrics, ReconcileOutcome } from "./runtime/index.ts";

/** The operator's metrics on their own registry. */
export class OperatorMetrics implements ControllerMetrics, WorkloadMetrics {
  readonly registry = new client.Registry();
  private readonly reconcileTotal: client.Counter<"controller" | "result">;
  private readonly reconcileErrors: client.Counter<"controller">;
  private readonly reconcileDuration: client.Histogram<"controller">;
  private readonly depth: client.Gauge<"controller">;
  private readonly fill: client.Gauge<"treaty">;
  private readonly rtt: client.Histogram<"treaty">;
  private readonly routing: client.Histogram;
  private readonly placedTotal: client.Counter<"treaty">;
  private readonly completedTotal: client.Counter<"outcome">;
  private readonly leaderGauge: client.Gauge;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) {
      client.collectDefaultMetrics({ register: this.registry, prefix: "vaultmesh_" });
    }
    this.reconcileTotal = new client.Counter({
      name: "vaultmesh_reconcile_total",
      help: "Reconciles per controller and result (success, requeue, error, terminal).",
      labelNames: ["controller", "result"],
      registers,
    });
    this.reconcileErrors = new client.Counter({
      name: "vaultmesh_reconcile_errors_total",
      help: "Reconciles that failed (retried with backoff) or hit a terminal error.",
      labelNames: ["controller"],
      registers,
    });
    this.reconcileDuration = new client.Histogram({
      name: "vaultmesh_reconcile_duration_seconds",
      help: "Duration of one reconcile.",
      labelNames: ["controller"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.depth = new client.Gauge({
      name: "vaultmesh_workqueue_depth",
      help: "Keys waiting in a controller's work queue.",
      labelNames: ["controller"],
      registers,
    });
    this.fill = new client.Gauge({
      name: "vaultmesh_treaty_fill_rate",
      help: "Share of workloads routed to the treaty that were placed (0..1).",
      labelNames: ["treaty"],
      registers,
    });
    this.rtt = new client.Histogram({
      name: "vaultmesh_treaty_rtt_seconds",
      help: "Round-trip time of probes to a treaty's provider endpoint.",
      labelNames: ["treaty"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.routing = new client.Histogram({
      name: "vaultmesh_routing_decision_duration_seconds",
      help: "Time to route one workload over every treaty.",
      buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01],
      registers,
    });
    this.placedTotal = new client.Counter({
      name: "vaultmesh_workloads_placed_total",
      help: "Attempts placed (Jobs created) per treaty.",
      labelNames: ["treaty"],
      registers,
    });
    this.completedTotal = new client.Counter({
      name: "vaultmesh_workloads_completed_total",
      help: "Workloads finished by this process, by outcome.",
      labelNames: ["outcome"],
      registers,
    });
    this.leaderGauge = new client.Gauge({
      name: "vaultmesh_leader",
      help: "1 while this replica holds the leader lease.",
      registers,
    });
  }

  reconciled(controller: string, outcome: ReconcileOutcome, seconds: number): void {
    this.reconcileTotal.inc({ controller, result: outcome });
    if (outcome === "error" || outcome === "terminal") this.reconcileErrors.inc({ controller });
    this.reconcileDuration.observe({ controller }, seconds);
  }

  queueDepth(controller: string, depth: number): void {
    this.depth.set({ controller }, depth);
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

  treatyFillRate(treaty: string, fillRate: number | undefined): void {
    if (fillRate !== undefined) this.fill.set({ treaty }, fillRate);
  }

  /** Registers `vaultmesh_kube_requests{verb,resource}`: API requests sent by `counts`' client. */
  kubeRequestsFrom(counts: ReadonlyMap<string, number>): void {
    new client.Gauge({
      name: "vaultmesh_kube_requests",
      help: "Kubernetes API requests sent by this process (watches excluded), by verb and resource.",
      labelNames: ["verb", "resource"],
      registers: [this.registry],
      collect() {
        for (const [k, n] of counts) {
          const [verb = "", resource = ""] = k.split(" ");
          this.set({ verb, resource }, n);
        }
      },
    });
  }

  /** Registers `vaultmesh_cached_objects`: objects held in this process's informer caches. */
  cachedObjectsFrom(count: () => number): void {
    new client.Gauge({
      name: "vaultmesh_cached_objects",
      help: "Kubernetes objects held in this process's informer caches.",
      registers: [this.registry],
      collect() {
        this.set(count());
      },
    });
  }

  /** Registers the provenance-coverage gauge, computed from the caches at scrape time. */
  provenanceFrom(workloads: ObjectCache<GPUWorkload>, receipts: ObjectCache<Receipt>): void {
    new client.Gauge({
      name: "vaultmesh_provenance_coverage",
      help: "Completed workloads whose completion Receipt is logged, over completed workloads (1 when none).",
      registers: [this.registry],
      collect() {
        let done = 0;
        let covered = 0;
        for (const w of workloads.list()) {
          const finished = (w.status?.conditions ?? []).some(
            (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
          );
          if (!finished) continue;
          done++;
          const ref = w.status?.receiptRef?.name;
          const r = ref ? receipts.get(ref, w.metadata.namespace) : undefined;
          if (r?.status?.conditions?.some((c) => c.type === "Logged" && c.status === "True")) {
            covered++;
          }
        }
        this.set(done === 0 ? 1 : covered / done);
      },
    });
  }
}
