/**
 * Full-text search over the ledger's receipts (migration 7, ADR 0142): Postgres
 * `websearch_to_tsquery` against the stored `search` column, ranked with `ts_rank_cd`, with a
 * `ts_headline` snippet of the matching text (a decision's ADR text, else the payload).
 */
import type pg from "pg";

type Queryable = Pick<pg.ClientBase, "query">;

/** A search request. */
export interface SearchQuery {
  /** Free text: words, "quoted phrases", `or`, `-excluded` (websearch syntax). */
  readonly text: string;
  /** Only this receipt type. */
  readonly type?: string;
  /** Only receipts issued at or after this time. */
  readonly since?: Date;
  /** @default 20 */
  readonly limit?: number;
}

/** One ranked hit. */
export interface SearchHit {
  readonly logIndex: number;
  /** `sha256:<hex>` receipt digest. */
  readonly digest: string;
  readonly type: string;
  readonly subject: string;
  readonly issuedAt: string;
  readonly rank: number;
  /** Matching text with hits between « and ». */
  readonly snippet: string;
}

const SQL = `
SELECT log_index, digest, type, subject, issued_at, ts_rank_cd(search, q) AS rank,
       ts_headline('english',
         coalesce(ledger_receipt_json(receipt) -> 'payload' ->> 'text',
                  subject || ' ' || (ledger_receipt_json(receipt) -> 'payload')::text),
         q, 'StartSel=«, StopSel=», MaxWords=30, MinWords=8, MaxFragments=2') AS snippet
  FROM ledger_entries, websearch_to_tsquery('english', $1) AS q
 WHERE search @@ q
   AND ($2::text IS NULL OR type = $2)
   AND ($3::timestamptz IS NULL OR issued_at >= $3)
 ORDER BY rank DESC, log_index DESC
 LIMIT $4`;

/** Runs a ranked full-text search. */
export async function searchEntries(db: Queryable, s: SearchQuery): Promise<SearchHit[]> {
  const { rows } = await db.query<{
    log_index: string;
    digest: Buffer;
    type: string;
    subject: string;
    issued_at: Date;
    rank: number;
    snippet: string;
  }>(SQL, [s.text, s.type ?? null, s.since ?? null, s.limit ?? 20]);
  return rows.map((r) => ({
    logIndex: Number(r.log_index),
    digest: `sha256:${r.digest.toString("hex")}`,
    type: r.type,
    subject: r.subject,
    issuedAt: r.issued_at.toISOString(),
    rank: Number(r.rank.toFixed(4)),
    snippet: r.snippet.replace(/\s+/g, " ").trim(),
  }));
}
