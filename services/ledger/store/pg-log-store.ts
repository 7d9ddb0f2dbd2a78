/**
 * The Merkle log on Postgres. `appendBatch` is the only writer: one atomic statement per batch
 * (group commit) at the cached frontier, or, when another writer got there first or a digest
 * is already logged, a transaction under an advisory lock that skips logged digests
 * (idempotency) and re-reads the frontier. Unique log indices make a fork impossible either
 * way. Proofs for the new entries come from memory; others from pg-tree-reader.ts.
 */
import type pg from "pg";
import { toHex } from "../canonical-json.ts";
import {
  inclusionRanges,
  mapLookup,
  nodeKey,
  resolveProof,
  type Frontier,
  type Hash,
  type TreeNode,
} from "../merkle.ts";
import { appendStatement, isUniqueViolation } from "./pg-append-sql.ts";
import {
  ENTRY_COLUMNS,
  toEntry,
  toTreeHead,
  TREE_HEAD_SELECT,
  type EntryRow,
  type RawEntry,
  type RawTreeHead,
  type TreeHeadRow,
} from "./pg-rows.ts";
import { logSize, PgTreeReader, type Queryable } from "./pg-tree-reader.ts";

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

/** One batch, planned against a frontier. */
interface Plan {
  readonly frontier: Frontier;
  readonly base: readonly TreeNode[];
  readonly fresh: readonly EntryRow[];
  readonly created: readonly TreeNode[];
  readonly byDigest: Map<string, EntryRow>;
  head: TreeHeadRow | undefined;
}

/** A leaf waiting to be appended. */
export interface PendingLeaf {
  readonly digest: Uint8Array;
  readonly leafHash: Hash;
  readonly receiptBytes: Uint8Array;
  readonly type: string;
  readonly subject: string;
  readonly issuedAt: Date;
}

/** What a batch append produced, in input order. */
export interface AppendOutcome {
  readonly entries: readonly { readonly row: EntryRow; readonly existing: boolean }[];
  /** The tree head every returned proof leads to. */
  readonly treeHead: TreeHeadRow;
  readonly proofs: readonly Hash[][];
}

/** Signs a checkpoint for (size, root); runs inside the append transaction. */
export type HeadSigner = (treeSize: number, root: Hash) => string;

const MAX_LOCKED_ATTEMPTS = 10;
const DEFAULT_LOCK_KEY = 0x766d6170; // "vmap"

/** Postgres-backed Merkle log storage. */
export class PgLogStore extends PgTreeReader {
  readonly #lockKey: number;
  #frontier: Frontier | undefined;

  constructor(
    pool: pg.Pool,
    opts: { readonly lockKey?: number; readonly cacheTree?: boolean } = {},
  ) {
    super(pool, opts.cacheTree ?? false);
    this.#lockKey = opts.lockKey ?? DEFAULT_LOCK_KEY;
  }

  /** Assigns indices to the leaves not yet logged and computes their nodes and tree head. */
  #plan(
    frontier: Frontier,
    leaves: readonly PendingLeaf[],
    found: Map<string, EntryRow>,
    signHead: HeadSigner,
    now: Date,
  ): Plan {
    const base = [...frontier.nodes];
    const fresh: EntryRow[] = [];
    const created: TreeNode[] = [];
    const byDigest = new Map(found);
    for (const leaf of leaves) {
      const key = toHex(leaf.digest);
      if (byDigest.has(key)) continue;
      const row: EntryRow = { ...leaf, logIndex: frontier.size, appendedAt: now };
      byDigest.set(key, row);
      fresh.push(row);
      created.push(...frontier.append(leaf.leafHash));
    }
    const root = frontier.root();
    const head =
      fresh.length > 0
        ? {
            treeSize: frontier.size,
            rootHash: root,
            checkpoint: signHead(frontier.size, root),
            createdAt: now,
          }
        : undefined;
    return { frontier, base, fresh, created, byDigest, head };
  }

  /**
   * Appends a batch durably; duplicates (by digest) return their existing entries.
   *
   * Fast path: with the frontier cached, one autocommitted statement writes the batch at the
   * cached size. If another process appended meanwhile (or a digest was already logged), a
   * unique constraint (log index, digest) refuses the whole statement and the locked path
   * runs: advisory lock, look up existing digests, re-read size and frontier, write, commit.
   */
  async appendBatch(
    leaves: readonly PendingLeaf[],
    signHead: HeadSigner,
    now: Date,
  ): Promise<AppendOutcome> {
    if (this.#frontier) {
      const plan = this.#plan(this.#frontier.clone(), leaves, new Map(), signHead, now);
      try {
        await this.pool.query(appendStatement(plan.fresh, plan.created, plan.head!, now));
        return await this.#done(leaves, plan);
      } catch (err) {
        this.#frontier = undefined;
        if (!isUniqueViolation(err)) throw err;
      }
    }
    // A fast-path writer in another process does not take the lock, so the locked path can
    // lose a race for the same index too; it re-reads and tries again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#appendLocked(leaves, signHead, now);
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= MAX_LOCKED_ATTEMPTS) throw err;
      }
    }
  }

  async #appendLocked(
    leaves: readonly PendingLeaf[],
    signHead: HeadSigner,
    now: Date,
  ): Promise<AppendOutcome> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1)", [this.#lockKey]);
      const found = await this.#existing(client, leaves);
      const size = await logSize(client);
      const frontier =
        this.#frontier?.size === size
          ? this.#frontier.clone()
          : await this.loadFrontier(client, size);
      const plan = this.#plan(frontier, leaves, found, signHead, now);
      if (plan.head) await client.query(appendStatement(plan.fresh, plan.created, plan.head, now));
      else {
        const latest = await this.latestTreeHead(client);
        if (!latest) throw new Error("ledger has entries but no tree head");
        plan.head = latest;
      }
      await client.query("COMMIT");
      return await this.#done(leaves, plan);
    } catch (err) {
      this.#frontier = undefined;
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async #done(leaves: readonly PendingLeaf[], plan: Plan): Promise<AppendOutcome> {
    this.#frontier = plan.frontier;
    const first = plan.fresh[0];
    if (first) this.cache?.extend(first.logIndex, plan.frontier.size, plan.created);
    const memo = new Map<string, Hash>(
      [...plan.base, ...plan.created].map((n) => [nodeKey(n), n.hash]),
    );
    const fresh = new Set(plan.fresh.map((f) => f.logIndex));
    return await this.#outcome(leaves, plan.byDigest, fresh, plan.head!, memo);
  }

  async #outcome(
    leaves: readonly PendingLeaf[],
    byDigest: ReadonlyMap<string, EntryRow>,
    fresh: ReadonlySet<number>,
    head: TreeHeadRow,
    memo: ReadonlyMap<string, Hash>,
  ): Promise<AppendOutcome> {
    const entries = leaves.map((l) => {
      const row = byDigest.get(toHex(l.digest))!;
      return { row, existing: !fresh.has(row.logIndex) };
    });
    const lookup = mapLookup(memo);
    const ranges = new Map<string, Hash>();
    const proofs: Hash[][] = [];
    for (const e of entries) {
      proofs.push(
        e.existing
          ? await this.inclusionProof(e.row.logIndex, head.treeSize)
          : resolveProof(inclusionRanges(e.row.logIndex, head.treeSize), lookup, ranges),
      );
    }
    return { entries, treeHead: head, proofs };
  }

  async #existing(db: Queryable, leaves: readonly PendingLeaf[]): Promise<Map<string, EntryRow>> {
    const { rows } = await db.query<RawEntry>(
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE digest = ANY(ARRAY(
         SELECT substring($1::bytea FROM (g * 32 + 1)::int FOR 32) FROM generate_series(0, $2 - 1) AS g))`,
      [concat(leaves.map((l) => l.digest)), leaves.length],
    );
    return new Map(rows.map((r) => [r.digest.toString("hex"), toEntry(r)]));
  }

  /** The newest tree head (with its stamp, if published), or undefined for an empty log. */
  async latestTreeHead(db: Queryable = this.pool): Promise<TreeHeadRow | undefined> {
    const { rows } = await db.query<RawTreeHead>(
      `${TREE_HEAD_SELECT} ORDER BY h.tree_size DESC LIMIT 1`,
    );
    return rows[0] ? toTreeHead(rows[0]) : undefined;
  }
}
