/**
 * The per-entry checks of a snapshot, one batch of lines at a time (ADR 0145): each entry line
 * is decoded, its receipt parsed and checked by the audit's rule (`entryProblem`: canonical
 * form, digest) and its leaf hash computed. Entries do not depend on each other, so restore
 * runs this in worker threads; the checks that do — log order, the Merkle frontier, tree heads,
 * the content hash — stay with {@link SnapshotChecker} on the main thread, which consumes the
 * results in file order. Pure: no I/O.
 */
import { parseDigest } from "../canonical-json.ts";
import { hashLeaf } from "../merkle.ts";
import { parseReceipt, type Receipt } from "../receipt.ts";
import type { EntryRow } from "../store/pg-rows.ts";
import { entryProblem } from "../verify-audit.ts";
import { encodeEntryTuples } from "./snapshot-copy.ts";
import {
  decodeEntryLine,
  SNAPSHOT_REFUSAL,
  SnapshotRefusal,
  type SnapshotRefusalCode,
} from "./snapshot-format.ts";

const dec = new TextDecoder();
const NEWLINE = 10;

/**
 * Why the line at `at` is refused. `stage` says which of the checker's steps found it:
 * "decode" (the line itself is malformed: refused before the order checks) or "check" (the
 * entry at log index `index` is bad: refused only once it is the entry expected next; `index`
 * is -1 for "decode").
 */
export interface BatchProblem {
  readonly at: number;
  readonly stage: "decode" | "check";
  readonly index: number;
  readonly code: SnapshotRefusalCode;
  readonly message: string;
  readonly entry: number | undefined;
}

/** A line of the batch that is not an entry (header, tree head, trailer, garbage). */
export interface OtherLine {
  /** Its position among the batch's lines. */
  readonly at: number;
  /** Its bytes in the batch, without the newline. */
  readonly start: number;
  readonly end: number;
}

/** What {@link checkEntryBatch} found; plain data, so it crosses threads by structured clone. */
export interface EntryBatch {
  /** Lines examined: up to the first problem (excluded), else all of them. */
  readonly lines: number;
  /** The log index of each good entry, in order. */
  readonly indexes: Float64Array;
  /** Their leaf hashes, 32 bytes each. */
  readonly leaves: Uint8Array;
  readonly others: readonly OtherLine[];
  readonly problem?: BatchProblem;
  /** The good entries' ledger_entries binary COPY tuples, when asked for. */
  readonly tuples?: Uint8Array;
}

/** Builds the stored row of an entry, or throws a refusal when the receipt is unreadable. */
export function entryRow(
  index: number,
  appendedAt: Date,
  bytes: Uint8Array,
): { row: EntryRow; receipt: Receipt } {
  let receipt;
  try {
    receipt = parseReceipt(JSON.parse(dec.decode(bytes)) as unknown);
  } catch (err) {
    throw new SnapshotRefusal(
      SNAPSHOT_REFUSAL.badEntry,
      `entry ${index}: receipt is unreadable (${(err as Error).message})`,
      index,
    );
  }
  const row = {
    logIndex: index,
    leafHash: hashLeaf(bytes),
    digest: parseDigest(receipt.digest),
    type: receipt.type,
    subject:
      typeof receipt.subject === "string" ? receipt.subject : JSON.stringify(receipt.subject),
    issuedAt: new Date(receipt.issuedAt),
    appendedAt,
    receiptBytes: bytes,
  };
  return { row, receipt };
}

/** Checks one entry on its own (not its place in the log); throws a refusal when it is bad. */
export function checkEntry(index: number, appendedAt: Date, bytes: Uint8Array): EntryRow {
  const { row, receipt } = entryRow(index, appendedAt, bytes);
  const problem = entryProblem(row, index, row.leafHash, {}, receipt);
  if (problem) throw new SnapshotRefusal(SNAPSHOT_REFUSAL.badEntry, problem, index);
  return row;
}

function refusal(err: unknown): SnapshotRefusal {
  if (err instanceof SnapshotRefusal) return err;
  throw err;
}

/**
 * Checks every entry line of `batch` — whole lines, each ending with a newline — and stops
 * at the first bad one. `tuples`: also encode the good entries for COPY (restore).
 */
export function checkEntryBatch(batch: Uint8Array, tuples: boolean): EntryBatch {
  const rows: EntryRow[] = [];
  const indexes: number[] = [];
  const leaves: Uint8Array[] = [];
  const others: OtherLine[] = [];
  let problem: BatchProblem | undefined;
  let at = 0;
  for (let start = 0; start < batch.length; at++) {
    let end = batch.indexOf(NEWLINE, start);
    if (end < 0) end = batch.length;
    const [from, line] = [start, batch.subarray(start, end)];
    start = end + 1;
    let index = -1;
    let stage: BatchProblem["stage"] = "decode";
    try {
      const e = decodeEntryLine(line);
      if (!e) {
        others.push({ at, start: from, end });
        continue;
      }
      index = e.index;
      stage = "check";
      const row = checkEntry(e.index, e.appendedAt, e.receipt);
      indexes.push(e.index);
      leaves.push(row.leafHash);
      if (tuples) rows.push(row);
    } catch (err) {
      const r = refusal(err);
      problem = { at, stage, index, code: r.code, message: r.message, entry: r.entry };
      break;
    }
  }
  const leafBytes = new Uint8Array(leaves.length * 32);
  leaves.forEach((h, k) => leafBytes.set(h, k * 32));
  return {
    lines: at,
    indexes: Float64Array.from(indexes),
    leaves: leafBytes,
    others,
    ...(problem ? { problem } : {}),
    ...(tuples ? { tuples: encodeEntryTuples(rows) } : {}),
  };
}
