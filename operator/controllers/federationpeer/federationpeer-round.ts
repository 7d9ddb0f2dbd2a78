/**
 * How a sync round's outcome (services/federation/peer-sync.ts) reads as FederationPeer status
 * input: which reasons decide consistency, the checkpoints to mirror and the merged root of
 * the synced pair. Pure, table-tested.
 */
import { toHex } from "../../../services/ledger/canonical-json.ts";
import { parseNote } from "../../../services/ledger/checkpoint.ts";
import { mergedRoot } from "../../../services/federation/merged-root.ts";
import {
  PeerSyncReason,
  type PeerSyncOutcome,
  type PeerSyncReason as Reason,
} from "../../../services/federation/peer-sync.ts";
import type { SyncRound } from "./federationpeer-status.ts";

/**
 * Reasons of a round that ended after the peer's checkpoint was proven consistent with the one
 * we trusted (the push to the peer failed, or all went well).
 */
const CHECKED: ReadonlySet<Reason> = new Set([PeerSyncReason.Synced, PeerSyncReason.Refused]);

/** The merged root (hex) of two checkpoint notes, or undefined when they cannot be merged. */
export function mergedRootOfNotes(a: string, b: string): string | undefined {
  try {
    return toHex(mergedRoot(parseNote(a).body, parseNote(b).body).root);
  } catch {
    return undefined;
  }
}

/** The status input of one round. */
export function roundOf(o: PeerSyncOutcome): SyncRound {
  const consistent = !o.consistent ? false : CHECKED.has(o.reason) ? true : undefined;
  const us = o.peerCosignedUs;
  return {
    reachable: o.reachable,
    consistent,
    synced: o.synced,
    reason: o.reason,
    message: o.message,
    ...(o.trusted ? { peer: { size: o.trusted.size, root: o.trusted.rootHash } } : {}),
    ...(us
      ? { local: { size: us.size, root: us.rootHash, cosignedAt: new Date(us.cosignedAt * 1000) } }
      : {}),
    ...(o.synced && o.trusted && us
      ? { mergedRoot: mergedRootOfNotes(o.trusted.note, us.note) }
      : {}),
  };
}
