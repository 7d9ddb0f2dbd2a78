/**
 * The Treaty controller: gathers evidence from the shared caches (completion receipts,
 * workload attempts) and from RTT probes of external endpoints, and writes the computed
 * status (treaty-status.ts) guarded by resourceVersion. Workload and receipt changes enqueue
 * the treaty they name, so activeJobs, usage and fill rate follow the world.
 */
import { IN_CLUSTER_PROVIDER, TREATY_READY_REASONS } from "../../../crds/constants.ts";
import type { GPUWorkload, Treaty } from "../../../crds/index.ts";
import { Resources } from "../../../services/kube/index.ts";
import { writeStatus, type Controller, type Manager, type Result } from "../../runtime/index.ts";
import { Labels } from "../gpuworkload/completion-receipt.ts";
import { workloadCaches, type OperatorScope } from "../gpuworkload/gpuworkload-controller.ts";
import { periodStart, sumUsage, treatyCompletions } from "../gpuworkload/usage.ts";
import {
  credentialsLocation,
  lookupCredentials,
} from "../../../services/provider-client/credentials.ts";
import { ProviderClient } from "../../../services/provider-client/provider-client.ts";
import {
  accessProblem,
  computeTreatyStatus,
  type CredentialsCheck,
  type TreatyEvidence,
} from "./treaty-status.ts";

/** Measures the round trip to a provider endpoint in ms; throws when unreachable. */
export type RttProbe = (endpoint: string) => Promise<number>;

/** A probe that times an HTTP GET of the endpoint (any HTTP answer counts as reachable). */
export const httpProbe: RttProbe = async (endpoint) => {
  const t0 = performance.now();
  const res = await fetch(endpoint, { method: "GET", signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return performance.now() - t0;
};

/**
 * The provider protocol's probe: `GET /v1/health` (no credentials, one try). A provider that
 * answers 503 (down, overloaded) or not at all is unreachable.
 */
export const pingProbe: RttProbe = async (endpoint) =>
  (await new ProviderClient({ endpoint }).ping(AbortSignal.timeout(5000))).rttMs;

/** Dependencies of the Treaty controller. */
export interface TreatyControllerDeps {
  readonly clock: { now(): Date };
  /** @default pingProbe */
  readonly probe?: RttProbe;
  /** How often external endpoints are probed. @default 30000 */
  readonly probeIntervalMs?: number;
  /** Treaty RTT observations (metrics). */
  readonly onRtt?: (treaty: string, ms: number) => void;
  readonly onStatus?: (treaty: string, fillRate: number | undefined) => void;
  readonly resyncMs?: number;
  readonly scope?: OperatorScope;
  /**
   * Namespace of a `credentialsSecretRef` without one; must match the provider connector's
   * (main.ts: the operator's namespace). @default the scope's namespace, else vaultmesh-system
   */
  readonly credentialsNamespace?: string;
  /** How often a missing credentials Secret is looked up again. @default 5000 */
  readonly credentialsRetryMs?: number;
}

const WORKLOADS_BY_TREATY = "byAttemptTreaty";
const RTT_SAMPLES = 20;

/** Creates the Treaty controller and registers it with `mgr`. */
export function createTreatyController(
  mgr: Manager,
  deps: TreatyControllerDeps,
): Controller<Treaty> {
  const c = workloadCaches(mgr, deps.scope);
  const workloads = mgr.informer<GPUWorkload>(Resources.GPUWorkload, {
    ...(deps.scope?.namespace ? { namespace: deps.scope.namespace } : {}),
    indexers: {
      [WORKLOADS_BY_TREATY]: (w) => [...new Set((w.status?.attempts ?? []).map((a) => a.treaty))],
    },
  });
  const rtt = new Map<
    string,
    { samples: number[]; unreachable?: string | undefined; at: number }
  >();
  const probe = deps.probe ?? pingProbe;
  const interval = deps.probeIntervalMs ?? 30000;
  const credentialsNamespace =
    deps.credentialsNamespace ?? deps.scope?.namespace ?? "vaultmesh-system";
  const credentialsRetry = deps.credentialsRetryMs ?? 5000;
  // Last credentials check per treaty: looked up again when the spec changes, after
  // credentialsRetry while missing, after the probe interval while present (a Secret deleted
  // later is noticed). Only the outcome is kept, never the Secret's data.
  const credentialChecks = new Map<
    string,
    { generation: number | undefined; at: number; check: CredentialsCheck }
  >();

  async function checkCredentials(t: Treaty, now: number): Promise<CredentialsCheck | undefined> {
    const name = t.metadata.name ?? "";
    const ref = t.spec.credentialsSecretRef;
    if (!ref || !t.spec.endpoint || t.spec.provider === IN_CLUSTER_PROVIDER) {
      credentialChecks.delete(name);
      return undefined;
    }
    const cur = credentialChecks.get(name);
    const due = cur?.check.found === "ok" ? interval : credentialsRetry;
    if (cur && cur.generation === t.metadata.generation && now - cur.at < due) return cur.check;
    let check: CredentialsCheck;
    try {
      const {
        namespace,
        name: secret,
        key,
        found,
      } = await lookupCredentials(mgr.client, ref, credentialsNamespace);
      check = { namespace, name: secret, key, found };
    } catch (err) {
      const where = credentialsLocation(ref, credentialsNamespace);
      check = { ...where, found: "error", error: (err as Error).message.slice(0, 200) };
    }
    credentialChecks.set(name, { generation: t.metadata.generation, at: now, check });
    return check;
  }

  async function probeIfDue(t: Treaty, now: number): Promise<void> {
    const name = t.metadata.name ?? "";
    const endpoint = t.spec.endpoint;
    if (!endpoint || t.spec.provider === IN_CLUSTER_PROVIDER) return;
    const cur = rtt.get(name) ?? { samples: [], at: 0 };
    if (now - cur.at < interval && cur.at > 0) return;
    try {
      // The first request to an endpoint pays for connection setup and the client's lazy
      // loading (the protocol schemas), not for the provider: it warms up, the second counts.
      if (cur.samples.length === 0) await probe(endpoint);
      const ms = await probe(endpoint);
      cur.samples = [...cur.samples, ms].slice(-RTT_SAMPLES);
      cur.unreachable = undefined;
      deps.onRtt?.(name, ms);
    } catch (err) {
      cur.unreachable = (err as Error).message.slice(0, 200);
    }
    cur.at = now;
    rtt.set(name, cur);
  }

  function evidence(
    t: Treaty,
    now: Date,
    credentials: CredentialsCheck | undefined,
  ): TreatyEvidence {
    const name = t.metadata.name ?? "";
    const all = treatyCompletions(c.receipts, name);
    const since = periodStart(now);
    const inPeriod = all.filter((p) => Date.parse(p.completionTime) >= since.getTime());
    let routed = 0;
    let placed = 0;
    let active = 0;
    for (const w of workloads.byIndex(WORKLOADS_BY_TREATY, name)) {
      const attempts = w.status?.attempts ?? [];
      for (const a of attempts) {
        if (a.treaty !== name) continue;
        routed++;
        if (a.outcome !== "Abandoned") placed++;
      }
      const last = attempts.at(-1);
      if (last?.treaty === name && last.outcome === "Running") active++;
    }
    const r = rtt.get(name);
    return {
      completions: all.map((p) => ({ outcome: p.outcome, provisionSeconds: p.provisionSeconds })),
      gpuSecondsThisPeriod: sumUsage(inPeriod).gpuSeconds,
      routed,
      placed,
      activeJobs: active,
      rttMs: r?.samples ?? [],
      unreachable: r?.unreachable,
      credentials,
    };
  }

  const reconcile = async (name: string): Promise<Result | void> => {
    const t = c.treaties.get(name);
    if (!t || t.metadata.deletionTimestamp) {
      rtt.delete(name);
      credentialChecks.delete(name);
      return;
    }
    const now = deps.clock.now();
    const credentials = await checkCredentials(t, now.getTime());
    // A provider that cannot be reached as configured is not probed: there is nothing to ask.
    const access = accessProblem(t, credentials);
    if (!access) await probeIfDue(t, now.getTime());
    const { status, requeueAfterMs } = computeTreatyStatus(
      t,
      evidence(t, now, credentials),
      now,
      periodStart(now),
    );
    const prevReady = t.status?.conditions?.find((x) => x.type === "Ready");
    const ready = status.conditions?.find((x) => x.type === "Ready");
    await writeStatus(mgr.client, Resources.Treaty, t, status);
    if (ready && (prevReady?.status !== ready.status || prevReady.reason !== ready.reason)) {
      mgr.events.event(
        Resources.Treaty,
        t,
        ready.status === "True" ? "Normal" : "Warning",
        ready.reason,
        ready.message,
      );
    }
    deps.onStatus?.(name, status.fillRate);
    const external = t.spec.endpoint !== undefined && t.spec.provider !== IN_CLUSTER_PROVIDER;
    // Missing credentials are looked up again soon: a Secret created later makes it Ready.
    const credentialsWait =
      access?.reason === TREATY_READY_REASONS.CredentialsMissing ? credentialsRetry : undefined;
    const waits = [requeueAfterMs, external ? interval : undefined, credentialsWait].filter(
      (x): x is number => x !== undefined,
    );
    return waits.length > 0 ? { requeueAfterMs: Math.min(...waits) } : undefined;
  };

  const byName = (w: GPUWorkload): string[] => [
    ...new Set((w.status?.attempts ?? []).map((a) => a.treaty)),
  ];
  return mgr.controller({
    name: "treaty",
    for: c.treaties,
    workers: 1,
    ...(deps.resyncMs !== undefined ? { resyncMs: deps.resyncMs } : {}),
    reconcile: (req) => reconcile(req.name),
    watches: [
      { informer: workloads, map: byName },
      {
        informer: c.receipts,
        map: (r) => {
          const t = r.metadata.labels?.[Labels.receiptTreaty];
          return t ? [t] : [];
        },
      },
    ],
  });
}
