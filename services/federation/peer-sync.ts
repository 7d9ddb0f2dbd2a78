/**
 * One sync round with a federation peer (issue 11, ADR 0084):
 *
 *  1. pull — fetch the peer's checkpoint, check it against the pinned origin and log vkeys
 *     (a peer with OUR origin is refused), fetch a consistency proof from our trusted ("golden")
 *     size, and run it through the same witness decision as a pushed checkpoint
 *     (WitnessService.addCheckpoint: atomic check-then-persist in ledger_witness_checkpoints),
 *     which cosigns it with our witness key;
 *  2. push — send OUR latest checkpoint to the peer's `add-checkpoint` with a consistency proof
 *     from the size the peer last cosigned (409 `text/x.tlog.size` → again from the peer's
 *     size while it grows, a bounded number of times), verify the returned cosignature against the peer's pinned witness vkey and
 *     keep it (append-only `ledger_peer_cosignatures`, migration 5).
 *
 * A fork or rollback quarantines the peer (append-only `ledger_federation_misbehaviour`): it is
 * never cosigned again, by a pull or a push, until an operator acts; the round returns
 * {@link MisbehaviourEvidence} — both log-signed notes and the failing proof — which
 * {@link checkMisbehaviourEvidence} checks offline against the pinned log keys.
 */
import { toBase64 } from "../ledger/canonical-json.ts";
import { COSIGNATURE_V1_ALG, parseVerifierKey } from "../ledger/checkpoint.ts";
import { cosignatureKeyVerifier } from "./cosignature.ts";
import { parseKey, pinnedLogVerifiers, PeerConfigError } from "./misbehaviour-evidence.ts";
import { latestPeerCosignature } from "./peer-store.ts";
import { pull } from "./peer-sync-pull.ts";
import { push } from "./peer-sync-push.ts";
import { view, type Pushed, type Round } from "./peer-sync-round.ts";
import {
  PeerSyncReason,
  type PeerConfig,
  type PeerSyncDeps,
  type PeerSyncOutcome,
} from "./peer-sync-types.ts";
import { WitnessClient } from "./witness-client.ts";
import { WitnessService } from "./witness-service.ts";

export {
  checkMisbehaviourEvidence,
  PeerConfigError,
  pinnedLogVerifiers,
  type EvidenceCheck,
} from "./misbehaviour-evidence.ts";
export {
  PeerSyncReason,
  type CheckpointView,
  type MisbehaviourEvidence,
  type PeerConfig,
  type PeerSyncDeps,
  type PeerSyncOutcome,
} from "./peer-sync-types.ts";

/**
 * Runs one sync round with `peer`: pull (fetch, verify against the pinned origin and log
 * vkeys, prove consistency from the golden size, cosign through the witness decision,
 * cross-check), then push (our latest checkpoint to the peer's add-checkpoint, its
 * cosignature verified and kept). Every failure a peer can cause ends in an outcome with a
 * reason, within the client deadlines; a {@link PeerConfigError} (bad pinned keys) or this
 * ledger's own database failing throws. `signal` aborts the round's requests.
 */
export async function syncPeer(
  deps: PeerSyncDeps,
  peer: PeerConfig,
  signal?: AbortSignal,
): Promise<PeerSyncOutcome> {
  const own = deps.ledger.origin;
  if (peer.origin === own) {
    // Nothing is asked of a peer pinned with our own origin: it would be indistinguishable
    // from this ledger to every witness (ADR 0081).
    return {
      reachable: false,
      consistent: true,
      synced: false,
      quarantined: false,
      reason: PeerSyncReason.OwnOrigin,
      message: `the peer's pinned origin ${JSON.stringify(own)} is this ledger's own`,
    };
  }
  const logVerifiers = pinnedLogVerifiers(peer.origin, peer.logVkeys);
  const witnessVerifiers = peer.witnessVkeys.map((vkey, i) => {
    const k = parseKey(vkey, `witnessVkeys[${i}]`);
    if (k.alg !== COSIGNATURE_V1_ALG) {
      throw new PeerConfigError(
        `witnessVkeys[${i}]: expected a cosignature/v1 key (type 0x04), got type 0x0${k.alg}`,
      );
    }
    return cosignatureKeyVerifier({ name: k.name, publicKey: toBase64(k.publicKey) });
  });
  const publicKeys = peer.logVkeys.map((k) => toBase64(parseVerifierKey(k).publicKey));
  const r: Round = {
    deps,
    peer,
    logVerifiers,
    witnessVerifiers,
    client: new WitnessClient({ ...peer.client, url: peer.url }),
    witness: new WitnessService({
      pool: deps.pool,
      witness: deps.witness,
      logs: new Map([[peer.origin, { origin: peer.origin, publicKeys }]]),
      clock: deps.clock,
    }),
    signal,
  };
  const pulled = await pull(r);
  if (pulled.reason !== PeerSyncReason.Synced) return await finish(r, pulled);
  return await finish(r, await push(r, pulled));
}

/** Adds the stored golden checkpoint and the latest kept cosignature of us to an outcome. */
async function finish(r: Round, p: Pushed): Promise<PeerSyncOutcome> {
  const { fresh, ...outcome } = p;
  const trusted = await r.witness.latest(r.peer.origin);
  const kept = await latestPeerCosignature(r.deps.pool, r.peer.origin);
  const us =
    fresh ?? (kept && { ...view(kept.size, kept.root, kept.note), cosignedAt: kept.cosignedAt });
  return {
    ...outcome,
    ...(trusted ? { trusted: view(trusted.size, trusted.root, trusted.note) } : {}),
    ...(us ? { peerCosignedUs: us } : {}),
  };
}
