/**
 * The pull half of a sync round (ADR 0084): fetch the peer's checkpoint, check origin and
 * signatures, prove it consistent with the golden checkpoint and cosign it through this
 * ledger's own witness decision, tell a replay from a rollback, and cross-check other
 * witnesses' views for a split view.
 */
import { bytesEqual } from "../ledger/canonical-json.ts";
import { NoteRefusal, openNote } from "../ledger/checkpoint.ts";
import type { Hash } from "../ledger/merkle.ts";
import { verifyConsistency } from "../ledger/merkle-verify.ts";
import { openLogNote } from "./misbehaviour-evidence.ts";
import { misbehaviourOf } from "./peer-store.ts";
import {
  checked,
  clientFailure,
  fetchedView,
  misbehaved,
  quarantinedOutcome,
  type Round,
  type RoundResult,
} from "./peer-sync-round.ts";
import { PeerSyncReason } from "./peer-sync-types.ts";
import {
  WitnessClient,
  WitnessClientError,
  WitnessClientReason,
  type FetchedCheckpoint,
} from "./witness-client.ts";
import { formatAddCheckpointRequest, WitnessReason } from "./witness-protocol.ts";

/** Checks a fetched checkpoint's origin and signatures; a partial outcome when it fails. */
function refuseOffered(r: Round, f: FetchedCheckpoint): RoundResult | undefined {
  const origin = f.checkpoint.origin;
  if (origin === r.deps.ledger.origin) {
    return checked(
      PeerSyncReason.OwnOrigin,
      `the peer serves a checkpoint of this ledger's own origin ${JSON.stringify(origin)}`,
      fetchedView(f),
    );
  }
  if (origin !== r.peer.origin) {
    return checked(
      PeerSyncReason.OriginMismatch,
      `the peer's checkpoint origin ${JSON.stringify(origin.slice(0, 100))} is not the pinned ${JSON.stringify(r.peer.origin)}`,
      fetchedView(f),
    );
  }
  const opened = openNote(f.note, r.logVerifiers, "peer checkpoint");
  if (opened.ok) return undefined;
  const reason =
    opened.code === NoteRefusal.Untrusted
      ? PeerSyncReason.UnknownKey
      : opened.code === NoteRefusal.BadSignature
        ? PeerSyncReason.BadSignature
        : PeerSyncReason.Malformed;
  return checked(reason, opened.reason, fetchedView(f));
}

const STALE = Symbol("stale");

const isNotFound = (err: unknown): boolean =>
  err instanceof WitnessClientError && err.reason === WitnessClientReason.NotFound;

/** A proof from the peer, or undefined when it says it has none (400/404). */
async function peerProof(r: Round, first: number, second: number): Promise<Hash[] | undefined> {
  try {
    return await r.client.consistencyProof(first, second, r.signal);
  } catch (err) {
    if (
      err instanceof WitnessClientError &&
      (err.reason === WitnessClientReason.BadRequest || err.reason === WitnessClientReason.NotFound)
    ) {
      return undefined;
    }
    throw err;
  }
}

/**
 * A checkpoint older than the trusted one: an old one replayed, a rollback, or (`overtaken`: it
 * was not older when the round asked) a concurrent push of a newer one, which is no fault.
 */
async function judgeOlder(
  r: Round,
  f: FetchedCheckpoint,
  trusted: { size: number; root: Hash; note: string },
  overtaken: boolean,
): Promise<RoundResult | undefined> {
  const n = f.checkpoint.size;
  const proof = await peerProof(r, n, trusted.size);
  const check =
    proof &&
    verifyConsistency({
      size1: n,
      size2: trusted.size,
      root1: f.checkpoint.root,
      root2: trusted.root,
      proof,
    });
  // Not older than what we trusted when we asked: a push of a newer one overtook this round.
  if (check?.ok && overtaken) return undefined;
  if (check?.ok) {
    return checked(
      PeerSyncReason.Replayed,
      `the peer served size ${n}, older than the trusted size ${trusted.size} (a prefix of it): an old checkpoint replayed`,
      fetchedView(f),
    );
  }
  const why = check ? check.reason : "the peer has no consistency proof";
  return await misbehaved(r, {
    kind: "RolledBack",
    trustedNote: trusted.note,
    offered: f,
    proof: proof && { first: n, second: trusted.size, hashes: proof },
    detail: `the peer served size ${n} after size ${trusted.size} was cosigned, and ${why}`,
  });
}

/** Runs a fetched checkpoint through the witness decision against the golden checkpoint. */
async function judge(
  r: Round,
  f: FetchedCheckpoint,
  floor: number,
): Promise<RoundResult | undefined | typeof STALE> {
  const golden = await r.witness.latest(r.peer.origin);
  const n = f.checkpoint.size;
  const g = golden?.size ?? 0;
  if (golden && n < g) return await judgeOlder(r, f, golden, n >= floor);
  let proof: Hash[] = [];
  if (golden && n > g && g > 0) {
    const p = await peerProof(r, g, n);
    if (!p) {
      return checked(
        PeerSyncReason.BadProof,
        `the peer has no consistency proof from the trusted size ${g} to its size ${n}`,
        fetchedView(f),
      );
    }
    proof = p;
  }
  const body = formatAddCheckpointRequest({ oldSize: g, proof, note: f.note });
  const res = await r.witness.addCheckpoint(new TextEncoder().encode(body));
  if (res.status === 200) return undefined;
  if (res.status === 409) return STALE;
  if (res.reason === WitnessReason.Quarantined) {
    const e = await misbehaviourOf(r.deps.pool, r.peer.origin);
    if (e) return quarantinedOutcome(e, true, fetchedView(f));
  }
  if (
    golden &&
    (res.reason === WitnessReason.SameSizeOtherRoot ||
      res.reason === WitnessReason.BadConsistencyProof)
  ) {
    return await misbehaved(r, {
      kind: "Forked",
      trustedNote: golden.note,
      offered: f,
      proof: n > g ? { first: g, second: n, hashes: proof } : undefined,
      detail: `the peer's size ${n} is not consistent with the trusted size ${g}: ${res.body.trim()}`,
    });
  }
  return checked(
    res.status === 403 ? PeerSyncReason.BadSignature : PeerSyncReason.Malformed,
    `our witness refused the peer's checkpoint: ${res.body.trim()}`,
    fetchedView(f),
  );
}

/**
 * Compares our trusted checkpoint with the one each cross-check witness cosigned for the peer;
 * a split view is a fork. Witnesses that cannot be read are skipped (they are not the peer).
 */
async function crossCheck(r: Round): Promise<RoundResult | undefined> {
  for (const url of r.peer.crossCheck ?? []) {
    // The peer's CA bundle is the peer's TLS roots, not those of other witnesses.
    const { caBundle: _peerRoots, ...client } = r.peer.client ?? {};
    const other = new WitnessClient({ ...client, url });
    let seen: FetchedCheckpoint | undefined;
    try {
      seen = await other.cosigned(r.peer.origin, r.signal);
    } catch (err) {
      if (err instanceof WitnessClientError) continue;
      throw err;
    }
    if (!seen || !openLogNote(seen.note, r.peer.origin, r.logVerifiers).ok) continue;
    const trusted = await r.witness.latest(r.peer.origin);
    if (!trusted) continue;
    const s = seen.checkpoint;
    if (s.size === trusted.size) {
      if (bytesEqual(s.root, trusted.root)) continue;
      return await misbehaved(r, {
        kind: "Forked",
        trustedNote: trusted.note,
        offered: seen,
        proof: undefined,
        detail: `witness ${url} cosigned size ${s.size} of the peer with another root: a split view`,
      });
    }
    const [a, b] = s.size < trusted.size ? [s, trusted] : [trusted, s];
    const proof = await peerProof(r, a.size, b.size);
    if (!proof) {
      return checked(
        PeerSyncReason.BadProof,
        `the peer has no consistency proof between size ${trusted.size} (ours) and ${s.size} (cosigned by ${url})`,
      );
    }
    const v = verifyConsistency({
      size1: a.size,
      size2: b.size,
      root1: a.root,
      root2: b.root,
      proof,
    });
    if (!v.ok) {
      return await misbehaved(r, {
        kind: "Forked",
        trustedNote: trusted.note,
        offered: seen,
        proof: { first: a.size, second: b.size, hashes: proof },
        detail: `witness ${url} cosigned size ${s.size} of the peer, not consistent with our size ${trusted.size}: a split view (${v.reason})`,
      });
    }
  }
  return undefined;
}

/**
 * The pull half: fetch, check, cosign (and cross-check). Reason `Synced` (with `synced` still
 * false and the peer's checkpoint) when the push half may follow.
 */
export async function pull(r: Round): Promise<RoundResult> {
  const recorded = await misbehaviourOf(r.deps.pool, r.peer.origin);
  // The trusted size before asking: only a checkpoint older than this one is a replay.
  const before = await r.witness.latest(r.peer.origin);
  const floor = before?.size ?? 0;
  let f: FetchedCheckpoint;
  try {
    f = await r.client.checkpoint(r.signal);
  } catch (err) {
    // A new peer ledger has no checkpoint yet (404): nothing to cosign, the push may follow.
    if (isNotFound(err) && !recorded && !before) {
      return checked(PeerSyncReason.Synced, "the peer's log is empty: nothing to cosign");
    }
    const failed = clientFailure(err, "fetching the peer's checkpoint");
    return recorded ? quarantinedOutcome(recorded, failed.reachable) : failed;
  }
  if (recorded) return quarantinedOutcome(recorded, true, fetchedView(f));
  const refused = refuseOffered(r, f);
  if (refused) return refused;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const judged = await judge(r, f, floor);
      if (judged === undefined) {
        return (
          (await crossCheck(r)) ??
          checked(PeerSyncReason.Synced, "the peer's checkpoint is cosigned", fetchedView(f))
        );
      }
      if (judged !== STALE) return judged;
    }
  } catch (err) {
    return clientFailure(err, "proving the peer's checkpoint consistent", fetchedView(f));
  }
  return checked(
    PeerSyncReason.Contended,
    "the trusted checkpoint moved three times during the round (concurrent pushes)",
    fetchedView(f),
  );
}
