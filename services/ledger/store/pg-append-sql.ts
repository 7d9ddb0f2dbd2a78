/**
 * The single statement that writes one batch: its entries, the tree nodes they complete and
 * the batch's signed tree head. One statement is one atomic commit in autocommit mode and one
 * round trip — which matters on a busy machine, where every round trip waits for a CPU slice.
 * Binary columns travel as one concatenated bytea each and are cut apart server-side:
 * Postgres parses a bytea[] literal of a thousand receipts ~10× slower than one bytea.
 */
import type { TreeNode } from "../merkle.ts";
import { buf, type EntryRow, type TreeHeadRow } from "./pg-rows.ts";

const SQL = `
WITH entries AS (
  INSERT INTO ledger_entries (log_index, leaf_hash, digest, type, subject, issued_at, appended_at, receipt)
  SELECT $1::bigint + g - 1,
         substring($2::bytea FROM ((g - 1) * 32 + 1)::int FOR 32),
         substring($3::bytea FROM ((g - 1) * 32 + 1)::int FOR 32),
         t, s, ia, $7, substring($8::bytea FROM o + 1 FOR len)
    FROM unnest($4::text[], $5::text[], $6::timestamptz[], $9::int[], $10::int[])
      WITH ORDINALITY AS u(t, s, ia, o, len, g)
  RETURNING 1
), nodes AS (
  INSERT INTO ledger_nodes (level, idx, hash)
  SELECT l, i, substring($13::bytea FROM ((g - 1) * 32 + 1)::int FOR 32)
    FROM unnest($11::smallint[], $12::bigint[]) WITH ORDINALITY AS n(l, i, g)
  RETURNING 1
)
INSERT INTO ledger_tree_heads (tree_size, root_hash, checkpoint, created_at)
VALUES ($14, $15, $16, $7)`;

/** The statement and parameters appending `rows` (consecutive indices), `nodes` and `head`. */
export function appendStatement(
  rows: readonly EntryRow[],
  nodes: readonly TreeNode[],
  head: TreeHeadRow,
  now: Date,
): { text: string; values: unknown[] } {
  const lengths = rows.map((r) => r.receiptBytes.length);
  const offsets: number[] = [];
  lengths.reduce((off, len) => (offsets.push(off), off + len), 0);
  const inner = nodes.filter((n) => n.level > 0);
  return {
    text: SQL,
    values: [
      rows[0]!.logIndex,
      Buffer.concat(rows.map((r) => r.leafHash)),
      Buffer.concat(rows.map((r) => r.digest)),
      rows.map((r) => r.type),
      rows.map((r) => r.subject),
      rows.map((r) => r.issuedAt),
      now,
      Buffer.concat(rows.map((r) => r.receiptBytes)),
      offsets,
      lengths,
      inner.map((n) => n.level),
      inner.map((n) => n.index),
      Buffer.concat(inner.map((n) => n.hash)),
      head.treeSize,
      buf(head.rootHash),
      head.checkpoint,
    ],
  };
}

/** True for a unique-constraint violation (another writer got there first, or a duplicate). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === "23505";
}
