/**
 * What the tenant API needs, injected into {@link buildServer} (app.ts): the key store, the
 * rate limiter, the bridge's Kubernetes client (used only to impersonate tenants), informer
 * caches of Treaties and Tenants for quotes, the ledger's proof API, health checks, a clock.
 */
import type { Logger } from "pino";
import type { Tenant, Treaty } from "../../crds/index.ts";
import type { KubeClient, ObjectCache } from "../kube/index.ts";
import type { RateDecision, RateLimitOptions } from "../tenant-stack/redis/tenant-cache.ts";
import type { KeyStore } from "./api-key-auth.ts";
import type { BridgeMetrics } from "./bridge-metrics.ts";
import type { CachedTenantReads } from "./tenant-reads.ts";

/** The per-tenant rate limiter (a `TenantCache` fits: one atomic Lua script in Redis). */
export interface RateLimiter {
  consumeRateLimit(name: string, nowMs: number, opts?: RateLimitOptions): Promise<RateDecision>;
}

/** The ledger as the bridge reads it: proof bundles by digest (its HTTP proof API). */
export interface LedgerReader {
  /** The proof bundle of `digest`, or undefined when the ledger has no such receipt. */
  bundle(digest: string): Promise<Record<string, unknown> | undefined>;
}

/** One dependency check: resolves when the dependency answers, throws with why not. */
export type HealthCheck = () => Promise<void>;

/** The dependencies /health reports, each needed by some route. */
export interface HealthChecks {
  readonly database: HealthCheck;
  readonly redis: HealthCheck;
  readonly ledger: HealthCheck;
  readonly kubernetes: HealthCheck;
}

/** Dependencies of the tenant API. */
export interface BridgeDeps {
  readonly keys: KeyStore;
  readonly limiter: RateLimiter;
  /** The bridge's own client: every tenant request goes through `withHeaders` (impersonation). */
  readonly kube: KubeClient;
  readonly treaties: Pick<ObjectCache<Treaty>, "list">;
  readonly tenants: Pick<ObjectCache<Tenant>, "get">;
  readonly ledger: LedgerReader;
  /**
   * Workload and receipt reads from informer caches after a cached access review (ADR 0124);
   * without it every read is an impersonated apiserver call.
   */
  readonly reads?: CachedTenantReads;
  readonly health: HealthChecks;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  readonly logger?: Logger;
  readonly metrics?: BridgeMetrics;
}
