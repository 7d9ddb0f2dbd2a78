/**
 * What one GPUWorkload reconcile works on: its dependencies, and the scope of one pass — the
 * workload, its Jobs, the clock value, the status being computed, the state its conditions
 * are computed from, and the Events to record once the status is written. Phases update the
 * scope; the reconciler writes it (gpuworkload-reconciler.ts).
 */
import { GPUWorkloadConditionType, IN_CLUSTER_PROVIDER } from "../../../crds/constants.ts";
import type {
  GPUWorkload,
  GPUWorkloadStatus,
  Receipt,
  Tenant,
  Treaty,
} from "../../../crds/index.ts";
import type { KubeClient, Logger, ObjectCache } from "../../../services/kube/index.ts";
import type { RouterMemo, SlimNode } from "../../../services/routing/index.ts";
import type { RetryBackoff } from "./attempt-backoff.ts";
import { findCondition, rfc3339, type EventRecorder } from "../../runtime/index.ts";
import type { CompletionReceiptInput, LedgerReceipt } from "./completion-receipt.ts";
import type { ExternalAttempts } from "./external-attempt.ts";
import { Labels } from "./completion-receipt.ts";
import { MAX_MESSAGE_LENGTH, WorkloadEventReason } from "./gpuworkload-reasons.ts";
import type { WorkloadState } from "./gpuworkload-status.ts";
import type { Attempt } from "./in-cluster-attempt.ts";
import type { Job, Pod } from "../../shared/kube-types.ts";
import { CacheIndex } from "../../shared/workload-caches.ts";
import type { ProviderConnector } from "./provider-connector.ts";
import type { TreatyUsageTracker } from "./treaty-usage.ts";

/** What the ledger answers to an append. */
export interface LedgerAppend {
  receipt: LedgerReceipt;
  entry: { logIndex: number; leafHash: string };
  treeHead?: { treeSize: number; rootHash: string };
  existing: boolean;
}

/** The ledger as the controller uses it (services/ledger's Ledger fits). */
export interface ReceiptLedger {
  append(input: CompletionReceiptInput): Promise<LedgerAppend>;
}

/** Hooks for metrics (operator/metrics.ts implements them). */
export interface WorkloadMetrics {
  routingDecision(seconds: number): void;
  completed(outcome: "Succeeded" | "Failed", receiptLogged: boolean): void;
  placed(treaty: string): void;
}

/** Dependencies of the reconciler. */
export interface GPUWorkloadDeps {
  readonly client: KubeClient;
  readonly workloads: ObjectCache<GPUWorkload>;
  readonly treaties: ObjectCache<Treaty>;
  readonly tenants?: ObjectCache<Tenant>;
  readonly jobs: ObjectCache<Job>;
  readonly pods: ObjectCache<Pod>;
  readonly receipts: ObjectCache<Receipt>;
  readonly ledger: ReceiptLedger;
  readonly events: EventRecorder;
  readonly clock: { now(): Date };
  /** Live quota usage of every treaty (the router's `usage` input). */
  readonly live: TreatyUsageTracker;
  /** What the router remembers between decisions (ADR 0024 addendum); none when omitted. */
  readonly routerMemo?: RouterMemo;
  /** The cluster's Nodes (name, labels, allocatable): the in-cluster pool's node sizes. */
  readonly nodes?: ObjectCache<SlimNode>;
  /** Back-off of a treaty after an attempt abandoned there (ADR 0099). */
  readonly retryBackoff?: RetryBackoff;
  /** Fail over when a placed Job is unschedulable this long. @default 60000 */
  readonly unschedulableTimeoutMs?: number;
  readonly metrics?: WorkloadMetrics;
  readonly logger: Logger;
  /** Clients of external treaties' providers; without it, external placements wait. */
  readonly providers?: ProviderConnector;
  /** How often an external provider's job is polled. @default 2000 */
  readonly providerPollMs?: number;
}

/** What the phases use: the dependencies, the external attempts' driver, the timeout. */
export interface PhaseDeps extends GPUWorkloadDeps {
  /** Drives attempts under external treaties; undefined without provider clients. */
  readonly external: ExternalAttempts | undefined;
  readonly unschedulableTimeoutMs: number;
}

/** An Event to record about the workload once the pass has written its status. */
export interface PendingEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** One reconcile pass over one workload. */
export interface WorkloadScope {
  readonly wl: GPUWorkload;
  /** The clock value of this pass. */
  readonly now: Date;
  /** The workload's Jobs, from the cache. */
  readonly jobs: readonly Job[];
  /** The status this pass computes; phases replace it, the reconciler writes it once. */
  status: GPUWorkloadStatus;
  /** The state the conditions are computed from; unset leaves the conditions as they are. */
  state?: WorkloadState;
  /** Look again after this long (a wait, not a failure). */
  requeueAfterMs?: number;
  /** Events, recorded after the status write. */
  readonly events: PendingEvent[];
}

/** Index of Pods by the Job that owns them (installed by operator/shared/workload-caches.ts). */
export const PODS_BY_JOB = CacheIndex.podsByJob;

/** The attempt number a Job was created for (its label). */
export const attemptOf = (j: Job): number => Number(j.metadata.labels?.[Labels.attempt] ?? "0");

/** True for an attempt under an external treaty (a provider job, no Job here). */
export const isExternal = (a: Attempt | undefined): boolean =>
  a !== undefined && a.provider !== IN_CLUSTER_PROVIDER && a.jobName === undefined;

/** The message of the workload's Routed condition, if any. */
export function routedMessage(status: GPUWorkloadStatus): string | undefined {
  return findCondition(status.conditions, GPUWorkloadConditionType.Routed)?.message;
}

/** Queues an Event about the scope's workload. */
export function recordEvent(
  s: WorkloadScope,
  type: PendingEvent["type"],
  reason: string,
  message: string,
): void {
  s.events.push({ type, reason, message });
}

/**
 * Marks attempt `cur` Abandoned at `now` for `reason` (the attempt had not started; the next
 * treaty is tried) and queues the FailingOver Event.
 */
export function abandonAttempt(s: WorkloadScope, cur: Attempt, reason: string): void {
  const attempts = (s.status.attempts ?? []).map((a) =>
    a.attempt === cur.attempt
      ? {
          ...a,
          outcome: "Abandoned" as const,
          endTime: rfc3339(s.now),
          reason: reason.slice(0, MAX_MESSAGE_LENGTH),
        }
      : a,
  );
  s.status = { ...s.status, attempts };
  recordEvent(
    s,
    "Warning",
    WorkloadEventReason.FailingOver,
    `attempt ${cur.attempt} under treaty ${cur.treaty} abandoned: ${reason}`,
  );
}
