/**
 * Pure Treaty status: Ready/Expired/Degraded from the dates, the suspension flag and measured
 * evidence; reputation from completions and failures (never the declared value alone);
 * fill rate from routed vs placed attempts; usage as sums over completion receipts.
 * Measured availability is a circuit breaker over a sliding window (treaty-availability.ts,
 * ADR 0134): a treaty ejected for an availability breach is probed and recovers.
 */
import {
  IN_CLUSTER_PROVIDER,
  TREATY_READY_REASONS as R,
  TreatyDegradedReason,
  TreatyExpiredReason,
} from "../../../crds/constants.ts";
import type { Condition, Treaty, TreatyStatus } from "../../../crds/index.ts";
import { treatyFillRate } from "../../../services/kpi/index.ts";
import { rfc3339, setConditions, type ConditionInput } from "../../runtime/index.ts";
import {
  availabilityVerdict,
  type AvailabilityVerdict,
  type TreatyCompletion,
} from "./treaty-availability.ts";

/** Evidence about a treaty, gathered from the caches by the reconciler. */
export interface TreatyEvidence {
  /** Completed attempts: outcome, seconds from Job creation to start, start and end times. */
  readonly completions: readonly TreatyCompletion[];
  /** GPU-seconds over completion receipts in the current period. */
  readonly gpuSecondsThisPeriod: number;
  /** Attempts routed to the treaty, and how many of them were not abandoned. */
  readonly routed: number;
  readonly placed: number;
  /** Workloads whose current attempt runs (or waits to start) under the treaty. */
  readonly activeJobs: number;
  /** Recent RTT samples in ms (external providers); `unreachable` after a failed probe. */
  readonly rttMs: readonly number[];
  readonly unreachable?: string | undefined;
  /** What the controller found of the Secret `spec.credentialsSecretRef` names, if any. */
  readonly credentials?: CredentialsCheck | undefined;
}

/** The Secret `spec.credentialsSecretRef` points at, as the controller resolved it. */
export interface CredentialsLocation {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

/**
 * What the controller found of a treaty's credentials Secret: present with the key, absent,
 * present without the key, or unreadable (the API refused or failed; `error` says how).
 */
export type CredentialsCheck = CredentialsLocation &
  (
    | { readonly found: "ok" | "no-secret" | "no-key" }
    | { readonly found: "error"; readonly error: string }
  );

/** Why a treaty's provider cannot be reached as configured: a Ready reason and a message. */
export interface AccessProblem {
  readonly reason: typeof R.EndpointMissing | typeof R.CredentialsMissing;
  readonly message: string;
}

/**
 * Whether the provider of `treaty` can be reached as configured: an external provider needs
 * `spec.endpoint`, and the Secret (and key) `spec.credentialsSecretRef` names must exist.
 * Undefined when nothing is missing (an in-cluster treaty never misses anything); the message
 * names what is missing. `credentials` is undefined when the Secret was not looked up.
 */
export function accessProblem(
  treaty: Treaty,
  credentials: CredentialsCheck | undefined,
): AccessProblem | undefined {
  const { spec } = treaty;
  if (spec.provider === IN_CLUSTER_PROVIDER) return undefined;
  if (!spec.endpoint) {
    return {
      reason: R.EndpointMissing,
      message: `spec.endpoint is not set: external provider ${spec.provider} cannot be reached (set it to the base URL of the provider's API)`,
    };
  }
  if (spec.credentialsSecretRef === undefined || credentials === undefined) return undefined;
  const where = `spec.credentialsSecretRef: Secret ${credentials.namespace}/${credentials.name}`;
  switch (credentials.found) {
    case "ok":
      return undefined;
    case "no-secret":
      return { reason: R.CredentialsMissing, message: `${where} does not exist` };
    case "no-key":
      return { reason: R.CredentialsMissing, message: `${where} has no key ${credentials.key}` };
    case "error":
      return {
        reason: R.CredentialsMissing,
        message: `${where} cannot be read: ${credentials.error}`,
      };
  }
}

/** Prior of the reputation's Beta estimate: a new treaty starts at PRIOR_MEAN. */
export const REPUTATION_PRIOR_MEAN = 0.9;
/** Weight of the prior, in completions. */
export const REPUTATION_PRIOR_WEIGHT = 10;

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Reputation from evidence: (prior·weight + Σ score) / (weight + n), where a completion scores
 * 1 when it succeeded within the provision-time SLO, 0.5 when it succeeded late, 0 when it
 * failed.
 */
export function reputation(
  completions: readonly Pick<TreatyCompletion, "outcome" | "provisionSeconds">[],
  maxProvisionTimeSeconds?: number,
): number {
  let sum = 0;
  for (const c of completions) {
    if (c.outcome === "Failed") continue;
    const late =
      maxProvisionTimeSeconds !== undefined && c.provisionSeconds > maxProvisionTimeSeconds;
    sum += late ? 0.5 : 1;
  }
  const w = REPUTATION_PRIOR_WEIGHT;
  return round((REPUTATION_PRIOR_MEAN * w + sum) / (w + completions.length));
}

/** 95th percentile (nearest rank) of samples; undefined without samples. */
export function p95(samples: readonly number[]): number | undefined {
  if (samples.length === 0) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)];
}

/** `YYYY-MM-DD` of `now` in UTC. */
export const utcDay = (now: Date): string => now.toISOString().slice(0, 10);

/** The status of `treaty` given `evidence` at `now`, and when to look again. */
export function computeTreatyStatus(
  treaty: Treaty,
  evidence: TreatyEvidence,
  now: Date,
  periodStart: Date,
): { status: TreatyStatus; requeueAfterMs?: number } {
  const { spec } = treaty;
  const today = utcDay(now);
  const rep = reputation(evidence.completions, spec.slo?.maxProvisionTimeSeconds);
  const verdict = availabilityVerdict(evidence.completions, spec.slo?.availability, now.getTime());
  const { availability } = verdict;
  const latency = p95(evidence.rttMs);
  const fill = treatyFillRate(evidence); // the KPI's one definition (services/kpi)
  const degraded = degradedReasons(treaty, {
    rep,
    verdict,
    latency,
    unreachable: evidence.unreachable,
  });
  const expired = spec.expiryDate !== undefined && spec.expiryDate <= today;
  const notYet = spec.effectiveDate !== undefined && spec.effectiveDate > today;
  const conds: ConditionInput[] = [
    expired
      ? {
          type: "Expired",
          status: "True",
          reason: TreatyExpiredReason.Expired,
          message: `expired on ${spec.expiryDate}`,
        }
      : { type: "Expired", status: "False", reason: TreatyExpiredReason.InForce, message: "" },
    degraded.length > 0
      ? {
          type: "Degraded",
          status: "True",
          reason: degraded[0]!.reason,
          message: degraded.map((d) => d.message).join("; "),
        }
      : notDegraded(verdict),
    readyCondition(
      treaty,
      { expired, notYet, access: accessProblem(treaty, evidence.credentials) },
      degraded,
    ),
  ];
  const conditions: Condition[] = setConditions(
    treaty.status?.conditions,
    conds,
    treaty.metadata.generation,
    now,
  );
  const status: TreatyStatus = {
    ...(treaty.metadata.generation !== undefined
      ? { observedGeneration: treaty.metadata.generation }
      : {}),
    conditions,
    reputation: rep,
    ...(availability !== undefined ? { availability } : {}),
    ...(latency !== undefined ? { latencyMs: round(latency, 1) } : {}),
    activeJobs: evidence.activeJobs,
    gpuHoursThisPeriod: round(evidence.gpuSecondsThisPeriod / 3600, 6),
    periodStart: rfc3339(periodStart),
    ...(fill !== undefined ? { fillRate: round(fill) } : {}),
  };
  return { status, ...soonest(nextDateChange(spec, now), verdict.nextChangeAtMs, now) };
}

// Degraded=False: within the SLO, half-open (Probing) or closed again by probes (Recovered).
function notDegraded(verdict: AvailabilityVerdict): ConditionInput {
  const c = { type: "Degraded", status: "False", message: verdict.message } as const;
  if (verdict.state === "probing") return { ...c, reason: TreatyDegradedReason.Probing };
  if (verdict.breach) return { ...c, reason: TreatyDegradedReason.Recovered };
  return { ...c, reason: TreatyDegradedReason.WithinSLO };
}

// The sooner of the next date change and the breaker's next change (cool-down over, the
// oldest failure out of the window), so the status moves on time without new evidence.
function soonest(
  dates: { requeueAfterMs?: number },
  breakerAtMs: number | undefined,
  now: Date,
): { requeueAfterMs?: number } {
  if (breakerAtMs === undefined) return dates;
  const ms = Math.max(1000, breakerAtMs - now.getTime() + 1000);
  return { requeueAfterMs: Math.min(ms, dates.requeueAfterMs ?? Infinity) };
}

function readyCondition(
  treaty: Treaty,
  state: { expired: boolean; notYet: boolean; access: AccessProblem | undefined },
  degraded: readonly { reason: string; message: string }[],
): ConditionInput {
  const { spec } = treaty;
  const notReady = (reason: string, message: string): ConditionInput => ({
    type: "Ready",
    status: "False",
    reason,
    message,
  });
  if (state.expired) return notReady(R.Expired, `expired on ${spec.expiryDate}`);
  if (state.notYet) return notReady(R.NotYetEffective, `in force from ${spec.effectiveDate}`);
  if (spec.suspended) return notReady(R.Suspended, "spec.suspended is true");
  if (state.access) return notReady(state.access.reason, state.access.message);
  if (degraded.length > 0) {
    return notReady(R.Degraded, degraded.map((d) => d.message).join("; "));
  }
  return { type: "Ready", status: "True", reason: R.InForce, message: "eligible for routing" };
}

function degradedReasons(
  treaty: Treaty,
  m: {
    rep: number;
    verdict: AvailabilityVerdict;
    latency: number | undefined;
    unreachable: string | undefined;
  },
): { reason: string; message: string }[] {
  const { spec } = treaty;
  const { rep, verdict, latency, unreachable } = m;
  const out: { reason: string; message: string }[] = [];
  if (unreachable)
    out.push({
      reason: TreatyDegradedReason.Unreachable,
      message: `endpoint unreachable: ${unreachable}`,
    });
  if (rep < spec.reputationFloor) {
    out.push({
      reason: TreatyDegradedReason.ReputationBelowFloor,
      message: `reputation ${rep} below floor ${spec.reputationFloor}`,
    });
  }
  const slo = spec.slo;
  if (verdict.state === "open") {
    out.push({ reason: TreatyDegradedReason.AvailabilityBelowSLO, message: verdict.message });
  }
  if (slo?.maxLatencyMs !== undefined && latency !== undefined && latency > slo.maxLatencyMs) {
    out.push({
      reason: TreatyDegradedReason.LatencyAboveSLO,
      message: `p95 RTT ${round(latency, 1)} ms above SLO ${slo.maxLatencyMs} ms`,
    });
  }
  return out;
}

// Midnight UTC of the next effective/expiry date still ahead, so Ready flips on time.
function nextDateChange(spec: Treaty["spec"], now: Date): { requeueAfterMs?: number } {
  const ahead = [spec.effectiveDate, spec.expiryDate]
    .filter((d): d is string => d !== undefined)
    .map((d) => Date.parse(`${d}T00:00:00Z`) - now.getTime())
    .filter((ms) => ms > 0);
  return ahead.length > 0 ? { requeueAfterMs: Math.min(...ahead) + 1000 } : {};
}
