/**
 * The bridge's metrics: RED per route with the names every VaultMesh HTTP server uses
 * (`vaultmesh_http_*`, server="bridge"; see the shared metrics plan), plus its own rate-limit
 * and authentication outcomes. Labels are bounded: route templates, never names, keys or
 * tenants' secrets. Tenants are a label only on the rate-limit counter (bounded by Tenants).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The bridge's metric set, on its own registry. */
export class BridgeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"server" | "route" | "method" | "code">;
  readonly errors: Counter<"server" | "route" | "method">;
  readonly duration: Histogram<"server" | "route" | "method">;
  readonly inFlight: Gauge<"server">;
  /** Rate-limit decisions: allowed, limited, unavailable (Redis away: let through, ADR 0072). */
  readonly rateLimit: Counter<"decision">;
  /** Authentication outcomes: ok, unauthenticated, suspended, unavailable. */
  readonly auth: Counter<"outcome">;

  constructor(opts: { readonly defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: "vaultmesh_" });
    }
    this.requests = new Counter({
      name: "vaultmesh_http_requests_total",
      help: "HTTP requests answered, by route template and status code.",
      labelNames: ["server", "route", "method", "code"],
      registers,
    });
    this.errors = new Counter({
      name: "vaultmesh_http_request_errors_total",
      help: "HTTP requests answered with a 5xx.",
      labelNames: ["server", "route", "method"],
      registers,
    });
    this.duration = new Histogram({
      name: "vaultmesh_http_request_duration_seconds",
      help: "Time to answer an HTTP request.",
      labelNames: ["server", "route", "method"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.inFlight = new Gauge({
      name: "vaultmesh_http_requests_in_flight",
      help: "HTTP requests being handled.",
      labelNames: ["server"],
      registers,
    });
    this.rateLimit = new Counter({
      name: "vaultmesh_bridge_rate_limit_decisions_total",
      help: "Rate-limit decisions of the tenant API: allowed, limited, unavailable (Redis away, let through).",
      labelNames: ["decision"],
      registers,
    });
    this.auth = new Counter({
      name: "vaultmesh_bridge_auth_total",
      help: "API-key authentication outcomes: ok, unauthenticated, suspended, unavailable.",
      labelNames: ["outcome"],
      registers,
    });
  }
}
