// What the admission server needs from the outside world, passed in by whoever builds it:
// cross-object lookups (an informer cache in a cluster, maps in tests), configuration, a clock,
// a logger, metrics and an optional hook that records denials in the ledger.
import type { GPUWorkload, Tenant, Treaty } from "../crds/index.ts";
import type { DependencyStatus } from "../services/dependency-health/index.ts";
import type { ModuleSource, VaultLawEvaluator } from "../services/vault-law/evaluator.ts";
import type { OwnedMeta } from "./policies/pod.ts";
import type { FieldError } from "./policies/field-errors.ts";
import type { WebhookMetrics } from "./metrics.ts";

/** A value or a promise of it: cache reads are synchronous, live fallbacks are not. */
export type Awaitable<T> = T | Promise<T>;

/** A Job as the GPU pod guard reads it. */
export interface JobLike {
  readonly metadata?: OwnedMeta;
}

/** A Node as the Treaty policy reads it (its labels place it in an in-cluster pool). */
export interface NodeLike {
  readonly metadata?: { readonly name?: string; readonly labels?: Record<string, string> };
}

/** Cross-object reads the policies need. Implementations read an informer cache. */
export interface AdmissionLookups {
  /** The Tenant `name` (cluster-scoped). */
  getTenant(name: string): Awaitable<Tenant | undefined>;
  /** Every Treaty. */
  listTreaties(): Awaitable<readonly Treaty[]>;
  /** The GPUWorkloads of one namespace (for the tenant's current usage). */
  listWorkloads(namespace: string): Awaitable<readonly GPUWorkload[]>;
  /** A GPUWorkload by namespace and name. */
  getWorkload(namespace: string, name: string): Awaitable<GPUWorkload | undefined>;
  /** A Job by namespace and name. */
  getJob(namespace: string, name: string): Awaitable<JobLike | undefined>;
  /** Every Node (for the GPU types an in-cluster treaty's pool offers); optional. */
  listNodes?(): Awaitable<readonly NodeLike[]>;
  /** The bytes of a vault-law module stored in a ConfigMap. */
  getPolicyModule: ModuleSource;
  /** Whether the lookups are ready to answer (caches synced); /readyz reports it. */
  ready?(): boolean;
}

/** Settings of the admission policies. */
export interface WebhookConfig {
  /**
   * The operator's identity, the only user allowed to delete Receipts (besides the system
   * controllers in {@link WebhookConfig.receiptDeleters}).
   * @default system:serviceaccount:vaultmesh-system:vaultmesh-operator
   */
  readonly operatorServiceAccount: string;
  /** Other identities allowed to delete Receipts. @default the namespace and GC controllers */
  readonly receiptDeleters: readonly string[];
  /**
   * Identities that may create GPU Jobs in tenant namespaces, and change their spec or
   * controller (the GPU Job guard, ADR 0049). `VAULTMESH_GPU_JOB_CREATORS` sets it.
   * @default [operatorServiceAccount]
   */
  readonly gpuJobCreators: readonly string[];
  /** Extended resources that count GPUs. @default ["nvidia.com/gpu"] */
  readonly gpuResources: readonly string[];
  /** Taint keys of the GPU pool. @default ["nvidia.com/gpu"] */
  readonly gpuTaintKeys: readonly string[];
}

/** A denied request, for the optional `policy.denied` receipt. */
export interface DenialRecord {
  /** The webhook that denied (`gpuworkloads.validate.vaultmesh.cloud`). */
  readonly webhook: string;
  /** The policy behind it (the metrics' `policy` label: `gpuworkload`, `gpu-pod-guard`). */
  readonly policy: string;
  /** The URL path the request came in on (`/validate/gpuworkloads`). */
  readonly path: string;
  /** AdmissionReview request uid. */
  readonly requestUid: string;
  readonly operation: string;
  /** The object's API group ("" for the core group). */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly username: string;
  readonly errors: readonly FieldError[];
  /** When the decision was taken (RFC 3339). */
  readonly time: string;
}

/** Minimal logger (pino-compatible). */
export interface WebhookLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** The logger of a component given none: says nothing. */
export const silentLogger: WebhookLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** Everything {@link buildServer} takes. */
export interface WebhookDeps {
  readonly lookups: AdmissionLookups;
  /** Evaluator of vault-law modules. @default one reading lookups.getPolicyModule */
  readonly vaultLaw?: VaultLawEvaluator;
  readonly config?: Partial<WebhookConfig>;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** @default a logger that discards everything */
  readonly logger?: WebhookLogger;
  /** @default a fresh registry */
  readonly metrics?: WebhookMetrics;
  /**
   * Called once for every denial that is not a dry run (never awaited by the response; its
   * errors are logged). webhooks/main.ts wires it to the ledger as a PolicyDenied receipt when
   * VAULTMESH_RECORD_DENIALS=true (denial-recorder.ts, ADR 0048).
   */
  readonly recordDenial?: (denial: DenialRecord) => Promise<void> | void;
  /**
   * The server's dependencies (services/dependency-health's DependencyHealth fits; main.ts
   * creates one and registers the denial ledger's Postgres there). /readyz lists each one; only
   * a required one that is down makes it 503 (ADR 0071). @default none listed
   */
  readonly health?: { statuses(): DependencyStatus[] };
}
