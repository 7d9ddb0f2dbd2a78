// Prometheus metrics of the admission server, on a registry of its own (no global state):
// decision time per policy in fine buckets (the goal is p99 ≤ 1 ms), decisions by outcome,
// requests refused before any policy ran, what became of the policy.denied receipts, and when
// the served certificate expires.
import { Registry, type Counter, type Gauge, type Histogram } from "prom-client";
import {
  DependencyHealth,
  registerDependencyMetrics,
  type HealthLogger,
} from "../services/dependency-health/index.ts";
import {
  counter,
  gauge,
  histogram,
  HttpMetrics,
  processMetrics,
  WEBHOOK_CERT_NOT_AFTER,
  WEBHOOK_DECISION_DURATION,
  WEBHOOK_DECISIONS,
  WEBHOOK_DENIAL_QUEUE,
  WEBHOOK_DENIAL_RECEIPTS,
  WEBHOOK_REJECTED,
} from "../services/metrics/index.ts";
import { LedgerMetrics } from "../services/ledger/ledger-metrics.ts";

/** Buckets of the decision-time histogram, in seconds: 25 µs to 1 s (services/metrics). */
export { DECISION_BUCKETS } from "../services/metrics/index.ts";

/** The admission server's metrics (definitions: services/metrics/catalog.ts). */
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
  /** RED metrics of the HTTPS server (`server="webhooks"`). */
  readonly http: HttpMetrics;
  /** Appends of the denial ledger (policy.denied receipts). */
  readonly ledger: LedgerMetrics;

  /** `process`: also the Node.js process metrics (the server's main sets it). */
  constructor(registry: Registry = new Registry(), opts: { readonly process?: boolean } = {}) {
    this.registry = registry;
    if (opts.process) processMetrics(registry);
    this.decisionSeconds = histogram(registry, WEBHOOK_DECISION_DURATION);
    this.decisions = counter(registry, WEBHOOK_DECISIONS);
    this.rejected = counter(registry, WEBHOOK_REJECTED);
    this.denialReceipts = counter(registry, WEBHOOK_DENIAL_RECEIPTS);
    this.denialReceiptQueue = gauge(registry, WEBHOOK_DENIAL_QUEUE);
    this.certificateNotAfter = gauge(registry, WEBHOOK_CERT_NOT_AFTER);
    this.http = new HttpMetrics(registry, "webhooks");
    this.ledger = new LedgerMetrics(registry);
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
