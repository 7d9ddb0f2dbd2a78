/**
 * Every metric VaultMesh exposes, as data (ADR 0110): the code creates its metrics from these
 * definitions and docs/metrics.md is generated from {@link METRIC_CATALOG}. Label values are
 * bounded by configuration or code (treaties, policies, controllers, routes), never by
 * workloads: a scrape of 10k cached objects exposes no per-object series.
 */
import { defineMetric, type MetricDef } from "./define.ts";

const KPI = "KPI metrics";
const HTTP = "HTTP servers (RED)";
const CONTROLLERS = "Controllers and work queues";
const LEDGER = "Ledger (Remembrancer)";
const WEBHOOKS = "Admission webhooks";
const DEPS = "Dependencies";

const TREATY = "a Treaty's name (bounded by the Treaty objects)";
const POLICY = "a webhook endpoint's policy (gpuworkload, treaty, tenant, gpu-job-guard, …)";
const CONTROLLER = "gpuworkload, treaty, tenant, receipt, federationpeer";

/** Buckets of the admission decision-time histogram, seconds: 25 µs to 1 s (the seed's 18 ms p99 and 25 ms target are edges). */
export const DECISION_BUCKETS: readonly number[] = [
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.018, 0.025,
  0.05, 0.1, 0.25, 1,
];

/** Buckets of the HTTP request-duration histograms, seconds. */
export const HTTP_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

// ── KPIs ────────────────────────────────────────────────────────────────────────────────────

export const TREATY_FILL_RATE = defineMetric({
  name: "vaultmesh_treaty_fill_rate",
  type: "gauge",
  help: "Attempts routed to the treaty that were placed (not abandoned) / attempts routed to it, over the workloads in the cache (= Treaty status.fillRate); no series before the first attempt.",
  labelNames: ["treaty"],
  labels: { treaty: TREATY },
  group: KPI,
  processes: ["operator"],
});

export const TREATY_ATTEMPTS_ROUTED = defineMetric({
  name: "vaultmesh_treaty_attempts_routed",
  type: "gauge",
  help: "Attempts routed to the treaty, over the workloads in the cache (the fill rate's denominator).",
  labelNames: ["treaty"],
  labels: { treaty: TREATY },
  group: KPI,
  processes: ["operator"],
});

export const TREATY_ATTEMPTS_PLACED = defineMetric({
  name: "vaultmesh_treaty_attempts_placed",
  type: "gauge",
  help: "Of those, attempts placed (not abandoned before they started): the fill rate's numerator.",
  labelNames: ["treaty"],
  labels: { treaty: TREATY },
  group: KPI,
  processes: ["operator"],
});

export const TREATY_RTT = defineMetric({
  name: "vaultmesh_treaty_rtt_seconds",
  type: "histogram",
  help: "Round-trip time of the probes of a treaty's provider endpoint (the seed's treaty RTT: target ≤ 350 ms, p95 320 ms).",
  labelNames: ["treaty"],
  labels: { treaty: TREATY },
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.32, 0.35, 0.5, 1, 2.5],
  group: KPI,
  processes: ["operator"],
});

export const PROVENANCE_COVERAGE = defineMetric({
  name: "vaultmesh_provenance_coverage",
  type: "gauge",
  help: "Completed workloads whose completion Receipt is logged / completed workloads, over the cache (1 while none completed; target ≥ 0.95).",
  labelNames: [],
  group: KPI,
  processes: ["operator"],
});

export const PROVENANCE_COMPLETED = defineMetric({
  name: "vaultmesh_provenance_completed_workloads",
  type: "gauge",
  help: "Completed workloads (Complete or Failed) in the cache: the coverage's denominator.",
  labelNames: [],
  group: KPI,
  processes: ["operator"],
});

export const PROVENANCE_COVERED = defineMetric({
  name: "vaultmesh_provenance_covered_workloads",
  type: "gauge",
  help: "Of those, workloads whose completion Receipt is Logged: the coverage's numerator.",
  labelNames: [],
  group: KPI,
  processes: ["operator"],
});

export const WEBHOOK_DECISION_DURATION = defineMetric({
  name: "vaultmesh_webhook_decision_duration_seconds",
  type: "histogram",
  help: "Policy decision time: a parsed admission request to its decision, by policy (lookups and vault-law included; target ≤ 25 ms, p99 18 ms).",
  labelNames: ["policy"],
  labels: { policy: POLICY },
  buckets: DECISION_BUCKETS,
  group: KPI,
  processes: ["webhooks"],
});

// ── HTTP (RED) ──────────────────────────────────────────────────────────────────────────────

const SERVER = "operator, webhooks, ledger, tsa, provider-sim";
const ROUTE = "the route's template (`/v1/entries/:index`), `unmatched` when no route matched";
const METHOD = "the request's HTTP method";

export const HTTP_REQUESTS = defineMetric({
  name: "vaultmesh_http_requests_total",
  type: "counter",
  help: "HTTP requests answered, by server, route, method and status code.",
  labelNames: ["server", "route", "method", "code"],
  labels: {
    server: SERVER,
    route: ROUTE,
    method: METHOD,
    code: "the status code (`200`, `404`, …)",
  },
  group: HTTP,
  processes: ["operator", "webhooks", "ledger", "tsa", "provider-sim"],
});

export const HTTP_ERRORS = defineMetric({
  name: "vaultmesh_http_request_errors_total",
  type: "counter",
  help: "HTTP requests answered with a 5xx status or whose connection closed before the answer.",
  labelNames: ["server", "route", "method"],
  labels: { server: SERVER, route: ROUTE, method: METHOD },
  group: HTTP,
  processes: ["operator", "webhooks", "ledger", "tsa", "provider-sim"],
});

export const HTTP_DURATION = defineMetric({
  name: "vaultmesh_http_request_duration_seconds",
  type: "histogram",
  help: "Time from a request's arrival to its answer.",
  labelNames: ["server", "route", "method"],
  labels: { server: SERVER, route: ROUTE, method: METHOD },
  buckets: HTTP_BUCKETS,
  group: HTTP,
  processes: ["operator", "webhooks", "ledger", "tsa", "provider-sim"],
});

export const HTTP_IN_FLIGHT = defineMetric({
  name: "vaultmesh_http_requests_in_flight",
  type: "gauge",
  help: "HTTP requests being handled.",
  labelNames: ["server"],
  labels: { server: SERVER },
  group: HTTP,
  processes: ["operator", "webhooks", "ledger", "tsa", "provider-sim"],
});

// ── Controllers ─────────────────────────────────────────────────────────────────────────────

export const RECONCILE_TOTAL = defineMetric({
  name: "vaultmesh_reconcile_total",
  type: "counter",
  help: "Reconciles per controller and result.",
  labelNames: ["controller", "result"],
  labels: { controller: CONTROLLER, result: "success, requeue, error, terminal" },
  group: CONTROLLERS,
  processes: ["operator"],
});

export const RECONCILE_ERRORS = defineMetric({
  name: "vaultmesh_reconcile_errors_total",
  type: "counter",
  help: "Reconciles that failed (retried with backoff) or hit a terminal error.",
  labelNames: ["controller"],
  labels: { controller: CONTROLLER },
  group: CONTROLLERS,
  processes: ["operator"],
});

export const RECONCILE_DURATION = defineMetric({
  name: "vaultmesh_reconcile_duration_seconds",
  type: "histogram",
  help: "Duration of one reconcile.",
  labelNames: ["controller"],
  labels: { controller: CONTROLLER },
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  group: CONTROLLERS,
  processes: ["operator"],
});

export const WORKQUEUE_DEPTH = defineMetric({
  name: "vaultmesh_workqueue_depth",
  type: "gauge",
  help: "Keys waiting in a controller's work queue.",
  labelNames: ["controller"],
  labels: { controller: CONTROLLER },
  group: CONTROLLERS,
  processes: ["operator"],
});

export const WORKQUEUE_ADDS = defineMetric({
  name: "vaultmesh_workqueue_adds_total",
  type: "counter",
  help: "Keys queued for a controller (a key already waiting counts again, as client-go counts adds).",
  labelNames: ["controller"],
  labels: { controller: CONTROLLER },
  group: CONTROLLERS,
  processes: ["operator"],
});

export const WORKQUEUE_RETRIES = defineMetric({
  name: "vaultmesh_workqueue_retries_total",
  type: "counter",
  help: "Keys queued again after their backoff because their reconcile failed.",
  labelNames: ["controller"],
  labels: { controller: CONTROLLER },
  group: CONTROLLERS,
  processes: ["operator"],
});

export const ROUTING_DECISION_DURATION = defineMetric({
  name: "vaultmesh_routing_decision_duration_seconds",
  type: "histogram",
  help: "Time to route one workload over every treaty.",
  labelNames: [],
  buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01],
  group: CONTROLLERS,
  processes: ["operator"],
});

export const WORKLOADS_PLACED = defineMetric({
  name: "vaultmesh_workloads_placed_total",
  type: "counter",
  help: "Attempts placed (a Job created, or an external submission recorded) per treaty.",
  labelNames: ["treaty"],
  labels: { treaty: TREATY },
  group: CONTROLLERS,
  processes: ["operator"],
});

export const WORKLOADS_COMPLETED = defineMetric({
  name: "vaultmesh_workloads_completed_total",
  type: "counter",
  help: "Workloads this process finished (their completion Receipt appended), by outcome.",
  labelNames: ["outcome"],
  labels: { outcome: "Succeeded, Failed" },
  group: CONTROLLERS,
  processes: ["operator"],
});

export const LEADER = defineMetric({
  name: "vaultmesh_leader",
  type: "gauge",
  help: "1 while this replica holds the leader lease.",
  labelNames: [],
  group: CONTROLLERS,
  processes: ["operator"],
});

export const KUBE_REQUESTS = defineMetric({
  name: "vaultmesh_kube_requests",
  type: "gauge",
  help: "Kubernetes API requests sent by this process (watches excluded), by verb and resource.",
  labelNames: ["verb", "resource"],
  labels: { verb: "get, list, create, update, patch, delete, …", resource: "the API resource" },
  group: CONTROLLERS,
  processes: ["operator"],
});

export const CACHED_OBJECTS = defineMetric({
  name: "vaultmesh_cached_objects",
  type: "gauge",
  help: "Kubernetes objects held in this process's informer caches.",
  labelNames: [],
  group: CONTROLLERS,
  processes: ["operator"],
});

const TENANTS = "Tenants";
const TENANT = "a Tenant's name (bounded by the Tenant objects)";

export const TENANT_GPUS_IN_USE = defineMetric({
  name: "vaultmesh_tenant_gpus_in_use",
  type: "gauge",
  help: "GPUs the tenant's workloads use now (Tenant status.usage.gpusInUse), read from the cache at scrape time.",
  labelNames: ["tenant"],
  labels: { tenant: TENANT },
  group: TENANTS,
  processes: ["operator"],
});

export const TENANT_GPU_HOURS = defineMetric({
  name: "vaultmesh_tenant_gpu_hours",
  type: "gauge",
  help: "GPU-hours the tenant used this calendar month, UTC (Tenant status.usage.gpuHoursThisPeriod).",
  labelNames: ["tenant"],
  labels: { tenant: TENANT },
  group: TENANTS,
  processes: ["operator"],
});

export const TENANT_COST = defineMetric({
  name: "vaultmesh_tenant_cost_usd",
  type: "gauge",
  help: "The tenant's cost this calendar month in USD, from its completion receipts (Tenant status.usage.costMicroUsd / 1e6).",
  labelNames: ["tenant"],
  labels: { tenant: TENANT },
  group: TENANTS,
  processes: ["operator"],
});

// ── Ledger ──────────────────────────────────────────────────────────────────────────────────

export const LEDGER_APPENDS = defineMetric({
  name: "vaultmesh_ledger_appends_total",
  type: "counter",
  help: "Receipt appends by result: appended (a new entry), existing (an idempotent replay), error.",
  labelNames: ["result"],
  labels: { result: "appended, existing, error" },
  group: LEDGER,
  processes: ["operator", "webhooks", "ledger"],
});

export const LEDGER_APPEND_DURATION = defineMetric({
  name: "vaultmesh_ledger_append_duration_seconds",
  type: "histogram",
  help: "Time from an append's submission to its commit (group commit included).",
  labelNames: [],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  group: LEDGER,
  processes: ["operator", "webhooks", "ledger"],
});

export const LEDGER_TREE_SIZE = defineMetric({
  name: "vaultmesh_ledger_tree_size",
  type: "gauge",
  help: "Entries in the log (the newest tree head's size), read at scrape time.",
  labelNames: [],
  group: LEDGER,
  processes: ["ledger"],
});

export const LEDGER_UNPUBLISHED = defineMetric({
  name: "vaultmesh_ledger_unpublished_entries",
  type: "gauge",
  help: "Entries not yet covered by a published (signed and time-stamped) tree head, read at scrape time.",
  labelNames: [],
  group: LEDGER,
  processes: ["ledger"],
});

export const LEDGER_PUBLISH_LAG = defineMetric({
  name: "vaultmesh_ledger_publish_lag_seconds",
  type: "histogram",
  help: "At each publication: its time minus the time the published tree head was committed.",
  labelNames: [],
  buckets: [0.1, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 900],
  group: LEDGER,
  processes: ["operator", "webhooks", "ledger"],
});

export const LEDGER_PUBLICATIONS = defineMetric({
  name: "vaultmesh_ledger_publications_total",
  type: "counter",
  help: "Tree-head publications by result: published, postponed (the database or TSA away), failed.",
  labelNames: ["result"],
  labels: { result: "published, postponed, failed" },
  group: LEDGER,
  processes: ["operator", "webhooks", "ledger"],
});

export const LEDGER_TSA_DURATION = defineMetric({
  name: "vaultmesh_ledger_tsa_request_duration_seconds",
  type: "histogram",
  help: "Time of an RFC 3161 time-stamp request to the TSA (answered or not).",
  labelNames: [],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  group: LEDGER,
  processes: ["operator", "webhooks", "ledger"],
});

export const LEDGER_TSA_ERRORS = defineMetric({
  name: "vaultmesh_ledger_tsa_errors_total",
  type: "counter",
  help: "Time-stamp requests that failed: outage (unreachable, timed out, 5xx), bad_reply (refused or unverifiable token).",
  labelNames: ["reason"],
  labels: { reason: "outage, bad_reply" },
  group: LEDGER,
  processes: ["operator", "webhooks", "ledger"],
});

export const LEDGER_VERIFY_FAILURES = defineMetric({
  name: "vaultmesh_ledger_verify_failures_total",
  type: "counter",
  help: "Submissions the ledger refused because they failed verification, by check.",
  labelNames: ["check"],
  labels: {
    check:
      "receipt_digest (a receipt whose digest does not match), witness_checkpoint (a checkpoint the witness refused), federation_receipt (a peer's receipt proposal refused)",
  },
  group: LEDGER,
  processes: ["operator", "webhooks", "ledger"],
});

// ── Webhooks ────────────────────────────────────────────────────────────────────────────────

export const WEBHOOK_DECISIONS = defineMetric({
  name: "vaultmesh_webhook_decisions_total",
  type: "counter",
  help: "Admission decisions by policy and outcome.",
  labelNames: ["policy", "decision"],
  labels: { policy: POLICY, decision: "allowed, denied, patched, warned, error" },
  group: WEBHOOKS,
  processes: ["webhooks"],
});

export const WEBHOOK_REJECTED = defineMetric({
  name: "vaultmesh_webhook_rejected_requests_total",
  type: "counter",
  help: "Requests refused before any policy ran, by reason.",
  labelNames: ["reason"],
  labels: { reason: "malformed (400), too_large (413), unsupported (415)" },
  group: WEBHOOKS,
  processes: ["webhooks"],
});

export const WEBHOOK_DENIAL_RECEIPTS = defineMetric({
  name: "vaultmesh_webhook_denial_receipts_total",
  type: "counter",
  help: "policy.denied receipts by result.",
  labelNames: ["result"],
  labels: {
    result:
      "recorded (a new entry), duplicate (a retried review), failed (the append failed), dropped (the queue was full)",
  },
  group: WEBHOOKS,
  processes: ["webhooks"],
});

export const WEBHOOK_DENIAL_QUEUE = defineMetric({
  name: "vaultmesh_webhook_denial_receipt_queue_depth",
  type: "gauge",
  help: "Denials queued for the ledger and not yet being appended.",
  labelNames: [],
  group: WEBHOOKS,
  processes: ["webhooks"],
});

export const WEBHOOK_CERT_NOT_AFTER = defineMetric({
  name: "vaultmesh_webhook_certificate_not_after_timestamp_seconds",
  type: "gauge",
  help: "Expiry (notAfter) of the serving certificate, Unix seconds; 0 while none is served.",
  labelNames: [],
  group: WEBHOOKS,
  processes: ["webhooks"],
});

// ── Dependencies ────────────────────────────────────────────────────────────────────────────

export const DEPENDENCY_UP = defineMetric({
  name: "vaultmesh_dependency_up",
  type: "gauge",
  help: "1 while the dependency answers, 0 while it is down or not yet connected.",
  labelNames: ["dependency"],
  labels: { dependency: "kube-apiserver, ledger-database, redis, stripe, discord, tsa, …" },
  group: DEPS,
  processes: ["operator", "webhooks", "ledger"],
});

export const DEPENDENCY_OUTAGES = defineMetric({
  name: "vaultmesh_dependency_outages_total",
  type: "counter",
  help: "Times the dependency went down (an answer after that ends the outage).",
  labelNames: ["dependency"],
  labels: { dependency: "as vaultmesh_dependency_up" },
  group: DEPS,
  processes: ["operator", "webhooks", "ledger"],
});

/** Every metric, in the order docs/metrics.md lists them. */
export const METRIC_CATALOG: readonly MetricDef[] = [
  TREATY_FILL_RATE,
  TREATY_ATTEMPTS_ROUTED,
  TREATY_ATTEMPTS_PLACED,
  TREATY_RTT,
  PROVENANCE_COVERAGE,
  PROVENANCE_COMPLETED,
  PROVENANCE_COVERED,
  WEBHOOK_DECISION_DURATION,
  HTTP_REQUESTS,
  HTTP_ERRORS,
  HTTP_DURATION,
  HTTP_IN_FLIGHT,
  RECONCILE_TOTAL,
  RECONCILE_ERRORS,
  RECONCILE_DURATION,
  WORKQUEUE_DEPTH,
  WORKQUEUE_ADDS,
  WORKQUEUE_RETRIES,
  ROUTING_DECISION_DURATION,
  WORKLOADS_PLACED,
  WORKLOADS_COMPLETED,
  LEADER,
  KUBE_REQUESTS,
  CACHED_OBJECTS,
  TENANT_GPUS_IN_USE,
  TENANT_GPU_HOURS,
  TENANT_COST,
  LEDGER_APPENDS,
  LEDGER_APPEND_DURATION,
  LEDGER_TREE_SIZE,
  LEDGER_UNPUBLISHED,
  LEDGER_PUBLISH_LAG,
  LEDGER_PUBLICATIONS,
  LEDGER_TSA_DURATION,
  LEDGER_TSA_ERRORS,
  LEDGER_VERIFY_FAILURES,
  WEBHOOK_DECISIONS,
  WEBHOOK_REJECTED,
  WEBHOOK_DENIAL_RECEIPTS,
  WEBHOOK_DENIAL_QUEUE,
  WEBHOOK_CERT_NOT_AFTER,
  DEPENDENCY_UP,
  DEPENDENCY_OUTAGES,
];

/** The prefix of prom-client's default process metrics on every registry (`vaultmesh_process_cpu_seconds_total`, `vaultmesh_nodejs_heap_size_used_bytes`, …). */
export const PROCESS_METRIC_PREFIXES: readonly string[] = [
  "vaultmesh_process_",
  "vaultmesh_nodejs_",
];
