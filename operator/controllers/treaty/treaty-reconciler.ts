/**
 * The Treaty reconcile, in the runtime's fixed order: get (gone → forget it, done) → scope
 * (the treaty, the clock value) → phases (credentials lookup, RTT probe) → status computed by
 * treaty-status.ts from the evidence and written once → an Event when Ready changes.
 */
import { IN_CLUSTER_PROVIDER, TREATY_READY_REASONS } from "../../../crds/constants.ts";
import type { Treaty } from "../../../crds/index.ts";
import { Resources, type KubeClient, type ObjectCache } from "../../../services/kube/index.ts";
import {
  findCondition,
  writeStatus,
  type EventRecorder,
  type Result,
} from "../../runtime/index.ts";
import {
  gatherEvidence,
  type CredentialChecks,
  type EvidenceCaches,
  type RttProbes,
} from "./treaty-evidence.ts";
import { accessProblem, computeTreatyStatus, type AccessProblem } from "./treaty-status.ts";
import { periodStart } from "../../../crds/domain/index.ts";

/** Dependencies of the Treaty reconciler. */
export interface TreatyReconcilerDeps {
  readonly client: KubeClient;
  readonly clock: { now(): Date };
  readonly events: EventRecorder;
  readonly treaties: ObjectCache<Treaty>;
  readonly caches: EvidenceCaches;
  readonly probes: RttProbes;
  readonly credentials: CredentialChecks;
  /** How often external endpoints are probed (and their treaties looked at again). */
  readonly probeIntervalMs: number;
  /** How soon a treaty whose credentials Secret is missing is looked at again. */
  readonly credentialsRetryMs: number;
  readonly onStatus?: ((treaty: string, fillRate: number | undefined) => void) | undefined;
}

/** What decides when a treaty is looked at again. */
export interface RequeueInputs {
  /** What treaty-status.ts asks for (the next date change), if anything. */
  readonly statusRequeueMs: number | undefined;
  /** An external treaty is probed every interval. */
  readonly external: boolean;
  readonly probeIntervalMs: number;
  /** Why the provider cannot be reached as configured, if it cannot. */
  readonly access: AccessProblem | undefined;
  readonly credentialsRetryMs: number;
}

/**
 * When to look at the treaty again: the soonest of what its status asks for, the probe
 * interval (external treaties), and the credentials retry (while the Secret is missing: a
 * Secret created later makes it Ready); undefined when nothing asks.
 */
export function treatyRequeueMs(x: RequeueInputs): number | undefined {
  const credentialsWait =
    x.access?.reason === TREATY_READY_REASONS.CredentialsMissing ? x.credentialsRetryMs : undefined;
  const waits = [
    x.statusRequeueMs,
    x.external ? x.probeIntervalMs : undefined,
    credentialsWait,
  ].filter((w): w is number => w !== undefined);
  return waits.length > 0 ? Math.min(...waits) : undefined;
}

/** Reconciles Treaties. */
export class TreatyReconciler {
  readonly #d: TreatyReconcilerDeps;

  constructor(deps: TreatyReconcilerDeps) {
    this.#d = deps;
  }

  /** Reconciles the Treaty `name`. */
  async reconcile(name: string): Promise<Result | void> {
    const d = this.#d;
    const t = d.treaties.get(name);
    if (!t || t.metadata.deletionTimestamp) {
      d.probes.forget(name);
      d.credentials.forget(name);
      return;
    }
    const now = d.clock.now();
    const credentials = await d.credentials.check(t, now.getTime());
    // A provider that cannot be reached as configured is not probed: there is nothing to ask.
    const access = accessProblem(t, credentials);
    if (!access) await d.probes.probeIfDue(t, now.getTime());
    const evidence = gatherEvidence(d.caches, t, now, d.probes, credentials);
    const { status, requeueAfterMs } = computeTreatyStatus(t, evidence, now, periodStart(now));
    await writeStatus(d.client, Resources.Treaty, t, status);
    const prevReady = findCondition(t.status?.conditions, "Ready");
    const ready = findCondition(status.conditions, "Ready");
    if (ready && (prevReady?.status !== ready.status || prevReady.reason !== ready.reason)) {
      d.events.event(
        Resources.Treaty,
        t,
        ready.status === "True" ? "Normal" : "Warning",
        ready.reason,
        ready.message,
      );
    }
    d.onStatus?.(name, status.fillRate);
    const next = treatyRequeueMs({
      statusRequeueMs: requeueAfterMs,
      external: t.spec.endpoint !== undefined && t.spec.provider !== IN_CLUSTER_PROVIDER,
      probeIntervalMs: d.probeIntervalMs,
      access,
      credentialsRetryMs: d.credentialsRetryMs,
    });
    return next === undefined ? undefined : { requeueAfterMs: next };
  }
}
