/**
 * The bridge's metrics: RED per route through the shared helper (services/metrics,
 * `vaultmesh_http_*{server="bridge"}`, ADR 0110) plus its own rate-limit and authentication
 * outcomes. Labels are bounded: route templates and outcomes, never names, keys or tenants.
 */
import { Counter, Registry, collectDefaultMetrics } from "prom-client";
import { HttpMetrics } from "../metrics/index.ts";

/** The bridge's metric set, on its own registry. */
export class BridgeMetrics {
  readonly registry = new Registry();
  readonly http: HttpMetrics;
  /** Rate-limit decisions: allowed, limited, unavailable (Redis away: let through, ADR 0072). */
  readonly rateLimit: Counter<"decision">;
  /** Authentication outcomes: ok, unauthenticated, suspended, unavailable. */
  readonly auth: Counter<"outcome">;

  constructor(opts: { readonly defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: "vaultmesh_" });
    }
    this.http = new HttpMetrics(this.registry, "bridge");
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
