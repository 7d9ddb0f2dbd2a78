/**
 * The GPUWorkload reconciler: route, place, track, fail over, complete. Level-based: each
 * pass reads the workload, its Jobs and Pods, the treaties and the receipts from the caches,
 * moves the world one step, and writes the recomputed status once, guarded by the
 * workload's resourceVersion. Every write is idempotent: the Job of attempt n has a name
 * derived from (uid, n), so a repeated create answers AlreadyExists and is adopted; the
 * completion receipt's identity is derived from (uid, attempt, outcome), so a repeated append
 * returns the entry already logged.
 */
import { IN_CLUSTER_PROVIDER } from "../../../crds/constants.ts";
import type {
  GPUWorkload,
  GPUWorkloadStatus,
  Receipt,
  Tenant,
  Treaty,
} from "../../../crds/index.ts";
import {
  isAlreadyExists,
  objectKey,
  stripBookkeeping,
  Resources,
  type KubeClient,
  type Logger,
  type ObjectCache,
} from "../../../services/kube/index.ts";
import { DependencyUnavailableError } from "../../../services/dependency-health/index.ts";
import { describeDecision, route, type RouteDecision } from "../../routing/index.ts";
import { buildJob, jobName, observeJob } from "../../placement/index.ts";
import {
  ensureFinalizer,
  hasFinalizer,
  removeFinalizer,
  rfc3339,
  writeStatus,
  type EventRecorder,
  type Request,
  type Result,
} from "../../runtime/index.ts";
import {
  Annotations,
  completionReceiptFor,
  finishedJob,
  Labels,
  receiptResource,
  type CompletionReceiptInput,
  type FinishedAttempt,
  type LedgerReceipt,
} from "./completion-receipt.ts";
import { ExternalAttempts, type ExternalStep } from "./external-attempt.ts";
import {
  RECEIPT_PENDING,
  waitingReason,
  withState,
  type WorkloadState,
} from "./gpuworkload-status.ts";
import type { Job, Pod } from "./kube-types.ts";
import type { ProviderConnector } from "./provider-connector.ts";
import { externalKey, type TreatyUsageTracker } from "./treaty-usage.ts";
import { UsageIndex } from "./usage.ts";

type Attempt = NonNullable<GPUWorkloadStatus["attempts"]>[number];

/** The ledger as the controller uses it (services/ledger's Ledger fits). */
export interface ReceiptLedger {
  append(input: CompletionReceiptInput): Promise<{
    receipt: LedgerReceipt;
    entry: { logIndex: number; leafHash: string };
    treeHead?: { treeSize: number; rootHash: string };
    existing: boolean;
  }>;
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
  /** Fail over when a placed Job is unschedulable this long. @default 60000 */
  readonly unschedulableTimeoutMs?: number;
  readonly metrics?: WorkloadMetrics;
  readonly logger: Logger;
  /** Clients of external treaties' providers; without it, external placements wait. */
  readonly providers?: ProviderConnector;
  /** How often an external provider's job is polled. @default 2000 */
  readonly providerPollMs?: number;
}

/** Finalizer on workloads placed with an external provider: cancel the provider's job first. */
export const EXTERNAL_FINALIZER = "vaultmesh.cloud/provider-job";

const isExternal = (a: Attempt | undefined): boolean =>
  a !== undefined && a.provider !== IN_CLUSTER_PROVIDER && a.jobName === undefined;

/** Index of Pods by the Job that owns them. */
export const PODS_BY_JOB = "byJob";

/** How soon a completion waiting for the ledger is tried again. */
const RECEIPT_RETRY_MS = 3000;

const attemptOf = (j: Job): number => Number(j.metadata.labels?.[Labels.attempt] ?? "0");

/** Reconciles GPUWorkloads. */
export class GPUWorkloadReconciler {
  private readonly d: GPUWorkloadDeps;
  private readonly written = new Map<string, { fromRvs: string[]; obj: GPUWorkload }>();
  private readonly external: ExternalAttempts | undefined;

  constructor(deps: GPUWorkloadDeps) {
    this.d = deps;
    this.external = deps.providers
      ? new ExternalAttempts({
          client: deps.client,
          providers: deps.providers,
          unfit: treatyUnfit,
          provisionTimeoutMs: deps.unschedulableTimeoutMs ?? 60000,
          ...(deps.providerPollMs !== undefined ? { pollMs: deps.providerPollMs } : {}),
        })
      : undefined;
  }

  /** One reconcile pass for `req`. */
  async reconcile(req: Request): Promise<Result | void> {
    const wl = this.current(req);
    if (!wl) return;
    if (wl.metadata.deletionTimestamp) return await this.finalize(wl); // Jobs go by GC.
    const now = this.d.clock.now();
    let status: GPUWorkloadStatus = structuredClone(wl.status ?? {});
    const jobs = this.d.jobs.byIndex(UsageIndex.jobsByOwner, wl.metadata.uid ?? "");
    this.adoptUnrecorded(wl, status, jobs);
    const cur = status.attempts?.at(-1);
    let result: Result | void = undefined;
    if (cur?.outcome === "Succeeded" || cur?.outcome === "Failed") {
      // Finished: make sure the receipt view exists; it is recreated from the ledger (the
      // append of the same facts returns the logged entry) when someone deleted it.
      const done = await this.finishedFacts(cur, jobs);
      if (done && (await this.receiptViewMissing(wl, status))) {
        ({ status, result } = await this.complete(wl, status, done, now));
      } else if (!status.receiptRef) {
        status = withState(wl, status, this.finishedState(cur), now);
      }
    } else if (cur?.outcome === "Running") {
      const r = isExternal(cur)
        ? await this.trackExternal(wl, status, cur, now)
        : await this.track(wl, status, cur, jobs, now);
      status = r.status;
      result = r.result;
      if (r.failedOver) {
        const p = await this.routeAndPlace(wl, status, now);
        status = p.status;
      }
    } else {
      const p = await this.routeAndPlace(wl, status, now);
      status = p.status;
    }
    await this.save(req, wl, status);
    return result;
  }

  // Writes the status once (after the finalizer an external attempt needs) and remembers it.
  private async save(req: Request, obj: GPUWorkload, status: GPUWorkloadStatus): Promise<void> {
    let wl = obj;
    const fromRvs = [wl.metadata.resourceVersion ?? ""];
    if (status.attempts?.some(isExternal) && !hasFinalizer(wl, EXTERNAL_FINALIZER)) {
      // Before the attempt is recorded: its provider job must be cancelled if the workload goes.
      wl = await ensureFinalizer(this.d.client, Resources.GPUWorkload, wl, EXTERNAL_FINALIZER);
      fromRvs.push(wl.metadata.resourceVersion ?? "");
    }
    const written = await writeStatus(this.d.client, Resources.GPUWorkload, wl, status);
    if (written.metadata.resourceVersion !== fromRvs[0]) {
      this.written.set(req.key, { fromRvs, obj: stripBookkeeping(written) });
    }
  }

  /**
   * The cache saw a newer version of the workload (or its deletion): a copy kept from our
   * own write is no longer needed. Without this, the copy of each workload's last write
   * would stay until its next reconcile (ADR 0025).
   */
  observed(key: string, resourceVersion: string | undefined, deleted: boolean): void {
    const memo = this.written.get(key);
    if (memo && (deleted || !memo.fromRvs.includes(resourceVersion ?? ""))) {
      this.written.delete(key);
    }
  }

  /** Copies of own writes kept for workloads whose cache has not caught up (tests, metrics). */
  pendingWrites(): number {
    return this.written.size;
  }

  // Deletion of a workload placed externally: cancel the running provider job, then let go.
  private async finalize(wl: GPUWorkload): Promise<void> {
    if (!hasFinalizer(wl, EXTERNAL_FINALIZER)) return;
    const cur = wl.status?.attempts?.at(-1);
    const treaty = cur ? this.d.treaties.get(cur.treaty) : undefined;
    if (cur?.outcome === "Running" && isExternal(cur) && treaty && this.external) {
      await this.external.cancel(cur, treaty);
      this.d.events.event(
        Resources.GPUWorkload,
        wl,
        "Normal",
        "Cancelled",
        `provider job ${cur.externalId ?? "(not submitted)"} of attempt ${cur.attempt} cancelled`,
      );
    }
    await removeFinalizer(this.d.client, Resources.GPUWorkload, wl, EXTERNAL_FINALIZER);
  }

  // The facts of a finished attempt: from its Job, or fetched again from its provider.
  private async finishedFacts(cur: Attempt, jobs: Job[]): Promise<FinishedAttempt | undefined> {
    if (!isExternal(cur)) {
      const job = jobs.find((j) => attemptOf(j) === cur.attempt);
      return job ? finishedJob(job) : undefined;
    }
    const treaty = this.d.treaties.get(cur.treaty);
    return treaty && this.external ? await this.external.refetch(cur, treaty) : undefined;
  }

  /** Tracks an attempt under an external treaty: submit, poll, complete, or fail over. */
  private async trackExternal(
    wl: GPUWorkload,
    status: GPUWorkloadStatus,
    cur: Attempt,
    now: Date,
  ): Promise<{ status: GPUWorkloadStatus; result?: Result; failedOver?: boolean }> {
    if (!this.external) {
      const message = `attempt ${cur.attempt} is under external treaty ${cur.treaty}, but this operator has no provider client`;
      const next = withState(
        wl,
        status,
        { kind: "waiting", reason: "ProviderUnavailable", message },
        now,
      );
      return { status: next, result: { requeueAfterMs: 60000 } };
    }
    const step: ExternalStep = await this.external.step(
      wl,
      status,
      cur,
      this.d.treaties.get(cur.treaty),
      now,
    );
    if (step.kind === "abandon") {
      return { status: this.abandon(wl, status, cur, now, step.reason), failedOver: true };
    }
    const attempts = (status.attempts ?? []).map((a) =>
      a.attempt === cur.attempt ? { ...a, externalId: step.job.id } : a,
    );
    let next: GPUWorkloadStatus = { ...status, attempts };
    if (step.kind === "finished") return await this.complete(wl, next, step.finished, now);
    if (step.kind === "running") {
      next.startTime ??= step.job.startedAt ?? rfc3339(now);
      next = withState(wl, next, { kind: "running", message: step.message }, now);
    } else {
      const routed = findRouted(status) ?? step.message;
      next = withState(wl, next, { kind: "placed", message: routed, pendingReason: "Queued" }, now);
    }
    return { status: next, result: { requeueAfterMs: Math.max(200, step.requeueAfterMs) } };
  }

  // The workload as of our last write when the cache still shows the version we overwrote:
  // the watch event of our own write usually arrives after the Job's, and reconciling the
  // stale copy would only end in a 409 Conflict and a backoff.
  private current(req: Request): GPUWorkload | undefined {
    const cached = this.d.workloads.get(req.name, req.namespace);
    const memo = this.written.get(req.key);
    if (!memo) return cached;
    if (cached && memo.fromRvs.includes(cached.metadata.resourceVersion ?? "")) return memo.obj;
    this.written.delete(req.key);
    return cached;
  }

  private async receiptViewMissing(wl: GPUWorkload, status: GPUWorkloadStatus): Promise<boolean> {
    const name = status.receiptRef?.name;
    if (!name) return true;
    const ns = wl.metadata.namespace;
    if (this.d.receipts.get(name, ns)) return false;
    return !(await this.d.client.get<Receipt>(Resources.Receipt, name, ns));
  }

  private finishedState(a: Attempt): WorkloadState {
    return {
      kind: "finished",
      outcome: a.outcome === "Succeeded" ? "Succeeded" : "Failed",
      message: a.reason ?? "",
    };
  }

  // A Job created before a crash (or a lost status write) that the status does not record yet:
  // its labels and annotations carry the attempt and placement it was created for.
  private adoptUnrecorded(wl: GPUWorkload, status: GPUWorkloadStatus, jobs: Job[]): void {
    const attempts = status.attempts ?? [];
    const last = attempts.at(-1)?.attempt ?? 0;
    const newer = jobs
      .filter((x) => attemptOf(x) > last)
      .sort((a, b) => attemptOf(a) - attemptOf(b));
    for (const j of newer) {
      const ann = j.metadata.annotations ?? {};
      const treaty = j.metadata.labels?.[Labels.treaty] ?? "";
      const provider = ann[Annotations.provider] ?? IN_CLUSTER_PROVIDER;
      attempts.push({
        attempt: attemptOf(j),
        treaty,
        provider,
        jobName: j.metadata.name ?? "",
        outcome: "Running",
        ...(j.metadata.creationTimestamp ? { startTime: j.metadata.creationTimestamp } : {}),
      });
      status.placement = {
        treaty,
        provider,
        ...(ann[Annotations.region] ? { region: ann[Annotations.region] } : {}),
        pricePerHour: Number(ann[Annotations.pricePerHour] ?? "0"),
      };
      status.jobRef = { name: j.metadata.name ?? "" };
      this.d.logger.info(
        { workload: wl.metadata.name, job: j.metadata.name },
        "adopted a Job the status did not record",
      );
    }
    status.attempts = attempts;
  }

  /** Tracks the current attempt's Job: completion, start, or failover before start. */
  private async track(
    wl: GPUWorkload,
    status: GPUWorkloadStatus,
    cur: Attempt,
    jobs: Job[],
    now: Date,
  ): Promise<{ status: GPUWorkloadStatus; result?: Result; failedOver?: boolean }> {
    const job = jobs.find((j) => attemptOf(j) === cur.attempt);
    if (!job) return await this.missingJob(wl, status, cur, now);
    if (job.metadata.deletionTimestamp) {
      return {
        status: this.abandon(wl, status, cur, now, "Job is being deleted"),
        failedOver: true,
      };
    }
    const finished = finishedJob(job);
    if (finished) return await this.complete(wl, status, finished, now);
    const pods = this.d.pods.byIndex(PODS_BY_JOB, `${job.metadata.namespace}/${job.metadata.name}`);
    const obs = observeJob(job, pods, now);
    if (obs.state === "Running") {
      status.startTime ??= obs.startTime ?? rfc3339(now);
      const next = withState(wl, status, { kind: "running", message: obs.message }, now);
      return { status: next };
    }
    // Not started yet: fail over when the treaty stopped being routable or the pod cannot be scheduled.
    const treaty = this.d.treaties.get(cur.treaty);
    const why = treatyUnfit(treaty, cur.treaty);
    if (why)
      return { status: await this.failover({ wl, status, cur, now }, job, why), failedOver: true };
    const timeout = this.d.unschedulableTimeoutMs ?? 60000;
    const unsched = obs.state === "Unschedulable";
    const age = now.getTime() - Date.parse(job.metadata.creationTimestamp ?? rfc3339(now));
    if (unsched && age >= timeout) {
      const msg = `unschedulable for ${Math.round(age / 1000)}s: ${obs.message}`;
      return { status: await this.failover({ wl, status, cur, now }, job, msg), failedOver: true };
    }
    const pendingReason = unsched ? "Unschedulable" : "Pending";
    const next = withState(
      wl,
      status,
      { kind: "placed", message: findRouted(status) ?? "", pendingReason },
      now,
    );
    return { status: next, result: { requeueAfterMs: Math.max(1000, timeout - age) } };
  }

  // The status records a running attempt whose Job is not in the cache.
  private async missingJob(
    wl: GPUWorkload,
    status: GPUWorkloadStatus,
    cur: Attempt,
    now: Date,
  ): Promise<{ status: GPUWorkloadStatus; result?: Result; failedOver?: boolean }> {
    const name = cur.jobName ?? "";
    const live = await this.d.client.get<Job>(Resources.Job, name, wl.metadata.namespace);
    if (live && !live.metadata.deletionTimestamp)
      return { status, result: { requeueAfterMs: 500 } };
    return { status: this.abandon(wl, status, cur, now, "Job was deleted"), failedOver: true };
  }

  private abandon(
    wl: GPUWorkload,
    status: GPUWorkloadStatus,
    cur: Attempt,
    now: Date,
    reason: string,
  ): GPUWorkloadStatus {
    const attempts = (status.attempts ?? []).map((a) =>
      a.attempt === cur.attempt
        ? {
            ...a,
            outcome: "Abandoned" as const,
            endTime: rfc3339(now),
            reason: reason.slice(0, 1024),
          }
        : a,
    );
    this.d.events.event(
      Resources.GPUWorkload,
      wl,
      "Warning",
      "FailingOver",
      `attempt ${cur.attempt} under treaty ${cur.treaty} abandoned: ${reason}`,
    );
    return { ...status, attempts };
  }

  private async failover(
    at: { wl: GPUWorkload; status: GPUWorkloadStatus; cur: Attempt; now: Date },
    job: Job,
    reason: string,
  ): Promise<GPUWorkloadStatus> {
    await this.d.client.delete(
      Resources.Job,
      { name: job.metadata.name ?? "", namespace: job.metadata.namespace },
      { propagationPolicy: "Background", ...(job.metadata.uid ? { uid: job.metadata.uid } : {}) },
    );
    return this.abandon(at.wl, at.status, at.cur, at.now, reason);
  }

  /** Routes the workload and, when a treaty is eligible, creates the next attempt's Job. */
  private async routeAndPlace(
    wl: GPUWorkload,
    status: GPUWorkloadStatus,
    now: Date,
  ): Promise<{ status: GPUWorkloadStatus }> {
    const attempts = status.attempts ?? [];
    const decision = this.decide(wl, attempts, now);
    const message = describeDecision(decision);
    const candidates = decision.candidates.slice(0, 64);
    if (!decision.placement) {
      const reason = waitingReason(decision.candidates);
      if (!findRouted(status) || findRouted(status) !== message) {
        this.d.events.event(Resources.GPUWorkload, wl, "Warning", reason, message);
      }
      const next = { ...status, candidates };
      return { status: withState(wl, next, { kind: "waiting", reason, message }, now) };
    }
    const placement = decision.placement;
    const treaty = this.d.treaties.get(placement.treaty);
    if (!treaty) throw new Error(`treaty ${placement.treaty} vanished from the cache`);
    const n = (attempts.at(-1)?.attempt ?? 0) + 1;
    const name = jobName(wl, n);
    if (treaty.spec.provider !== IN_CLUSTER_PROVIDER || !treaty.spec.inCluster) {
      if (!this.external) {
        const why =
          `routed to treaty ${placement.treaty} (${placement.provider}), but this operator ` +
          `has no provider client; ${message}`;
        const next = { ...status, candidates };
        const state = { kind: "waiting", reason: "ProviderUnavailable", message: why } as const;
        return { status: withState(wl, next, state, now) };
      }
      // Record the attempt first; the next pass submits it under its idempotency key (the
      // write of this status re-queues the workload), so a crash in between re-submits the
      // same key to the same provider instead of routing the attempt somewhere else.
      const attempt: Attempt = {
        attempt: n,
        treaty: placement.treaty,
        provider: placement.provider,
        outcome: "Running",
        startTime: rfc3339(now),
      };
      this.d.live.expect(externalKey(objectKey(wl)), placement.treaty, now.getTime());
      this.d.metrics?.placed(placement.treaty);
      this.d.events.event(
        Resources.GPUWorkload,
        wl,
        "Normal",
        "Placed",
        `attempt ${n}: ${message}`,
      );
      const next: GPUWorkloadStatus = {
        ...status,
        jobRef: undefined,
        placement,
        candidates,
        attempts: [...attempts, attempt],
      };
      return { status: withState(wl, next, { kind: "placed", message }, now) };
    }
    // operator/placement builds the Job with the labels, annotations and owner reference the
    // reconciler reads back (attempt, treaty, price); kwok stage annotations pass through.
    const job = buildJob(wl, treaty, n, {
      placement,
      podAnnotations: kwokStageAnnotations(wl),
    }) as unknown as Job;
    const key = `${wl.metadata.namespace}/${name}`;
    this.d.live.expect(key, placement.treaty, now.getTime());
    try {
      await this.d.client.create(Resources.Job, job);
      this.d.metrics?.placed(placement.treaty);
      this.d.events.event(
        Resources.GPUWorkload,
        wl,
        "Normal",
        "Placed",
        `attempt ${n}: Job ${name} ${message}`,
      );
    } catch (err) {
      if (!isAlreadyExists(err)) this.d.live.observed(key);
      // AlreadyExists: an earlier pass created it and its status write was lost. Retry once
      // the cache shows the Job, so its own labels (not this pass's decision) are adopted.
      throw err;
    }
    const attempt: Attempt = {
      attempt: n,
      treaty: placement.treaty,
      provider: placement.provider,
      jobName: name,
      outcome: "Running",
      startTime: rfc3339(now),
    };
    const next: GPUWorkloadStatus = {
      ...status,
      placement,
      candidates,
      attempts: [...attempts, attempt],
      jobRef: { name },
    };
    // The same conditions the next pass computes while the Pod is pending (pendingReason
    // "Pending"), so the Job's own watch event does not cost a second status write.
    return {
      status: withState(wl, next, { kind: "placed", message, pendingReason: "Pending" }, now),
    };
  }

  private decide(wl: GPUWorkload, attempts: readonly Attempt[], now: Date): RouteDecision {
    const t0 = performance.now();
    // The cached treaties as they are (route() memoizes per treaty object) and live usage
    // beside them, instead of a copy of every treaty with a patched status per decision.
    const treaties = this.d.treaties.list();
    const usage = this.d.live.usage(now);
    const tenant = this.tenantOf(wl);
    const decision = route({
      spec: wl.spec,
      ...(tenant ? { tenant: tenant.spec } : {}),
      treaties,
      usage,
      now,
      excluding: attempts.filter((a) => a.outcome === "Abandoned").map((a) => a.treaty),
    });
    this.d.metrics?.routingDecision((performance.now() - t0) / 1000);
    return decision;
  }

  private tenantOf(wl: GPUWorkload): Tenant | undefined {
    const ns = wl.metadata.namespace ?? "";
    const name =
      wl.metadata.labels?.["vaultmesh.cloud/tenant"] ??
      (ns.startsWith("tenant-") ? ns.slice(7) : undefined);
    return name ? this.d.tenants?.get(name) : undefined;
  }

  /**
   * Records the finished attempt: ledger append, Receipt view, usage and conditions. While the
   * ledger is away the attempt waits (ReceiptPending, an Event once) and is retried; the
   * same facts give the same receipt, so the append lands once when it returns (ADR 0071).
   */
  private async complete(
    wl: GPUWorkload,
    status: GPUWorkloadStatus,
    finished: FinishedAttempt,
    now: Date,
  ): Promise<{ status: GPUWorkloadStatus; result?: Result }> {
    const input = completionReceiptFor(wl, finished);
    let res: Awaited<ReturnType<ReceiptLedger["append"]>>;
    try {
      res = await this.d.ledger.append(input);
    } catch (err) {
      if (!(err instanceof DependencyUnavailableError)) throw err;
      return this.receiptPending(wl, status, finished, err, now);
    }
    const view = receiptResource(wl, res.receipt, input.payload);
    const name = view.metadata.name ?? "";
    await this.ensureReceiptView(view, res);
    const p = input.payload;
    const attempts = (status.attempts ?? []).map((a) =>
      a.attempt === p.attempt
        ? {
            ...a,
            outcome: p.outcome,
            endTime: p.completionTime,
            reason: finished.reason,
          }
        : a,
    );
    const msg =
      `${p.outcome === "Succeeded" ? "completed" : "failed"} under treaty ${p.treaty}: ` +
      `${p.gpuSeconds} GPU-seconds, $${p.cost}; receipt ${name} at log index ${res.entry.logIndex}`;
    if (!res.existing) {
      this.d.events.event(
        Resources.GPUWorkload,
        wl,
        p.outcome === "Succeeded" ? "Normal" : "Warning",
        p.outcome === "Succeeded" ? "Completed" : "Failed",
        msg,
      );
      this.d.metrics?.completed(p.outcome, true);
    }
    const next: GPUWorkloadStatus = {
      ...status,
      attempts,
      startTime: status.startTime ?? p.startTime,
      completionTime: p.completionTime,
      gpuSeconds: p.gpuSeconds,
      cost: p.cost,
      receiptRef: { name },
    };
    return {
      status: withState(wl, next, { kind: "finished", outcome: p.outcome, message: msg }, now),
    };
  }

  // The attempt finished but the ledger is away: say so, once as an Event, and look again soon.
  private receiptPending(
    wl: GPUWorkload,
    status: GPUWorkloadStatus,
    finished: FinishedAttempt,
    err: DependencyUnavailableError,
    now: Date,
  ): { status: GPUWorkloadStatus; result: Result } {
    const message = (
      `attempt ${finished.attempt} ${finished.outcome === "Succeeded" ? "succeeded" : "failed"}; ` +
      `waiting for the ledger to record its receipt (${err.reason}: ${err.message})`
    ).slice(0, 1024);
    const already = status.conditions?.some(
      (c) => c.type === "Complete" && c.reason === RECEIPT_PENDING,
    );
    if (!already) {
      this.d.events.event(Resources.GPUWorkload, wl, "Warning", RECEIPT_PENDING, message);
    }
    const next = withState(
      wl,
      status,
      { kind: "recording", outcome: finished.outcome, message },
      now,
    );
    return { status: next, result: { requeueAfterMs: RECEIPT_RETRY_MS } };
  }

  private async ensureReceiptView(
    view: Receipt,
    res: Awaited<ReturnType<ReceiptLedger["append"]>>,
  ): Promise<void> {
    const ns = view.metadata.namespace ?? "";
    let obj = this.d.receipts.get(view.metadata.name ?? "", ns);
    if (!obj) {
      try {
        obj = await this.d.client.create(Resources.Receipt, view);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        obj = await this.d.client.get<Receipt>(Resources.Receipt, view.metadata.name ?? "", ns);
      }
    }
    if (!obj || obj.status?.logIndex !== undefined) return;
    const now = rfc3339(this.d.clock.now());
    await writeStatus(this.d.client, Resources.Receipt, obj, {
      logIndex: res.entry.logIndex,
      leafHash: res.entry.leafHash,
      ...(res.treeHead ? { treeSize: res.treeHead.treeSize, rootHash: res.treeHead.rootHash } : {}),
      conditions: [
        {
          type: "Logged",
          status: "True",
          reason: "Appended",
          message: `appended to the Merkle log at index ${res.entry.logIndex}`,
          lastTransitionTime: now,
        },
      ],
    });
  }
}

function findRouted(status: GPUWorkloadStatus): string | undefined {
  return status.conditions?.find((c) => c.type === "Routed")?.message;
}

/** Why a treaty can no longer take a workload that has not started, or undefined. */
export function treatyUnfit(treaty: Treaty | undefined, name: string): string | undefined {
  if (!treaty) return `treaty ${name} was deleted before the job started`;
  if (treaty.spec.suspended) return `treaty ${name} was suspended before the job started`;
  for (const c of treaty.status?.conditions ?? []) {
    if (c.type === "Degraded" && c.status === "True") {
      return `treaty ${name} became Degraded (${c.reason}) before the job started`;
    }
    if (c.type === "Expired" && c.status === "True")
      return `treaty ${name} expired before the job started`;
  }
  return undefined;
}

/**
 * The workload's kwok stage annotations (`*.stage.kwok.x-k8s.io/*`, e.g. a pod-complete delay),
 * passed to its Pods so simulated clusters (tests, bench, `make dev`) can shape a run. They
 * mean nothing to a real kubelet.
 */
export function kwokStageAnnotations(wl: GPUWorkload): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(wl.metadata.annotations ?? {})) {
    if (k.includes(".stage.kwok.x-k8s.io/")) out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
