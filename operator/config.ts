/**
 * Operator configuration from environment variables, parsed once in main.ts and passed down.
 * Every setting has a default that suits a single local replica.
 */

/**
 * Node flags the operator runs with (config/manager/operator.yaml, hack/dev.sh, the bench):
 * a 2 MB young generation instead of V8's default 16 MB semi-spaces, and V8's
 * `--optimize-for-size` (slower heap growth, smaller code). The operator's allocations are
 * short-lived JSON (watch events, request bodies) and it mostly waits on the API server, so
 * it trades ~1 ms of CPU per workload for a heap that stays near what it uses (ADR 0025).
 */
export const OPERATOR_NODE_FLAGS: readonly string[] = [
  "--max-semi-space-size=2",
  "--optimize-for-size",
];

/** The operator's settings. */
export interface OperatorConfig {
  /** kubeconfig path; the default loading rules ($KUBECONFIG, ~/.kube/config, in-cluster). */
  readonly kubeconfig?: string | undefined;
  /** Address of /metrics, /healthz and /readyz. @default 0.0.0.0:8080 (port 0 picks one) */
  readonly httpHost: string;
  readonly httpPort: number;
  /** Whether to campaign for the Lease. @default true */
  readonly leaderElect: boolean;
  /** Namespace of the Lease. @default vaultmesh-system */
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
  /** Postgres URL of the Remembrancer ledger. */
  readonly ledgerUrl?: string | undefined;
  /** PKCS#8 PEM file of the Ed25519 receipt signing key. */
  readonly signingKeyFile?: string | undefined;
  /** Fail over a placed workload after it is unschedulable this long. @default 60000 */
  readonly unschedulableTimeoutMs: number;
  /** GPUWorkload workers. @default 4 */
  readonly workers: number;
  readonly logLevel: string;
  /** Only this namespace's GPUWorkloads (tests, sharded installs); all when unset. */
  readonly watchNamespace?: string | undefined;
  /** Only Treaties matching this label selector; all when unset. */
  readonly treatySelector?: string | undefined;
  /** Where a treaty's credentialsSecretRef without a namespace points. @default vaultmesh-system */
  readonly operatorNamespace: string;
  /** How often an external provider's job is polled. @default 2000 */
  readonly providerPollMs: number;
  /**
   * How long a ledger query waits for a connection before the ledger counts as away (a
   * blackholed database would otherwise hold a completion forever). @default 5000
   */
  readonly ledgerConnectTimeoutMs: number;
  /**
   * Whether a publisher (`remembrancer serve` with a TSA) time-stamps this ledger's tree heads,
   * so unstamped Receipts are Pending and polled rather than NoTimestampAuthority. @default false
   */
  readonly ledgerTimestamping: boolean;
  /** The log origin to take when this process opens a fresh ledger first (ADR 0081). */
  readonly ledgerOrigin?: string | undefined;
  /** How often a Receipt waiting for its timestamp is looked at again. @default 30000 */
  readonly timestampPendingRequeueMs?: number | undefined;
}

const num = (v: string | undefined, d: number): number => {
  const n = v === undefined || v === "" ? NaN : Number(v);
  return Number.isFinite(n) ? n : d;
};

/** Reads the configuration from `env`. */
export function configFromEnv(env: NodeJS.ProcessEnv, hostname: string): OperatorConfig {
  const addr = env.VAULTMESH_HTTP_ADDR ?? "0.0.0.0:8080";
  const i = addr.lastIndexOf(":");
  return {
    kubeconfig: env.KUBECONFIG || undefined,
    httpHost: i > 0 ? addr.slice(0, i) : "0.0.0.0",
    httpPort: num(addr.slice(i + 1), 8080),
    leaderElect: (env.VAULTMESH_LEADER_ELECT ?? "true") !== "false",
    leaseNamespace: env.VAULTMESH_LEASE_NAMESPACE ?? env.POD_NAMESPACE ?? "vaultmesh-system",
    leaseName: env.VAULTMESH_LEASE_NAME ?? "vaultmesh-operator",
    identity:
      env.VAULTMESH_IDENTITY ??
      `${env.POD_NAME ?? hostname}-${Math.random().toString(36).slice(2, 8)}`,
    leaseDurationSeconds: num(env.VAULTMESH_LEASE_DURATION_SECONDS, 15),
    renewDeadlineSeconds: num(env.VAULTMESH_RENEW_DEADLINE_SECONDS, 10),
    retryPeriodSeconds: num(env.VAULTMESH_RETRY_PERIOD_SECONDS, 2),
    ledgerUrl: env.VAULTMESH_LEDGER_URL || undefined,
    signingKeyFile: env.VAULTMESH_SIGNING_KEY_FILE || undefined,
    unschedulableTimeoutMs: num(env.VAULTMESH_UNSCHEDULABLE_TIMEOUT_MS, 60000),
    workers: num(env.VAULTMESH_WORKERS, 4),
    logLevel: env.LOG_LEVEL ?? "info",
    watchNamespace: env.VAULTMESH_WATCH_NAMESPACE || undefined,
    treatySelector: env.VAULTMESH_TREATY_SELECTOR || undefined,
    operatorNamespace: env.POD_NAMESPACE || "vaultmesh-system",
    providerPollMs: num(env.VAULTMESH_PROVIDER_POLL_MS, 2000),
    ledgerConnectTimeoutMs: num(env.VAULTMESH_LEDGER_CONNECT_TIMEOUT_MS, 5000),
    ledgerTimestamping: env.VAULTMESH_LEDGER_TIMESTAMPING === "true",
    ledgerOrigin: env.VAULTMESH_LEDGER_ORIGIN || undefined,
    timestampPendingRequeueMs: env.VAULTMESH_TIMESTAMP_PENDING_REQUEUE_MS
      ? num(env.VAULTMESH_TIMESTAMP_PENDING_REQUEUE_MS, 30000)
      : undefined,
  };
}
