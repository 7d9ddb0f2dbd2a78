/**
 * What the Treaty reconciler knows beyond the Treaty itself: round-trip probes of external
 * endpoints and lookups of provider credentials (both remembered per treaty between passes,
 * only outcomes, never a Secret's data), and the evidence gathered from the shared caches
 * (completion receipts, workload attempts) that treaty-status.ts computes the status from.
 */
import { IN_CLUSTER_PROVIDER } from "../../../crds/constants.ts";
import type { GPUWorkload, Receipt, Treaty } from "../../../crds/index.ts";
import type { KubeClient, ObjectCache } from "../../../services/kube/index.ts";
import {
  credentialsLocation,
  lookupCredentials,
} from "../../../services/provider-client/credentials.ts";
import { ProviderClient } from "../../../services/provider-client/provider-client.ts";
import { periodStart, sumUsage } from "../../../crds/domain/index.ts";
import { treatyCompletions } from "../../shared/workload-caches.ts";
import type { CredentialsCheck, TreatyEvidence } from "./treaty-status.ts";

/** Measures the round trip to a provider endpoint in ms; throws when unreachable. */
export type RttProbe = (endpoint: string) => Promise<number>;

/** How long one probe may take before the endpoint counts as unreachable. */
export const PROBE_TIMEOUT_MS = 5_000;
/** Round trips kept per treaty (its latency is computed from these). */
export const RTT_SAMPLES = 20;
/** Longest error text kept from a failed probe or credentials lookup. */
const MAX_ERROR_LENGTH = 200;
/** Index of workloads by the treaties their attempts ran under. */
export const WORKLOADS_BY_TREATY = "byAttemptTreaty";

/** A probe that times an HTTP GET of the endpoint (any HTTP answer counts as reachable). */
export const httpProbe: RttProbe = async (endpoint) => {
  const t0 = performance.now();
  const res = await fetch(endpoint, {
    method: "GET",
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
  await res.arrayBuffer();
  return performance.now() - t0;
};

/**
 * The provider protocol's probe: `GET /v1/health` (no credentials, one try). A provider that
 * answers 503 (down, overloaded) or not at all is unreachable.
 */
export const pingProbe: RttProbe = async (endpoint) =>
  (await new ProviderClient({ endpoint }).ping(AbortSignal.timeout(PROBE_TIMEOUT_MS))).rttMs;

const external = (t: Treaty): boolean =>
  t.spec.endpoint !== undefined && t.spec.provider !== IN_CLUSTER_PROVIDER;

const errorText = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_LENGTH);

/** Round trips to external endpoints, probed at most once per interval per treaty. */
export class RttProbes {
  readonly #probe: RttProbe;
  readonly #intervalMs: number;
  readonly #onRtt: ((treaty: string, ms: number) => void) | undefined;
  readonly #seen = new Map<
    string,
    { samples: number[]; unreachable?: string | undefined; at: number }
  >();

  constructor(probe: RttProbe, intervalMs: number, onRtt?: (treaty: string, ms: number) => void) {
    this.#probe = probe;
    this.#intervalMs = intervalMs;
    this.#onRtt = onRtt;
  }

  /** Probes the treaty's endpoint when the last probe is older than the interval. */
  async probeIfDue(t: Treaty, now: number): Promise<void> {
    const name = t.metadata.name ?? "";
    const endpoint = t.spec.endpoint;
    if (!endpoint || !external(t)) return;
    const cur = this.#seen.get(name) ?? { samples: [], at: 0 };
    if (now - cur.at < this.#intervalMs && cur.at > 0) return;
    try {
      // The first request to an endpoint pays for connection setup and the client's lazy
      // loading (the protocol schemas), not for the provider: it warms up, the second counts.
      if (cur.samples.length === 0) await this.#probe(endpoint);
      const ms = await this.#probe(endpoint);
      cur.samples = [...cur.samples, ms].slice(-RTT_SAMPLES);
      cur.unreachable = undefined;
      this.#onRtt?.(name, ms);
    } catch (err) {
      cur.unreachable = errorText(err);
    }
    cur.at = now;
    this.#seen.set(name, cur);
  }

  /** The treaty's recent round trips (ms) and why the last probe failed, if it did. */
  of(name: string): { readonly samples: readonly number[]; readonly unreachable?: string } {
    const r = this.#seen.get(name);
    return r
      ? { samples: r.samples, ...(r.unreachable ? { unreachable: r.unreachable } : {}) }
      : { samples: [] };
  }

  /** Forgets a deleted treaty. */
  forget(name: string): void {
    this.#seen.delete(name);
  }
}

/** Settings of {@link CredentialChecks}. */
export interface CredentialCheckSettings {
  readonly client: KubeClient;
  /** Namespace of a `credentialsSecretRef` without one. */
  readonly namespace: string;
  /** Looked up again this often while present (a Secret deleted later is noticed). */
  readonly presentRecheckMs: number;
  /** Looked up again this often while missing (a Secret created later is found). */
  readonly missingRetryMs: number;
}

/**
 * The last credentials lookup per treaty: looked up again when the spec changes, after
 * `missingRetryMs` while missing, after `presentRecheckMs` while present. Only the outcome is
 * kept, never the Secret's data.
 */
export class CredentialChecks {
  readonly #s: CredentialCheckSettings;
  readonly #checks = new Map<
    string,
    { generation: number | undefined; at: number; check: CredentialsCheck }
  >();

  constructor(settings: CredentialCheckSettings) {
    this.#s = settings;
  }

  /** The treaty's credentials check (undefined when it needs none), looked up when due. */
  async check(t: Treaty, now: number): Promise<CredentialsCheck | undefined> {
    const name = t.metadata.name ?? "";
    const ref = t.spec.credentialsSecretRef;
    if (!ref || !t.spec.endpoint || t.spec.provider === IN_CLUSTER_PROVIDER) {
      this.#checks.delete(name);
      return undefined;
    }
    const cur = this.#checks.get(name);
    const due = cur?.check.found === "ok" ? this.#s.presentRecheckMs : this.#s.missingRetryMs;
    if (cur && cur.generation === t.metadata.generation && now - cur.at < due) return cur.check;
    let check: CredentialsCheck;
    try {
      const found = await lookupCredentials(this.#s.client, ref, this.#s.namespace);
      check = { namespace: found.namespace, name: found.name, key: found.key, found: found.found };
    } catch (err) {
      const where = credentialsLocation(ref, this.#s.namespace);
      check = { ...where, found: "error", error: errorText(err) };
    }
    this.#checks.set(name, { generation: t.metadata.generation, at: now, check });
    return check;
  }

  /** Forgets a deleted treaty. */
  forget(name: string): void {
    this.#checks.delete(name);
  }
}

/** The caches evidence is gathered from. */
export interface EvidenceCaches {
  readonly receipts: ObjectCache<Receipt>;
  /** Indexed by {@link WORKLOADS_BY_TREATY}. */
  readonly workloads: ObjectCache<GPUWorkload>;
}

/**
 * The evidence about treaty `t` at `now`: completions (all, and GPU-seconds this period),
 * attempts routed and placed under it, active jobs, round trips and the credentials check.
 */
export function gatherEvidence(
  caches: EvidenceCaches,
  t: Treaty,
  now: Date,
  probes: RttProbes,
  credentials: CredentialsCheck | undefined,
): TreatyEvidence {
  const name = t.metadata.name ?? "";
  const all = treatyCompletions(caches.receipts, name);
  const since = periodStart(now);
  const inPeriod = all.filter((p) => Date.parse(p.completionTime) >= since.getTime());
  let routed = 0;
  let placed = 0;
  let active = 0;
  for (const w of caches.workloads.byIndex(WORKLOADS_BY_TREATY, name)) {
    const attempts = w.status?.attempts ?? [];
    for (const a of attempts) {
      if (a.treaty !== name) continue;
      routed++;
      if (a.outcome !== "Abandoned") placed++;
    }
    const last = attempts.at(-1);
    if (last?.treaty === name && last.outcome === "Running") active++;
  }
  const r = probes.of(name);
  return {
    completions: all.map((p) => ({
      outcome: p.outcome,
      provisionSeconds: p.provisionSeconds,
      startedAtMs: Date.parse(p.startTime),
      completedAtMs: Date.parse(p.completionTime),
    })),
    gpuSecondsThisPeriod: sumUsage(inPeriod).gpuSeconds,
    routed,
    placed,
    activeJobs: active,
    rttMs: [...r.samples],
    unreachable: r.unreachable,
    credentials,
  };
}
