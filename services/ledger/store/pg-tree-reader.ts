/**
 * Reading the stored Merkle tree: perfect-subtree hashes by id (level 0 from the entries,
 * above from ledger_nodes), proofs, the frontier of a size, and the optional in-memory copy
 * of the whole tree that answers proofs without a round trip.
 */
import type pg from "pg";
import {
  consistencyRanges,
  Frontier,
  inclusionRanges,
  mapLookup,
  nodeKey,
  perfectSubtrees,
  proofNodeIds,
  resolveProof,
  type Hash,
  type NodeId,
  type NodeLookup,
  type TreeNode,
} from "../merkle.ts";
import { NodeCache } from "./node-cache.ts";

/** A pool or a client. */
export type Queryable = Pick<pg.ClientBase, "query">;

/** The log size: one past the highest log index. */
export async function logSize(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ size: string }>(
    "SELECT coalesce(max(log_index) + 1, 0) AS size FROM ledger_entries",
  );
  return Number(rows[0]!.size);
}

/** Proofs and tree reads over the ledger tables. */
export class PgTreeReader {
  readonly pool: pg.Pool;
  /** In-memory tree for proofs, when enabled (see {@link warmCache}). */
  readonly cache: NodeCache | undefined;

  constructor(pool: pg.Pool, cacheTree: boolean) {
    this.pool = pool;
    this.cache = cacheTree ? new NodeCache() : undefined;
  }

  /** A lookup over the in-memory tree when it covers `treeSize`, else undefined. */
  #cached(treeSize: number): NodeLookup | undefined {
    const cache = this.cache;
    if (!cache || cache.size < treeSize) return undefined;
    return (id) => {
      const h = cache.get(id);
      if (!h) throw new Error(`merkle node ${nodeKey(id)} missing from the tree cache`);
      return h;
    };
  }

  /** Loads the whole stored tree into the in-memory cache (a consistent snapshot). */
  async warmCache(page = 100_000): Promise<void> {
    if (!this.cache) return;
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const size = await logSize(client);
      const nodes: TreeNode[] = [];
      for (let from = 0; from < size; from += page) {
        const { rows } = await client.query<{ i: string; h: Buffer }>(
          "SELECT log_index AS i, leaf_hash AS h FROM ledger_entries WHERE log_index >= $1 AND log_index < $2 ORDER BY log_index",
          [from, Math.min(size, from + page)],
        );
        for (const r of rows)
          nodes.push({ level: 0, index: Number(r.i), hash: new Uint8Array(r.h) });
      }
      for (let level = 1; 2 ** level <= size; level++) {
        const { rows } = await client.query<{ i: string; h: Buffer }>(
          "SELECT idx AS i, hash AS h FROM ledger_nodes WHERE level = $1 AND idx < $2 ORDER BY idx",
          [level, Math.floor(size / 2 ** level)],
        );
        for (const r of rows) nodes.push({ level, index: Number(r.i), hash: new Uint8Array(r.h) });
      }
      await client.query("COMMIT");
      this.cache.load(size, nodes);
    } finally {
      client.release();
    }
  }

  /** Fetches perfect-subtree hashes (level 0 from entries, above from ledger_nodes). */
  async getNodes(ids: readonly NodeId[], db: Queryable = this.pool): Promise<Map<string, Hash>> {
    const leaves = ids.filter((i) => i.level === 0).map((i) => i.index);
    const inner = ids.filter((i) => i.level > 0);
    const { rows } = await db.query<{ level: number; idx: string; hash: Buffer }>(
      `SELECT 0::smallint AS level, log_index AS idx, leaf_hash AS hash
         FROM ledger_entries WHERE log_index = ANY($1::bigint[])
       UNION ALL
       SELECT n.level, n.idx, n.hash FROM ledger_nodes n
         JOIN unnest($2::smallint[], $3::bigint[]) AS q(level, idx)
           ON n.level = q.level AND n.idx = q.idx`,
      [leaves, inner.map((i) => i.level), inner.map((i) => i.index)],
    );
    return new Map(rows.map((r) => [`${r.level}/${r.idx}`, new Uint8Array(r.hash)]));
  }

  /** RFC 6962 inclusion proof of leaf `index` in the tree of `treeSize`. */
  async inclusionProof(
    index: number,
    treeSize: number,
    db: Queryable = this.pool,
  ): Promise<Hash[]> {
    const ranges = inclusionRanges(index, treeSize);
    const lookup =
      this.#cached(treeSize) ?? mapLookup(await this.getNodes(proofNodeIds(ranges), db));
    return resolveProof(ranges, lookup);
  }

  /** RFC 6962 consistency proof between two tree sizes. */
  async consistencyProof(size1: number, size2: number): Promise<Hash[]> {
    const ranges = consistencyRanges(size1, size2);
    const lookup = this.#cached(size2) ?? mapLookup(await this.getNodes(proofNodeIds(ranges)));
    return resolveProof(ranges, lookup);
  }

  async loadFrontier(db: Queryable, size: number): Promise<Frontier> {
    const ids = perfectSubtrees(0, size);
    const found = await this.getNodes(ids, db);
    const lookup = mapLookup(found);
    return new Frontier(
      size,
      ids.map((id) => ({ ...id, hash: lookup(id) })),
    );
  }
}
