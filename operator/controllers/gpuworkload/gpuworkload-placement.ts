/**
 * The placement phase of a GPUWorkload reconcile: route the workload over the cached treaties
 * (with live usage and the treaties already attempted excluded), and place the next attempt —
 * a Job on the cluster's own pool, or an attempt recorded for an external provider (submitted
 * by the next pass under its idempotency key).
 */
import { IN_CLUSTER_PROVIDER, TENANT_NAMESPACE_PREFIX } from "../../../crds/constants.ts";
import type { GPUWorkload, Tenant } from "../../../crds/index.ts";
import { isAlreadyExists, objectKey, Resources } from "../../../services/kube/index.ts";
import { buildJob, jobName } from "../../placement/index.ts";
import {
  describeDecision,
  route,
  statusCandidates,
  type Placement,
  type RouteDecision,
} from "../../../services/routing/index.ts";
import { TENANT_LABEL } from "../../../services/tenant-stack/kube/names.ts";
import { rfc3339 } from "../../runtime/index.ts";
import {
  attemptExclusions,
  attemptsExhaustedMessage,
  DEFAULT_RETRY_BACKOFF,
  MAX_ATTEMPTS,
  retryWait,
} from "./attempt-backoff.ts";
import { MAX_MESSAGE_LENGTH, WorkloadReason } from "./gpuworkload-reasons.ts";
import {
  recordEvent,
  routedMessage,
  type PhaseDeps,
  type WorkloadScope,
} from "./gpuworkload-scope.ts";
import { waitingReason } from "./gpuworkload-status.ts";
import type { Attempt } from "./in-cluster-attempt.ts";
import { externalKey } from "./treaty-usage.ts";

/**
 * Most entries `status.candidates` keeps: the winner and the next best (or, when none is
 * eligible, the first ineligible ones with their reasons). The Routed condition's message
 * counts every treaty considered and, when none is eligible, gives each one's reasons; a
 * shorter status is a cheaper write for the API server and every watcher (issue 13).
 */
export const STATUS_CANDIDATES_KEPT = 5;

/** Routes the workload and, when a treaty is eligible, places its next attempt. */
export async function placePhase(d: PhaseDeps, s: WorkloadScope): Promise<void> {
  const { wl, now } = s;
  const attempts = s.status.attempts ?? [];
  if (attempts.length >= MAX_ATTEMPTS) {
    const message = attemptsExhaustedMessage(attempts.length);
    s.state = { kind: "waiting", reason: WorkloadReason.AttemptsExhausted, message };
    return;
  }
  // Treaties of abandoned attempts are excluded for their back-off (ADR 0099).
  const exclusions = attemptExclusions(
    attempts,
    now.getTime(),
    d.retryBackoff ?? DEFAULT_RETRY_BACKOFF,
  );
  const decision = decide(d, wl, exclusions.excluding, now);
  const message = describeDecision(decision);
  const candidates = statusCandidates(decision).slice(0, STATUS_CANDIDATES_KEPT);
  if (!decision.placement) {
    const reason = waitingReason(decision.candidates);
    const wait = retryWait(message, exclusions, now.getTime(), MAX_MESSAGE_LENGTH);
    if (routedMessage(s.status) !== wait.message) recordEvent(s, "Warning", reason, wait.message);
    s.status = { ...s.status, candidates };
    s.state = { kind: "waiting", reason, message: wait.message };
    if (wait.requeueAfterMs !== undefined) s.requeueAfterMs = wait.requeueAfterMs;
    return;
  }
  const placement = decision.placement;
  const treaty = d.treaties.get(placement.treaty);
  if (!treaty) throw new Error(`treaty ${placement.treaty} vanished from the cache`);
  const n = (attempts.at(-1)?.attempt ?? 0) + 1;
  if (treaty.spec.provider !== IN_CLUSTER_PROVIDER || !treaty.spec.inCluster) {
    s.status = { ...s.status, candidates };
    placeExternal(d, s, { placement, n, message });
    return;
  }
  // operator/placement builds the Job with the labels, annotations and owner reference the
  // reconciler reads back (attempt, treaty, price); kwok stage annotations pass through.
  const job = buildJob(wl, treaty, n, { placement, podAnnotations: kwokStageAnnotations(wl) });
  const name = job.metadata.name ?? jobName(wl, n);
  const key = `${wl.metadata.namespace}/${name}`;
  d.live.expect(key, placement.treaty, now.getTime());
  try {
    await d.client.create(Resources.Job, job);
  } catch (err) {
    if (!isAlreadyExists(err)) d.live.observed(key);
    // AlreadyExists: an earlier pass created it and its status write was lost. Retry once
    // the cache shows the Job, so its own labels (not this pass's decision) are adopted.
    throw err;
  }
  d.metrics?.placed(placement.treaty);
  // No Placed Event: the Routed condition, attempts[] and jobRef say the same, and an Event
  // per workload was a third of the writes VaultMesh added to a Job's (issue 13, ADR 0100).
  const attempt: Attempt = {
    attempt: n,
    treaty: placement.treaty,
    provider: placement.provider,
    jobName: name,
    outcome: "Running",
    startTime: rfc3339(now),
  };
  s.status = {
    ...s.status,
    placement,
    candidates,
    attempts: [...attempts, attempt],
    jobRef: { name },
  };
  // The same conditions the next pass computes while the Pod is pending, so the Job's own
  // watch event does not cost a second status write.
  s.state = { kind: "placed", message, pendingReason: WorkloadReason.Pending };
}

// Routed to an external treaty: record the attempt first; the next pass submits it under its
// idempotency key (the write of this status re-queues the workload), so a crash in between
// re-submits the same key to the same provider instead of routing the attempt elsewhere.
function placeExternal(
  d: PhaseDeps,
  s: WorkloadScope,
  at: { readonly placement: Placement; readonly n: number; readonly message: string },
): void {
  const { placement, n, message } = at;
  if (!d.external) {
    const why =
      `routed to treaty ${placement.treaty} (${placement.provider}), but this operator ` +
      `has no provider client; ${message}`;
    s.state = { kind: "waiting", reason: WorkloadReason.ProviderUnavailable, message: why };
    return;
  }
  const attempt: Attempt = {
    attempt: n,
    treaty: placement.treaty,
    provider: placement.provider,
    outcome: "Running",
    startTime: rfc3339(s.now),
  };
  d.live.expect(externalKey(objectKey(s.wl)), placement.treaty, s.now.getTime());
  d.metrics?.placed(placement.treaty);
  s.status = {
    ...s.status,
    jobRef: undefined,
    placement,
    attempts: [...(s.status.attempts ?? []), attempt],
  };
  s.state = { kind: "placed", message };
}

function decide(
  d: PhaseDeps,
  wl: GPUWorkload,
  excluding: readonly string[],
  now: Date,
): RouteDecision {
  const t0 = performance.now();
  // The cached treaties as they are (route() memoizes per treaty object) and live usage
  // beside them, instead of a copy of every treaty with a patched status per decision.
  const tenant = tenantOf(d, wl);
  const decision = route(
    {
      spec: wl.spec,
      ...(tenant ? { tenant: tenant.spec } : {}),
      treaties: d.treaties.list(),
      usage: d.live.usage(now),
      now,
      excluding,
      // The GPU nodes' sizes: an in-cluster treaty whose nodes are all too small is ineligible.
      ...(d.nodes ? { nodes: d.nodes.list() } : {}),
    },
    d.routerMemo,
  );
  d.metrics?.routingDecision((performance.now() - t0) / 1000);
  return decision;
}

// The workload's tenant: its tenant label, else the namespace's `tenant-<name>` convention.
function tenantOf(d: PhaseDeps, wl: GPUWorkload): Tenant | undefined {
  const ns = wl.metadata.namespace ?? "";
  const name =
    wl.metadata.labels?.[TENANT_LABEL] ??
    (ns.startsWith(TENANT_NAMESPACE_PREFIX) ? ns.slice(TENANT_NAMESPACE_PREFIX.length) : undefined);
  return name ? d.tenants?.get(name) : undefined;
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
