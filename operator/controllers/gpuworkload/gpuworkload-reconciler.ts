/**
 * The GPUWorkload reconciler: route, place, track, fail over, complete. Level-based, in the
 * runtime's fixed order (docs/operator-runtime.md): get (gone → done) → deleting ? finalize :
 * scope (the workload, its Jobs, the clock value) → phases → in `finally`, the status computed
 * by pure functions and written once, guarded by the workload's resourceVersion — on failure
 * too, with a `Reconciled` condition naming it — then the pass's Events.
 *
 * Every write is idempotent: the Job of attempt n has a name derived from (uid, n), so a
 * repeated create answers AlreadyExists and is adopted; the completion receipt's identity is
 * derived from (uid, attempt, outcome), so a repeated append returns the entry already logged.
 */
import type { GPUWorkload, GPUWorkloadStatus } from "../../../crds/index.ts";
import { isConflict, Resources } from "../../../services/kube/index.ts";
import {
  ensureFinalizer,
  hasFinalizer,
  removeFinalizer,
  writeStatus,
  type Request,
  type Result,
} from "../../runtime/index.ts";
import { finishedPhase } from "./gpuworkload-completion.ts";
import { placePhase } from "./gpuworkload-placement.ts";
import { DEFAULT_UNSCHEDULABLE_TIMEOUT_MS, WorkloadEventReason } from "./gpuworkload-reasons.ts";
import {
  isExternal,
  type GPUWorkloadDeps,
  type PhaseDeps,
  type WorkloadScope,
} from "./gpuworkload-scope.ts";
import { withFailure, withoutFailure, withState } from "./gpuworkload-status.ts";
import { adoptUnrecorded, trackPhase } from "./gpuworkload-tracking.ts";
import { ExternalAttempts } from "./external-attempt.ts";
import { treatyUnfit } from "./in-cluster-attempt.ts";
import { OwnWrites } from "./own-writes.ts";
import { CacheIndex } from "../../shared/workload-caches.ts";

export type {
  GPUWorkloadDeps,
  LedgerAppend,
  ReceiptLedger,
  WorkloadMetrics,
} from "./gpuworkload-scope.ts";
export { PODS_BY_JOB } from "./gpuworkload-scope.ts";
export { kwokStageAnnotations } from "./gpuworkload-placement.ts";
export { treatyUnfit } from "./in-cluster-attempt.ts";

/** Finalizer on workloads placed with an external provider: cancel the provider's job first. */
export const EXTERNAL_FINALIZER = "vaultmesh.cloud/provider-job";

/** Reconciles GPUWorkloads. */
export class GPUWorkloadReconciler {
  readonly #d: PhaseDeps;
  readonly #written = new OwnWrites();

  constructor(deps: GPUWorkloadDeps) {
    const unschedulableTimeoutMs = deps.unschedulableTimeoutMs ?? DEFAULT_UNSCHEDULABLE_TIMEOUT_MS;
    const external = deps.providers
      ? new ExternalAttempts({
          client: deps.client,
          providers: deps.providers,
          unfit: treatyUnfit,
          provisionTimeoutMs: unschedulableTimeoutMs,
          ...(deps.providerPollMs !== undefined ? { pollMs: deps.providerPollMs } : {}),
        })
      : undefined;
    this.#d = { ...deps, external, unschedulableTimeoutMs };
  }

  /** One reconcile pass for `req`. */
  async reconcile(req: Request): Promise<Result | void> {
    const wl = this.#written.current(req.key, this.#d.workloads.get(req.name, req.namespace));
    if (!wl) return;
    if (wl.metadata.deletionTimestamp) return await this.#finalize(wl); // Jobs go by GC.
    const s: WorkloadScope = {
      wl,
      now: this.#d.clock.now(),
      jobs: this.#d.jobs.byIndex(CacheIndex.jobsByOwner, wl.metadata.uid ?? ""),
      // A shallow copy: phases replace the status's members and never change the cached
      // objects inside them (attempts, conditions, candidates are rebuilt, not edited).
      status: { ...wl.status },
      events: [],
    };
    let failure: { readonly err: unknown } | undefined;
    try {
      await this.#phases(s);
    } catch (err) {
      failure = { err };
      throw err;
    } finally {
      await this.#finish(req, s, failure);
    }
    return s.requeueAfterMs === undefined ? undefined : { requeueAfterMs: s.requeueAfterMs };
  }

  // Adopt unrecorded Jobs, then by the current attempt: finished → make sure its receipt is
  // recorded; running → track it (and route again after a failover); none → route and place.
  async #phases(s: WorkloadScope): Promise<void> {
    adoptUnrecorded(this.#d, s);
    const cur = s.status.attempts?.at(-1);
    if (cur?.outcome === "Succeeded" || cur?.outcome === "Failed") {
      await finishedPhase(this.#d, s, cur);
    } else if (cur?.outcome === "Running") {
      const { failedOver } = await trackPhase(this.#d, s, cur);
      if (failedOver) await placePhase(this.#d, s);
    } else {
      await placePhase(this.#d, s);
    }
  }

  // The `finally` of a pass: compute the status (pure), write it once, record the Events the
  // phases queued. A failed write after a failed pass is logged; the pass's own error is the
  // one retried.
  async #finish(
    req: Request,
    s: WorkloadScope,
    failure: { readonly err: unknown } | undefined,
  ): Promise<void> {
    try {
      // A Conflict means the workload changed under us: this status would be refused too.
      if (failure && isConflict(failure.err)) return;
      await this.#save(req, s.wl, computeStatus(s, failure));
    } catch (err) {
      if (!failure) throw err;
      this.#d.logger.warn(
        { workload: req.key, err: (err as Error).message },
        "status of a failed reconcile not written",
      );
    } finally {
      this.#recordEvents(s);
    }
  }

  #recordEvents(s: WorkloadScope): void {
    for (const e of s.events) {
      this.#d.events.event(Resources.GPUWorkload, s.wl, e.type, e.reason, e.message);
    }
  }

  // Writes the status once (after the finalizer an external attempt needs) and remembers it.
  async #save(req: Request, obj: GPUWorkload, status: GPUWorkloadStatus): Promise<void> {
    let wl = obj;
    const fromRvs = [wl.metadata.resourceVersion ?? ""];
    if (status.attempts?.some(isExternal) && !hasFinalizer(wl, EXTERNAL_FINALIZER)) {
      // Before the attempt is recorded: its provider job must be cancelled if the workload goes.
      wl = await ensureFinalizer(this.#d.client, Resources.GPUWorkload, wl, EXTERNAL_FINALIZER);
      fromRvs.push(wl.metadata.resourceVersion ?? "");
    }
    const written = await writeStatus(this.#d.client, Resources.GPUWorkload, wl, status);
    this.#written.remember(req.key, fromRvs, written);
  }

  /**
   * The cache saw a newer version of the workload (or its deletion): a copy kept from our
   * own write is no longer needed (see OwnWrites).
   */
  observed(key: string, resourceVersion: string | undefined, deleted: boolean): void {
    this.#written.observed(key, resourceVersion, deleted);
  }

  /** Copies of own writes kept for workloads whose cache has not caught up (tests, metrics). */
  pendingWrites(): number {
    return this.#written.size;
  }

  // Deletion of a workload placed externally: cancel the running provider job, then let go.
  async #finalize(wl: GPUWorkload): Promise<void> {
    if (!hasFinalizer(wl, EXTERNAL_FINALIZER)) return;
    const cur = wl.status?.attempts?.at(-1);
    const treaty = cur ? this.#d.treaties.get(cur.treaty) : undefined;
    if (cur?.outcome === "Running" && isExternal(cur) && treaty && this.#d.external) {
      await this.#d.external.cancel(cur, treaty);
      this.#d.events.event(
        Resources.GPUWorkload,
        wl,
        "Normal",
        WorkloadEventReason.Cancelled,
        `provider job ${cur.externalId ?? "(not submitted)"} of attempt ${cur.attempt} cancelled`,
      );
    }
    await removeFinalizer(this.#d.client, Resources.GPUWorkload, wl, EXTERNAL_FINALIZER);
  }
}

/**
 * The status a pass writes: on success its state's conditions (with observedGeneration) and
 * no `Reconciled` failure; on failure what the pass recorded so far, the conditions as they
 * were, and `Reconciled` False naming the failure.
 */
export function computeStatus(
  s: WorkloadScope,
  failure: { readonly err: unknown } | undefined,
): GPUWorkloadStatus {
  if (failure) return withFailure(s.status, failure.err, s.now);
  const status = s.state ? withState(s.wl, s.status, s.state, s.now) : s.status;
  return withoutFailure(status);
}
