/**
 * Pure status computation of a FederationPeer: the Reachable, Consistent, Synced and Ready
 * conditions from one sync round (or from why no round ran), the mirrored checkpoint sizes and
 * roots, the federation receipt and the sticky inconsistency, and when the next round is due
 * (the interval with jitter). No I/O and no clock: the reconciler passes what it observed, `now`
 * and a random number.
 */
import { FederationPeerConditionType as T } from "../../../crds/constants.ts";
import type { FederationPeer, FederationPeerStatus } from "../../../crds/index.ts";
import { rfc3339 } from "../../runtime/conditions.ts";
import { findCondition, setConditions, type ConditionInput } from "../../runtime/index.ts";

/**
 * Reasons the controller itself sets (a sync round's own reasons — Unreachable, Forked,
 * RolledBack, BadSignature, … — come from services/federation/peer-sync.ts and are copied as
 * they are).
 */
export const FederationPeerReason = {
  /** Reachable=True. */
  Reachable: "Reachable",
  /** Consistent=True: the peer's log extends every checkpoint of it we trusted. */
  Consistent: "Consistent",
  /** Synced=True: we cosigned the peer's checkpoint and it cosigned ours. */
  Synced: "Synced",
  /** Ready=True. */
  Ready: "Ready",
  /** No round yet. */
  Pending: "Pending",
  /** Consistency was not decided by this round (it failed before). */
  NotChecked: "NotChecked",
  /** spec.suspended is true. */
  Suspended: "Suspended",
  /** The spec's trust anchor cannot be used (a key that does not parse, our own origin…). */
  InvalidTrustAnchor: "InvalidTrustAnchor",
  /** The operator runs without a witness key (VAULTMESH_WITNESS_KEY_FILE). */
  WitnessKeyMissing: "WitnessKeyMissing",
  /** The operator's ledger is away or has no checkpoint yet. */
  LedgerUnavailable: "LedgerUnavailable",
  /** A round could not run or finish for a reason of our own (an API or database error). */
  RoundFailed: "RoundFailed",
  /** The peer was caught forking or rolling back: syncing stopped for good. */
  Inconsistent: "Inconsistent",
} as const;
export type FederationPeerReason = (typeof FederationPeerReason)[keyof typeof FederationPeerReason];

/** Reasons of a round meaning the peer's history contradicts what we trusted: evidence. */
export const MISBEHAVIOUR_REASONS: ReadonlySet<string> = new Set(["Forked", "RolledBack"]);

/** A checkpoint as the status mirrors it. */
export interface CheckpointSummary {
  readonly size: number;
  /** Lowercase hex SHA-256. */
  readonly root: string;
}

/** What one sync round concluded (mapped from peer-sync's outcome by the reconciler). */
export interface SyncRound {
  readonly reachable: boolean;
  /** undefined: the round ended before consistency was decided. */
  readonly consistent: boolean | undefined;
  readonly synced: boolean;
  readonly reason: string;
  readonly message: string;
  /** The peer's checkpoint we trust after the round. */
  readonly peer?: CheckpointSummary | undefined;
  /** Our checkpoint the peer cosigned, and when. */
  readonly local?: (CheckpointSummary & { readonly cosignedAt?: Date | undefined }) | undefined;
  /** Hex merged root of the pair, when synced. */
  readonly mergedRoot?: string | undefined;
}

/** Why no round ran. */
export interface Blocked {
  readonly reason: FederationPeerReason;
  readonly message: string;
}

/** The misbehaviour of a peer, once caught. */
export type Inconsistency = NonNullable<FederationPeerStatus["inconsistency"]>;

/** Everything the status is computed from. */
export interface FederationPeerObservation {
  /** The round run this time, if any. */
  readonly round?: SyncRound | undefined;
  /** Why no round ran, if none did. */
  readonly blocked?: Blocked | undefined;
  /** A misbehaviour caught now or before (the previous one is kept when this is undefined). */
  readonly inconsistency?: Inconsistency | undefined;
  /** The FederationSynced receipt recorded for the latest pair. */
  readonly federationReceipt?:
    { readonly name: string; readonly namespace: string; readonly digest: string } | undefined;
  /** When the next round is due; undefined keeps the previous value. */
  readonly nextSyncTime?: Date | undefined;
}

/** Default jitter: each interval is stretched or shrunk by up to 10%. */
export const DEFAULT_JITTER = 0.1;

/**
 * Milliseconds until the next round: `intervalSeconds` spread by ±`jitter` with `random` in
 * [0, 1), so peers configured alike do not sync in lockstep.
 */
export function nextSyncDelayMs(
  intervalSeconds: number,
  random: number,
  jitter: number = DEFAULT_JITTER,
): number {
  const r = Math.min(Math.max(random, 0), 1);
  return Math.round(intervalSeconds * 1000 * (1 + jitter * (2 * r - 1)));
}

/**
 * Milliseconds until a round is due for `peer` at `now`: 0 when due (never synced, a new
 * generation, or past status.nextSyncTime).
 */
export function msUntilDue(peer: Pick<FederationPeer, "metadata" | "status">, now: Date): number {
  const s = peer.status;
  if (!s?.nextSyncTime || s.observedGeneration !== peer.metadata.generation) return 0;
  return Math.max(0, Date.parse(s.nextSyncTime) - now.getTime());
}

function reachableCondition(o: FederationPeerObservation): ConditionInput | undefined {
  const r = o.round;
  if (!r) return undefined;
  return r.reachable
    ? { type: T.Reachable, status: "True", reason: FederationPeerReason.Reachable, message: "" }
    : { type: T.Reachable, status: "False", reason: r.reason, message: r.message };
}

function consistentCondition(
  o: FederationPeerObservation,
  inconsistency: Inconsistency | undefined,
  had: boolean,
): ConditionInput | undefined {
  if (inconsistency) {
    const where = inconsistency.receipt
      ? `; evidence in Receipt ${inconsistency.receipt.namespace}/${inconsistency.receipt.name}`
      : "";
    return {
      type: T.Consistent,
      status: "False",
      reason: inconsistency.reason,
      message: `caught at ${inconsistency.detectedAt}${where}; syncing and cosigning stopped`,
    };
  }
  const r = o.round;
  if (r?.consistent === true) {
    const message = r.peer ? `the peer's log at size ${r.peer.size} extends what we trusted` : "";
    return { type: T.Consistent, status: "True", reason: FederationPeerReason.Consistent, message };
  }
  if (r?.consistent === false) {
    return { type: T.Consistent, status: "False", reason: r.reason, message: r.message };
  }
  // Undecided this time: a previous verdict stands; without one it is Unknown.
  if (had) return undefined;
  return {
    type: T.Consistent,
    status: "Unknown",
    reason: r ? FederationPeerReason.NotChecked : FederationPeerReason.Pending,
    message: r ? `not checked: ${r.reason}` : "no sync round yet",
  };
}

function syncedCondition(
  o: FederationPeerObservation,
  inconsistency: Inconsistency | undefined,
): ConditionInput {
  if (inconsistency) {
    return {
      type: T.Synced,
      status: "False",
      reason: FederationPeerReason.Inconsistent,
      message: `the peer's log ${inconsistency.reason === "RolledBack" ? "rolled back" : "forked"}: no more syncs with it`,
    };
  }
  if (o.blocked) return { type: T.Synced, status: "False", ...o.blocked };
  const r = o.round;
  if (!r) {
    return {
      type: T.Synced,
      status: "Unknown",
      reason: FederationPeerReason.Pending,
      message: "no sync round yet",
    };
  }
  if (!r.synced) return { type: T.Synced, status: "False", reason: r.reason, message: r.message };
  const parts = [
    r.peer ? `cosigned the peer's checkpoint at size ${r.peer.size}` : "",
    r.local ? `the peer cosigned ours at size ${r.local.size}` : "",
  ].filter(Boolean);
  return {
    type: T.Synced,
    status: "True",
    reason: FederationPeerReason.Synced,
    message: parts.join("; "),
  };
}

/**
 * Ready: True when Reachable, Consistent and Synced are; else the first False one by weight
 * (a contradicting history first, then an unreachable peer, then a failed sync), else the
 * first not reported or Unknown.
 */
export function readyCondition(conditions: FederationPeerStatus["conditions"]): ConditionInput {
  const weighted = [T.Consistent, T.Reachable, T.Synced].map((t) => ({
    t,
    c: findCondition(conditions, t),
  }));
  const blocking =
    weighted.find((w) => w.c?.status === "False") ?? weighted.find((w) => w.c?.status !== "True");
  if (!blocking) {
    return {
      type: T.Ready,
      status: "True",
      reason: FederationPeerReason.Ready,
      message: "reachable, consistent and synced",
    };
  }
  const { t, c } = blocking;
  return {
    type: T.Ready,
    status: "False",
    reason: c?.reason ?? FederationPeerReason.Pending,
    message: c ? `${t}: ${c.message || c.reason}` : `${t}: not reported yet`,
  };
}

const ORDER: readonly string[] = [T.Reachable, T.Consistent, T.Synced, T.Ready];

/** The status fields a round sets (only those it learned; the rest keep their value). */
function roundFields(
  r: SyncRound | undefined,
  synced: boolean,
  now: Date,
): Partial<FederationPeerStatus> {
  if (!r) return {};
  return {
    ...(r.peer ? { peerTreeSize: r.peer.size, peerRoot: r.peer.root } : {}),
    ...(r.local ? { localTreeSize: r.local.size, localRoot: r.local.root } : {}),
    ...(r.local?.cosignedAt ? { peerCosignedAt: rfc3339(r.local.cosignedAt) } : {}),
    ...(synced && r.mergedRoot ? { mergedRoot: r.mergedRoot } : {}),
    ...(synced ? { lastSyncTime: rfc3339(now) } : {}),
    lastAttemptTime: rfc3339(now),
  };
}

/** Computes the next status of `peer` from an observation. */
export function computeFederationPeerStatus(
  peer: FederationPeer,
  o: FederationPeerObservation,
  now: Date,
): FederationPeerStatus {
  const prev = peer.status ?? {};
  const gen = peer.metadata.generation;
  const inconsistency = o.inconsistency ?? prev.inconsistency;
  const had = findCondition(prev.conditions, T.Consistent) !== undefined;
  const inputs = [
    reachableCondition(o),
    consistentCondition(o, inconsistency, had),
    syncedCondition(o, inconsistency),
  ].filter((c): c is ConditionInput => c !== undefined);
  let conditions = setConditions(prev.conditions, inputs, gen, now);
  conditions = setConditions(conditions, [readyCondition(conditions)], gen, now);
  conditions.sort((a, b) => ORDER.indexOf(a.type) - ORDER.indexOf(b.type));
  const synced = o.round?.synced === true && inconsistency === undefined;
  const receipt = o.federationReceipt;
  return {
    ...prev,
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    conditions,
    ...roundFields(o.round, synced, now),
    ...(o.nextSyncTime ? { nextSyncTime: rfc3339(o.nextSyncTime) } : {}),
    ...(receipt
      ? {
          lastFederationReceipt: { name: receipt.name, namespace: receipt.namespace },
          lastFederationReceiptDigest: receipt.digest,
        }
      : {}),
    ...(inconsistency ? { inconsistency } : {}),
  };
}
