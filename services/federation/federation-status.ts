/**
 * What this ledger's database knows of each federation peer, for `remembrancer federation
 * status`: the checkpoint its witness last cosigned (the golden one), the latest cosignature of
 * our checkpoint the peer gave, whether the peer is quarantined, and the last FederationSynced
 * receipt with it. Read-only; the tables are the witness's and fed-sync's (migrations 4 and 5).
 */
import type pg from "pg";
import { toHex } from "../ledger/canonical-json.ts";
import { latestPeerCosignature, misbehaviourOf } from "./peer-store.ts";

/** One peer's state as the ledger database records it. */
export interface PeerLedgerState {
  readonly origin: string;
  /** The peer checkpoint this ledger's witness last cosigned. */
  readonly trusted?: {
    readonly treeSize: number;
    readonly rootHash: string;
    /** When our witness cosigned it (RFC 3339). */
    readonly cosignedAt: string;
  };
  /** Our latest checkpoint the peer cosigned. */
  readonly cosignedByPeer?: {
    readonly treeSize: number;
    readonly rootHash: string;
    /** The peer's cosignature time (RFC 3339). */
    readonly cosignedAt: string;
  };
  /** Set when a fork or rollback of the peer was recorded (it is never cosigned again). */
  readonly quarantined?: { readonly kind: string; readonly detectedAt: string };
}

/** Every origin the ledger has federation rows for, with its state, ordered by origin. */
export async function peerLedgerStates(db: Pick<pg.Pool, "query">): Promise<PeerLedgerState[]> {
  const { rows } = await db.query<{ origin: string }>(
    `SELECT origin FROM ledger_witness_checkpoints
     UNION SELECT origin FROM ledger_peer_cosignatures
     UNION SELECT origin FROM ledger_federation_misbehaviour
     ORDER BY origin`,
  );
  const out: PeerLedgerState[] = [];
  for (const { origin } of rows) {
    const golden = await db.query<{ tree_size: string; root_hash: Buffer; cosigned_at: Date }>(
      `SELECT tree_size::text, root_hash, cosigned_at FROM ledger_witness_checkpoints
        WHERE origin = $1 ORDER BY seq DESC LIMIT 1`,
      [origin],
    );
    const g = golden.rows[0];
    const kept = await latestPeerCosignature(db, origin);
    const bad = await misbehaviourOf(db, origin);
    out.push({
      origin,
      ...(g
        ? {
            trusted: {
              treeSize: Number(g.tree_size),
              rootHash: toHex(new Uint8Array(g.root_hash)),
              cosignedAt: g.cosigned_at.toISOString(),
            },
          }
        : {}),
      ...(kept
        ? {
            cosignedByPeer: {
              treeSize: kept.size,
              rootHash: toHex(kept.root),
              cosignedAt: new Date(kept.cosignedAt * 1000).toISOString(),
            },
          }
        : {}),
      ...(bad ? { quarantined: { kind: bad.kind, detectedAt: bad.detectedAt } } : {}),
    });
  }
  return out;
}
