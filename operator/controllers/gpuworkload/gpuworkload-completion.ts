/**
 * The completion phase of a GPUWorkload reconcile: a finished attempt is appended to the
 * ledger, its Receipt view created (and marked Logged), and the workload's usage and
 * conditions recorded. While the ledger is away the attempt waits (ReceiptPending, an Event
 * once) and is retried; the same facts give the same receipt, so the append lands once when
 * it returns (ADR 0071). A deleted Receipt view is rebuilt from the ledger the same way.
 */
import { GPUWorkloadConditionType } from "../../../crds/constants.ts";
import { formatUsd, microsToUsd } from "../../../crds/domain/index.ts";
import type { GPUWorkload, GPUWorkloadStatus, Receipt } from "../../../crds/index.ts";
import { Resources } from "../../../services/kube/index.ts";
import { DependencyUnavailableError } from "../../../services/dependency-health/index.ts";
import { findCondition } from "../../runtime/index.ts";
import { ensureReceiptView } from "../../shared/receipt-views.ts";
import {
  completionReceiptFor,
  finishedJob,
  receiptResource,
  type FinishedAttempt,
} from "./completion-receipt.ts";
import {
  MAX_MESSAGE_LENGTH,
  RECEIPT_RETRY_MS,
  WorkloadEventReason,
  WorkloadReason,
} from "./gpuworkload-reasons.ts";
import {
  attemptOf,
  isExternal,
  recordEvent,
  type LedgerAppend,
  type PhaseDeps,
  type WorkloadScope,
} from "./gpuworkload-scope.ts";
import type { WorkloadState } from "./gpuworkload-status.ts";
import type { Attempt } from "./in-cluster-attempt.ts";

/**
 * A finished attempt (`cur`, Succeeded or Failed): rebuilds a missing Receipt view from the
 * ledger, else makes sure the conditions say how it finished.
 */
export async function finishedPhase(d: PhaseDeps, s: WorkloadScope, cur: Attempt): Promise<void> {
  const done = await finishedFacts(d, s, cur);
  if (done && (await receiptViewMissing(d, s.wl, s.status))) {
    await completePhase(d, s, done);
  } else if (!s.status.receiptRef) {
    s.state = finishedState(cur);
  }
}

/** Records the finished attempt: ledger append, Receipt view, usage and conditions. */
export async function completePhase(
  d: PhaseDeps,
  s: WorkloadScope,
  finished: FinishedAttempt,
): Promise<void> {
  const { wl } = s;
  const input = completionReceiptFor(wl, finished);
  let res: LedgerAppend;
  try {
    res = await d.ledger.append(input);
  } catch (err) {
    if (!(err instanceof DependencyUnavailableError)) throw err;
    receiptPending(s, finished, err);
    return;
  }
  const view = receiptResource(wl, res.receipt, input.payload);
  const name = view.metadata.name ?? "";
  await ensureReceiptView(
    d.client,
    view,
    { ...res.entry, treeHead: res.treeHead },
    d.clock.now(),
    d.receipts,
  );
  const p = input.payload;
  const attempts = (s.status.attempts ?? []).map((a) =>
    a.attempt === p.attempt
      ? { ...a, outcome: p.outcome, endTime: p.completionTime, reason: finished.reason }
      : a,
  );
  const ok = p.outcome === "Succeeded";
  const msg =
    `${ok ? "completed" : "failed"} under treaty ${p.treaty}: ` +
    `${p.gpuSeconds} GPU-seconds, ${formatUsd(p.costMicroUsd)}; receipt ${name} at log index ${res.entry.logIndex}`;
  if (!res.existing) {
    recordEvent(
      s,
      ok ? "Normal" : "Warning",
      ok ? WorkloadEventReason.Completed : WorkloadEventReason.Failed,
      msg,
    );
    d.metrics?.completed(p.outcome, true);
  }
  s.status = {
    ...s.status,
    attempts,
    startTime: s.status.startTime ?? p.startTime,
    completionTime: p.completionTime,
    gpuSeconds: p.gpuSeconds,
    costMicroUsd: p.costMicroUsd,
    cost: microsToUsd(p.costMicroUsd),
    receiptRef: { name },
  };
  s.state = { kind: "finished", outcome: p.outcome, message: msg };
}

// The attempt finished but the ledger is away: say so, once as an Event, and look again soon.
function receiptPending(
  s: WorkloadScope,
  finished: FinishedAttempt,
  err: DependencyUnavailableError,
): void {
  const message = (
    `attempt ${finished.attempt} ${finished.outcome === "Succeeded" ? "succeeded" : "failed"}; ` +
    `waiting for the ledger to record its receipt (${err.reason}: ${err.message})`
  ).slice(0, MAX_MESSAGE_LENGTH);
  const already =
    findCondition(s.status.conditions, GPUWorkloadConditionType.Complete)?.reason ===
    WorkloadReason.ReceiptPending;
  if (!already) recordEvent(s, "Warning", WorkloadEventReason.ReceiptPending, message);
  s.state = { kind: "recording", outcome: finished.outcome, message };
  s.requeueAfterMs = RECEIPT_RETRY_MS;
}

// The facts of a finished attempt: from its Job, or fetched again from its provider.
async function finishedFacts(
  d: PhaseDeps,
  s: WorkloadScope,
  cur: Attempt,
): Promise<FinishedAttempt | undefined> {
  if (!isExternal(cur)) {
    const job = s.jobs.find((j) => attemptOf(j) === cur.attempt);
    return job ? finishedJob(job) : undefined;
  }
  const treaty = d.treaties.get(cur.treaty);
  return treaty && d.external ? await d.external.refetch(cur, treaty) : undefined;
}

async function receiptViewMissing(
  d: PhaseDeps,
  wl: GPUWorkload,
  status: GPUWorkloadStatus,
): Promise<boolean> {
  const name = status.receiptRef?.name;
  if (!name) return true;
  const ns = wl.metadata.namespace;
  if (d.receipts.get(name, ns)) return false;
  return !(await d.client.get<Receipt>(Resources.Receipt, name, ns));
}

function finishedState(a: Attempt): WorkloadState {
  return {
    kind: "finished",
    outcome: a.outcome === "Succeeded" ? "Succeeded" : "Failed",
    message: a.reason ?? "",
  };
}
