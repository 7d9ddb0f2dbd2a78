/**
 * The ledger as an agent's memory (issue 17): searching receipts with the CLI's Postgres
 * full-text search (`query`, ADR 0142) and recording decisions in the form `record decision`
 * writes, so the MCP server and the CLI keep one home for each.
 */
import { digestString } from "../canonical-json.ts";
import { RECORD_TYPES } from "../cli/cli-record.ts";
import type { Ledger, LedgerEntry } from "../ledger.ts";
import type { ReceiptInput } from "../receipt.ts";
import { searchEntries, type SearchQuery } from "../store/pg-search.ts";

/** The receipt type of an architecture decision (what `record decision` writes). */
export const DECISION_RECEIPT_TYPE = RECORD_TYPES.decision;

/** One search hit: the logged entry with its rank and a snippet of the matching text. */
export interface MemoryHit {
  readonly entry: LedgerEntry;
  readonly rank: number;
  readonly snippet: string;
}

/** Ranked full-text search over receipts, each hit with its full logged entry. */
export async function searchMemories(ledger: Ledger, q: SearchQuery): Promise<MemoryHit[]> {
  const hits = await searchEntries(ledger.store.pool, q);
  const out: MemoryHit[] = [];
  for (const h of hits) {
    const entry = await ledger.getByIndex(h.logIndex);
    if (entry) out.push({ entry, rank: h.rank, snippet: h.snippet });
  }
  return out;
}

/** The receipt input recording an architecture decision; the document is its artifact. */
export function decisionReceipt(d: {
  readonly title: string;
  readonly status?: string;
  readonly fileName: string;
  readonly document: Uint8Array;
}): ReceiptInput {
  return {
    type: DECISION_RECEIPT_TYPE,
    subject: d.title,
    payload: {
      title: d.title,
      file: d.fileName,
      ...(d.status ? { status: d.status } : {}),
      text: new TextDecoder().decode(d.document),
      artifact: { name: d.fileName, sha256: digestString(d.document), size: d.document.length },
    },
  };
}
