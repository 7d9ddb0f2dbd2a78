/**
 * The state of one sync round and the outcome pieces its pull and push halves share
 * (services/federation/peer-sync.ts, ADR 0084): how client failures map to reasons, and how a
 * fork or rollback is recorded (quarantining the peer).
 */
import { toBase64, toHex } from "../ledger/canonical-json.ts";
import type { NoteKeyVerifier } from "../ledger/checkpoint.ts";
import type { Hash } from "../ledger/merkle.ts";
import { recordMisbehaviour } from "./peer-store.ts";
import {
  PeerSyncReason,
  type CheckpointView,
  type MisbehaviourEvidence,
  type PeerConfig,
  type PeerSyncDeps,
  type PeerSyncOutcome,
} from "./peer-sync-types.ts";
import {
  WitnessClientError,
  WitnessClientReason,
  type FetchedCheckpoint,
  type WitnessClient,
} from "./witness-client.ts";
import type { WitnessService } from "./witness-service.ts";

/** Everything one round works with. */
export interface Round {
  readonly deps: PeerSyncDeps;
  readonly peer: PeerConfig;
  readonly logVerifiers: readonly NoteKeyVerifier[];
  readonly witnessVerifiers: readonly NoteKeyVerifier[];
  readonly client: WitnessClient;
  readonly witness: WitnessService;
  readonly signal: AbortSignal | undefined;
}

/** The parts of an outcome a step decides; {@link finish} adds the stored views. */
export type RoundResult = Omit<PeerSyncOutcome, "trusted" | "peerCosignedUs">;
export type Pushed = RoundResult & {
  readonly fresh?: NonNullable<PeerSyncOutcome["peerCosignedUs"]>;
};

export const view = (size: number, root: Uint8Array, note: string): CheckpointView => ({
  size,
  rootHash: toHex(root),
  note,
});

export const fetchedView = (f: FetchedCheckpoint): CheckpointView =>
  view(f.checkpoint.size, f.checkpoint.root, f.note);

/** A round that ended without a verdict against the peer: it answered, nothing inconsistent. */
export const checked = (
  reason: PeerSyncReason,
  message: string,
  peerCheckpoint?: CheckpointView,
): RoundResult => ({
  reachable: true,
  consistent: true,
  synced: false,
  quarantined: false,
  reason,
  message,
  ...(peerCheckpoint ? { peerCheckpoint } : {}),
});

/** Maps a client failure to a partial outcome; anything else is rethrown. */
export function clientFailure(
  err: unknown,
  what: string,
  peerCheckpoint?: CheckpointView,
): RoundResult {
  if (!(err instanceof WitnessClientError)) throw err;
  const R = WitnessClientReason;
  const map: Record<WitnessClientReason, [PeerSyncReason, boolean]> = {
    [R.Unreachable]: [PeerSyncReason.Unreachable, false],
    [R.Timeout]: [PeerSyncReason.Timeout, false],
    [R.HttpError]: [PeerSyncReason.Unreachable, false],
    [R.Redirected]: [PeerSyncReason.Redirected, true],
    [R.Oversized]: [PeerSyncReason.Oversized, true],
    [R.SizeTooLarge]: [PeerSyncReason.SizeTooLarge, true],
    [R.Malformed]: [PeerSyncReason.Malformed, true],
    [R.NotFound]: [PeerSyncReason.Malformed, true],
    [R.Forbidden]: [PeerSyncReason.Malformed, true],
    [R.BadRequest]: [PeerSyncReason.Malformed, true],
    [R.StaleOldSize]: [PeerSyncReason.Malformed, true],
    [R.Conflict]: [PeerSyncReason.Malformed, true],
  };
  const [reason, reachable] = map[err.reason];
  return {
    reachable,
    consistent: true,
    synced: false,
    quarantined: false,
    reason,
    message: `${what}: ${err.message}`,
    ...(peerCheckpoint ? { peerCheckpoint } : {}),
  };
}

/** The partial outcome of a quarantined peer. */
export const quarantinedOutcome = (
  evidence: MisbehaviourEvidence,
  reachable: boolean,
  peerCheckpoint?: CheckpointView,
): RoundResult => ({
  reachable,
  consistent: false,
  synced: false,
  quarantined: true,
  reason: evidence.kind,
  message: `peer ${evidence.origin} is quarantined (${evidence.kind}, detected ${evidence.detectedAt}): ${evidence.detail}`,
  evidence,
  ...(peerCheckpoint ? { peerCheckpoint } : {}),
});

/** Records a fork or rollback (quarantining the peer) and returns its partial outcome. */
export async function misbehaved(
  r: Round,
  m: {
    readonly kind: MisbehaviourEvidence["kind"];
    readonly trustedNote: string;
    readonly offered: FetchedCheckpoint;
    readonly proof: { first: number; second: number; hashes: readonly Hash[] } | undefined;
    readonly detail: string;
  },
): Promise<RoundResult> {
  const { kind, trustedNote, offered, proof, detail } = m;
  const evidence: MisbehaviourEvidence = {
    kind,
    origin: r.peer.origin,
    logVkeys: r.peer.logVkeys,
    trustedNote,
    offeredNote: offered.note,
    ...(proof ? { proof: { ...proof, hashes: proof.hashes.map(toBase64) } } : {}),
    detectedAt: r.deps.clock.now().toISOString(),
    detail,
  };
  const stored = await recordMisbehaviour(r.deps.pool, evidence);
  return quarantinedOutcome(stored, true, fetchedView(offered));
}
