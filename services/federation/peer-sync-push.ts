/**
 * The push half of a sync round (ADR 0084): this ledger's latest checkpoint to the peer's
 * `add-checkpoint`, with a consistency proof from the size the peer last cosigned; the
 * answer's cosignature checked against the peer's pinned witness key and kept.
 */
import { bytesEqual, fromHex } from "../ledger/canonical-json.ts";
import { CheckpointFormatError, parseNote } from "../ledger/checkpoint.ts";
import { addCosignature, cosignatureTimestamp } from "./cosignature.ts";
import { keepPeerCosignature, latestPeerCosignature, type KeptCosignature } from "./peer-store.ts";
import {
  clientFailure,
  view,
  type Pushed,
  type Round,
  type RoundResult,
} from "./peer-sync-round.ts";
import { PeerSyncReason } from "./peer-sync-types.ts";
import { WitnessClientError, WitnessClientReason } from "./witness-client.ts";

/** A cosignature line of the peer checked against our checkpoint, or why it is refused. */
function checkCosignatures(
  r: Round,
  body: string,
  lines: readonly string[],
  kept: KeptCosignature | undefined,
):
  | { ok: true; line: string; timestamp: number }
  | { ok: false; reason: PeerSyncReason; message: string } {
  const enc = new TextEncoder();
  const keptBody = kept && parseNote(kept.note).body;
  const latest = Math.floor(r.deps.clock.now().getTime() / 1000) + (r.deps.maxSkewSeconds ?? 300);
  for (const line of lines) {
    let sig;
    try {
      sig = parseNote(`${body}\n${line}`).signatures[0]!;
    } catch (err) {
      if (!(err instanceof CheckpointFormatError)) throw err;
      return {
        ok: false,
        reason: PeerSyncReason.Malformed,
        message: `cosignature line: ${err.message}`,
      };
    }
    const v = r.witnessVerifiers.find(
      (k) => k.name === sig.name && bytesEqual(k.keyHash, sig.keyHash),
    );
    if (!v) continue;
    const timestamp = cosignatureTimestamp(sig.signature);
    if (timestamp === undefined || !v.verify(enc.encode(body), sig.signature)) {
      const replay =
        keptBody !== undefined &&
        keptBody !== body &&
        v.verify(enc.encode(keptBody), sig.signature);
      return replay
        ? {
            ok: false,
            reason: PeerSyncReason.Replayed,
            message: `the peer answered with its cosignature of our size ${kept!.size}, not of the checkpoint pushed`,
          }
        : {
            ok: false,
            reason: PeerSyncReason.BadSignature,
            message: `the cosignature by ${sig.name} does not verify over our checkpoint`,
          };
    }
    if (timestamp > latest) {
      return {
        ok: false,
        reason: PeerSyncReason.BadSignature,
        message: `the cosignature by ${sig.name} is dated ${timestamp}, after ${latest}`,
      };
    }
    if (kept && timestamp < kept.cosignedAt) {
      return {
        ok: false,
        reason: PeerSyncReason.Replayed,
        message: `the cosignature by ${sig.name} is dated ${timestamp}, before the one kept (${kept.cosignedAt})`,
      };
    }
    return { ok: true, line, timestamp };
  }
  return {
    ok: false,
    reason: PeerSyncReason.UnknownKey,
    message: "no cosignature by the peer's pinned witness key in its answer",
  };
}

type Head = NonNullable<Awaited<ReturnType<Round["deps"]["ledger"]["latestTreeHead"]>>>;

/** Pushes `head` from `oldSize` (the client retries a 409 once from the peer's size). */
async function pushHead(r: Round, head: Head, oldSize: number): Promise<readonly string[]> {
  const { ledger } = r.deps;
  const res = await r.client.pushCheckpoint(
    head.checkpoint,
    head.treeSize,
    oldSize,
    async (old) => (await ledger.consistencyProof(old, head.treeSize)).map((h) => fromHex(h, 32)),
    r.signal,
  );
  return res.cosignatures;
}

const REFUSALS: readonly WitnessClientReason[] = [
  WitnessClientReason.NotFound,
  WitnessClientReason.Forbidden,
  WitnessClientReason.BadRequest,
  WitnessClientReason.StaleOldSize,
  WitnessClientReason.Conflict,
];

/** The result of a failed push: the peer's witness refused, or the request failed. */
function pushFailure(err: unknown, head: Head, pulled: RoundResult): RoundResult {
  if (err instanceof WitnessClientError && REFUSALS.includes(err.reason)) {
    return {
      ...pulled,
      reason: PeerSyncReason.Refused,
      message: `the peer's witness refused our checkpoint of size ${head.treeSize}: ${err.message}`,
    };
  }
  return {
    ...clientFailure(err, "pushing our checkpoint"),
    reachable: true,
    ...(pulled.peerCheckpoint ? { peerCheckpoint: pulled.peerCheckpoint } : {}),
  };
}

/**
 * Pushes (a request plus the client's one retry) one push may make. Each 409 names a larger
 * size than the one pushed from (golden rows only grow), so this bounds only a peer that
 * keeps moving; the sync here needs at most two: the peer's size is ahead of the one we kept
 * (it pulled from us since), and it moves again while we retry (it pulls from us meanwhile).
 */
const MAX_PUSHES = 3;

/** The peer's cosigned size of a 409 answer, or undefined for any other failure. */
function staleSize(err: unknown): number | undefined {
  return err instanceof WitnessClientError && err.reason === WitnessClientReason.StaleOldSize
    ? err.size
    : undefined;
}

/**
 * The push half: our latest checkpoint to the peer's witness, its cosignature checked and
 * kept. A 409 names the size the peer cosigned meanwhile (it pulled from us concurrently):
 * the push is made again from that size, with our newer head when that size is beyond the one
 * read, as long as the peer's size grows, at most {@link MAX_PUSHES} times.
 */
export async function push(r: Round, pulled: RoundResult): Promise<Pushed> {
  const { ledger, pool, clock } = r.deps;
  let head = await ledger.latestTreeHead();
  if (!head) {
    return { ...pulled, synced: true, message: "peer cosigned; our log is empty: nothing to push" };
  }
  const kept = await latestPeerCosignature(pool, r.peer.origin);
  let old = kept && kept.size <= head.treeSize ? kept.size : 0;
  let lines: readonly string[];
  for (let pushes = 1; ; pushes++) {
    try {
      lines = await pushHead(r, head, old);
      break;
    } catch (err) {
      const size = staleSize(err);
      if (size === undefined || size <= old || pushes >= MAX_PUSHES) {
        return pushFailure(err, head, pulled);
      }
      if (size > head.treeSize) {
        const newer = await ledger.latestTreeHead();
        if (!newer || newer.treeSize < size) return pushFailure(err, head, pulled);
        head = newer;
      }
      old = size;
    }
  }
  const body = parseNote(head.checkpoint).body;
  const c = checkCosignatures(r, body, lines, kept);
  if (!c.ok) return { ...pulled, reason: c.reason, message: c.message };
  const note = addCosignature(head.checkpoint, c.line);
  await keepPeerCosignature(
    pool,
    r.peer.origin,
    { size: head.treeSize, root: fromHex(head.rootHash, 32), note, cosignedAt: c.timestamp },
    clock.now(),
  );
  return {
    ...pulled,
    synced: true,
    message: `cosigned the peer's size ${pulled.peerCheckpoint?.size ?? 0}; the peer cosigned our size ${head.treeSize}`,
    fresh: { ...view(head.treeSize, fromHex(head.rootHash, 32), note), cosignedAt: c.timestamp },
  };
}
