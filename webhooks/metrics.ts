// Prometheus metrics of the admission server, on a registry of its own (no global state):
// decision time per policy in fine buckets (the goal is p99 ≤ 1 ms), decisions by outcome,
// requests refused before any policy ran, what became of the policy.denied receipts, and when
// the served certificate expires.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import {
  DependencyHealth,
  registerDependencyMetrics,
  type HealthLogger,
} from "../services/dependency-health/index.ts";

/** Buckets of the decision-time histogram, in seconds: 25 µs to 1 s. */
export const DECISION_BUCKETS: readonly number[] = [
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 1,
];

/** The admission server's metrics. */
export class WebhookMetrics {
  readonly registry: Registry;
  /** Time from a parsed request to its decision, by policy (lookups and vault-law included). */
  readonly decisionSeconds: Histogram<"policy">;
  /** Decisions by policy and outcome: allowed, denied, patched, warned, error. */
  readonly decisions: Counter<"policy" | "decision">;
  /** Requests refused before a policy ran: malformed (400), too_large (413), unsupported (415). */
  readonly rejected: Counter<"reason">;
  /**
   * policy.denied receipts by result: recorded (a new ledger entry), duplicate (the ledger held
   * it already: a retried review), failed (the append failed), dropped (the queue was full).
   */
  readonly denialReceipts: Counter<"result">;
  /** Denials waiting for the ledger (queued, not yet appending). */
  readonly denialReceiptQueue: Gauge;
  /** notAfter of the certificate being served, in Unix seconds (0 while none is). */
  readonly certificateNotAfter: Gauge;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    this.decisionSeconds = new Histogram({
      name: "vaultmesh_webhook_decision_duration_seconds",
      help: "Time to decide one admission request, by policy.",
      labelNames: ["policy"],
      buckets: [...DECISION_BUCKETS],
      registers: [registry],
    });
    this.decisions = new Counter({
      name: "vaultmesh_webhook_decisions_total",
      help: "Admission decisions by policy and outcome (allowed, denied, patched, error).",
      labelNames: ["policy", "decision"],
      registers: [registry],
    });
    this.rejected = new Counter({
      name: "vaultmesh_webhook_rejected_requests_total",
      help: "Requests refused before any policy ran, by reason.",
      labelNames: ["reason"],
      registers: [registry],
    });
    this.denialReceipts = new Counter({
      name: "vaultmesh_webhook_denial_receipts_total",
      help: "policy.denied receipts by result (recorded, duplicate, failed, dropped).",
      labelNames: ["result"],
      registers: [registry],
    });
    this.denialReceiptQueue = new Gauge({
      name: "vaultmesh_webhook_denial_receipt_queue_depth",
      help: "Denials queued for the ledger and not yet being appended.",
      registers: [registry],
    });
    this.certificateNotAfter = new Gauge({
      name: "vaultmesh_webhook_certificate_not_after_timestamp_seconds",
      help: "Expiry (notAfter) of the serving certificate, Unix seconds; 0 while none is served.",
      registers: [registry],
    });
  }
}

/**
 * The webhook server's one {@link DependencyHealth} (main.ts creates it; the denial ledger
 * registers its Postgres there), with `vaultmesh_dependency_up` and
 * `vaultmesh_dependency_outages_total` on `metrics.registry`.
 */
export function webhookDependencyHealth(
  metrics: WebhookMetrics,
  deps: { readonly clock: { now(): Date }; readonly logger: HealthLogger },
): DependencyHealth {
  const health = new DependencyHealth(deps);
  registerDependencyMetrics(health, metrics.registry);
  return health;
}
