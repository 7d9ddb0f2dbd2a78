/**
 * The federation rows of the ledger database besides the witness's golden table (migration 5,
 * ADR 0084): the peers' cosignatures of our checkpoints (`ledger_peer_cosignatures`) and the
 * misbehaviour records that quarantine a peer (`ledger_federation_misbehaviour`). Both are
 * append-only. A misbehaviour record is written while the witness's golden table is held in
 * SHARE mode (no golden insert in flight, none admitted until it commits) and every golden
 * insert is skipped when a record exists, so no cosignature of that origin can slip in after it.
 */
import type pg from "pg";
import type { MisbehaviourEvidence } from "./peer-sync.ts";

/** Advisory lock class of the witness (two-key form, "vmwt"); the origin's hash is the key. */
const WITNESS_LOCK_CLASS = 0x766d7774;

type Db = Pick<pg.Pool, "query"> | pg.PoolClient;

/**
 * Takes the transaction-scoped misbehaviour lock on `origin` (inside an open transaction):
 * two records of one origin are written one after the other, the first one kept.
 */
export async function lockWitnessOrigin(client: pg.PoolClient, origin: string): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [
    WITNESS_LOCK_CLASS,
    origin,
  ]);
}

/** The first misbehaviour recorded for `origin` (the one that quarantined it), if any. */
export async function misbehaviourOf(
  db: Db,
  origin: string,
): Promise<MisbehaviourEvidence | undefined> {
  const { rows } = await db.query<{ evidence: MisbehaviourEvidence }>(
    `SELECT evidence FROM ledger_federation_misbehaviour WHERE origin = $1 ORDER BY seq LIMIT 1`,
    [origin],
  );
  return rows[0]?.evidence;
}

/**
 * Records `evidence` for its origin unless one is already recorded, under the witness's origin
 * lock; returns the evidence that quarantines the origin (the earlier one if there was one).
 */
export async function recordMisbehaviour(
  pool: pg.Pool,
  evidence: MisbehaviourEvidence,
): Promise<MisbehaviourEvidence> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    try {
      // The witness appends golden rows without a lock, each insert skipped while a record
      // exists (witness-service.ts appendGolden). SHARE mode waits for inserts in flight and
      // holds new ones until this record is committed; they then see it: no cosignature of
      // the origin is appended after its record.
      await client.query("LOCK TABLE ledger_witness_checkpoints IN SHARE MODE");
      await lockWitnessOrigin(client, evidence.origin);
      const earlier = await misbehaviourOf(client, evidence.origin);
      if (!earlier) {
        await client.query(
          `INSERT INTO ledger_federation_misbehaviour (origin, seq, kind, evidence, detected_at)
           VALUES ($1, 1, $2, $3, $4)`,
          [evidence.origin, evidence.kind, JSON.stringify(evidence), evidence.detectedAt],
        );
      }
      await client.query("COMMIT");
      return earlier ?? evidence;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
  }
}

/** A peer's cosignature of one of our checkpoints, as kept. */
export interface KeptCosignature {
  readonly size: number;
  readonly root: Uint8Array;
  /** Our checkpoint note with the peer's cosignature line. */
  readonly note: string;
  /** The cosignature's timestamp, POSIX seconds. */
  readonly cosignedAt: number;
}

/** The latest kept cosignature by the peer of `origin`, if any. */
export async function latestPeerCosignature(
  db: Db,
  origin: string,
): Promise<(KeptCosignature & { readonly seq: number }) | undefined> {
  const { rows } = await db.query<{
    seq: string;
    tree_size: string;
    root_hash: Buffer;
    note: string;
    cosigned_at: string;
  }>(
    `SELECT seq::text, tree_size::text, root_hash, note, cosigned_at::text
       FROM ledger_peer_cosignatures WHERE origin = $1 ORDER BY ledger_peer_cosignatures.seq DESC LIMIT 1`,
    [origin],
  );
  const r = rows[0];
  return (
    r && {
      seq: Number(r.seq),
      size: Number(r.tree_size),
      root: new Uint8Array(r.root_hash),
      note: r.note,
      cosignedAt: Number(r.cosigned_at),
    }
  );
}

/**
 * Keeps a peer's cosignature of our checkpoint: a new row when the size differs from the
 * latest kept one (a fresh cosignature of the same size adds nothing a verifier needs).
 * `seq` is the latest's + 1; a concurrent keeper collides on the primary key and loses.
 */
export async function keepPeerCosignature(
  pool: pg.Pool,
  origin: string,
  c: KeptCosignature,
  receivedAt: Date,
): Promise<void> {
  const latest = await latestPeerCosignature(pool, origin);
  if (latest && latest.size === c.size) return;
  try {
    await pool.query(
      `INSERT INTO ledger_peer_cosignatures
         (origin, seq, tree_size, root_hash, note, cosigned_at, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [origin, (latest?.seq ?? 0) + 1, c.size, c.root, c.note, c.cosignedAt, receivedAt],
    );
  } catch (err) {
    // A concurrent round kept one first (unique_violation on (origin, seq)): nothing is lost.
    if ((err as { code?: string }).code !== "23505") throw err;
  }
}
