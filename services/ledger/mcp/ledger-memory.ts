/**
 * The ledger as memory (issue 17): searching receipts and recording decisions, shared by the MCP
 * server and the CLI. `searchMemories` is the one place a
 * better search (the CLI's Postgres full-text `query`, issue 17) replaces this plain
 * case-insensitive substring match.
 */
import type pg from "pg";
import { digestString } from "../canonical-json.ts";
import type { ReceiptInput } from "../receipt.ts";
import { toEntry as toLedgerEntry, type LedgerEntry } from "../ledger-types.ts";
import { ENTRY_COLUMNS, toEntry as toRow, type RawEntry } from "../store/pg-rows.ts";

/** The receipt type of an architecture decision (an ADR recorded as a receipt). */
export const DECISION_RECEIPT_TYPE = "decision.recorded";

/** A search over receipts. */
export interface MemoryQuery {
  /** Words to look for in the receipt's type, subject and payload (all must occur). */
  readonly text: string;
  /** Only receipts of this type. */
  readonly type?: string;
  /** Only receipts issued at or after this time. */
  readonly since?: Date;
  readonly limit: number;
}

/** Escapes LIKE's wildcards so the user's text matches literally. */
export function likePattern(word: string): string {
  return `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Splits search text into the words every match must contain (at most 8). */
export function searchWords(text: string): string[] {
  return text
    .split(/\s+/)
    .map((w) => w.trim())
    .filter((w) => w.length > 0)
    .slice(0, 8);
}

/** Receipts whose type, subject or payload contain every word of the query, newest first. */
export async function searchMemories(
  db: Pick<pg.ClientBase, "query">,
  q: MemoryQuery,
): Promise<LedgerEntry[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  // Type, subject and payload: not the signatures, whose base64 would match by chance.
  const text = `type || ' ' || subject || ' ' || (convert_from(receipt, 'UTF8')::jsonb -> 'payload')::text`;
  for (const w of searchWords(q.text)) where.push(`${text} ILIKE $${args.push(likePattern(w))}`);
  if (q.type !== undefined) where.push(`type = $${args.push(q.type)}`);
  if (q.since !== undefined) where.push(`issued_at >= $${args.push(q.since)}`);
  const { rows } = await db.query<RawEntry>(
    `SELECT ${ENTRY_COLUMNS} FROM ledger_entries ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY log_index DESC LIMIT $${args.push(q.limit)}`,
    args,
  );
  return rows.map((r) => toLedgerEntry(toRow(r)));
}

/** The receipt input recording an architecture decision; the document is its artifact. */
export function decisionReceipt(d: {
  readonly title: string;
  readonly status: string;
  readonly fileName: string;
  readonly document: Uint8Array;
}): ReceiptInput {
  const text = new TextDecoder().decode(d.document);
  return {
    type: DECISION_RECEIPT_TYPE,
    subject: d.title,
    payload: {
      title: d.title,
      status: d.status,
      artifact: { name: d.fileName, sha256: digestString(d.document), size: d.document.length },
      text,
    },
  };
}
