/**
 * PostgreSQL binary COPY encoding of checked snapshot rows (ADR 0145): restore streams
 * `ledger_entries` and `ledger_nodes` with `COPY … FROM STDIN (FORMAT binary)` instead of
 * parameterised INSERTs, so neither side formats or parses text per value — bytea goes as raw
 * bytes, bigint and timestamptz as 8 big-endian bytes. Pure: encoding only.
 *
 * Format (PostgreSQL docs, "COPY — Binary Format"): an 11-byte signature, a 32-bit flags
 * field and a 32-bit header-extension length; then per tuple a 16-bit field count and, per
 * field, a 32-bit byte length followed by the bytes; then a 16-bit -1 trailer.
 */
import type { TreeNode } from "../merkle.ts";
import type { EntryRow } from "../store/pg-rows.ts";

/** `COPY … FROM STDIN` for the entries, in the column order {@link encodeEntries} writes. */
export const COPY_ENTRIES_SQL =
  "COPY ledger_entries (log_index, leaf_hash, digest, type, subject, issued_at, appended_at, receipt) FROM STDIN (FORMAT binary)";

/** `COPY … FROM STDIN` for the tree nodes, in the column order {@link encodeNodes} writes. */
export const COPY_NODES_SQL = "COPY ledger_nodes (level, idx, hash) FROM STDIN (FORMAT binary)";

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const HEADER_BYTES = SIGNATURE.length + 8;
const TRAILER_BYTES = 2;
/** Milliseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z). */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 2 ** 32;

function header(buf: Buffer): number {
  SIGNATURE.copy(buf, 0);
  buf.writeUInt32BE(0, SIGNATURE.length); // flags: no OIDs
  buf.writeUInt32BE(0, SIGNATURE.length + 4); // no header extension
  return HEADER_BYTES;
}

/** Writes a signed 64-bit integer that is exact as a JS number (|v| < 2^53). */
function int64(buf: Buffer, v: number, at: number): number {
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(v - hi * TWO_32, at + 4);
  return at + 8;
}

function field64(buf: Buffer, v: number, at: number): number {
  buf.writeInt32BE(8, at);
  return int64(buf, v, at + 4);
}

function bytes(buf: Buffer, b: Uint8Array, at: number): number {
  buf.writeInt32BE(b.length, at);
  buf.set(b, at + 4);
  return at + 4 + b.length;
}

function text(buf: Buffer, s: string, len: number, at: number): number {
  buf.writeInt32BE(len, at);
  buf.write(s, at + 4, len, "utf8");
  return at + 4 + len;
}

/** Microseconds since 2000-01-01 UTC: a timestamptz in binary form. */
function pgTime(d: Date): number {
  return (d.getTime() - PG_EPOCH_MS) * 1000;
}

/** The start of every binary COPY stream: signature, flags, no header extension. */
export const COPY_HEADER: Buffer = (() => {
  const b = Buffer.alloc(HEADER_BYTES);
  header(b);
  return b;
})();

/** The end of every binary COPY stream: a field count of -1. */
export const COPY_TRAILER: Buffer = Buffer.from([0xff, 0xff]);

/**
 * The tuples of `rows` for ledger_entries, without the stream's header and trailer: restore's
 * worker threads encode their batches with it and the main thread wraps them (ADR 0145).
 */
export function encodeEntryTuples(rows: readonly EntryRow[]): Buffer {
  const typeLen = rows.map((r) => Buffer.byteLength(r.type, "utf8"));
  const subjectLen = rows.map((r) => Buffer.byteLength(r.subject, "utf8"));
  let size = 0;
  rows.forEach((r, k) => {
    // field count, 8 lengths, bigint, two hashes, two timestamps, text and receipt bytes
    size += 2 + 8 * 4 + 8 + r.leafHash.length + r.digest.length + 16;
    size += typeLen[k]! + subjectLen[k]! + r.receiptBytes.length;
  });
  // Not from the shared pool: the buffer is handed to another thread.
  const buf = Buffer.allocUnsafeSlow(size);
  let at = 0;
  rows.forEach((r, k) => {
    buf.writeInt16BE(8, at);
    at = field64(buf, r.logIndex, at + 2);
    at = bytes(buf, r.leafHash, at);
    at = bytes(buf, r.digest, at);
    at = text(buf, r.type, typeLen[k]!, at);
    at = text(buf, r.subject, subjectLen[k]!, at);
    at = field64(buf, pgTime(r.issuedAt), at);
    at = field64(buf, pgTime(r.appendedAt), at);
    at = bytes(buf, r.receiptBytes, at);
  });
  return buf;
}

/** One complete binary COPY stream (header, tuples, trailer) of `rows` for ledger_entries. */
export function encodeEntries(rows: readonly EntryRow[]): Buffer {
  return Buffer.concat([COPY_HEADER, encodeEntryTuples(rows), COPY_TRAILER]);
}

/** One complete binary COPY stream of `nodes` for ledger_nodes (level > 0 only). */
export function encodeNodes(nodes: readonly TreeNode[]): Buffer {
  let size = HEADER_BYTES + TRAILER_BYTES;
  for (const n of nodes) size += 2 + 3 * 4 + 2 + 8 + n.hash.length;
  const buf = Buffer.allocUnsafe(size);
  let at = header(buf);
  for (const n of nodes) {
    buf.writeInt16BE(3, at);
    buf.writeInt32BE(2, at + 2);
    buf.writeInt16BE(n.level, at + 6);
    at = field64(buf, n.index, at + 8);
    at = bytes(buf, n.hash, at);
  }
  buf.writeInt16BE(-1, at);
  return buf;
}

/**
 * `COPY … TO STDOUT` of what an entry line needs — log index, appended time, receipt bytes —
 * for log indexes in [$start, $end); `snapshot create` reads pages with it (ADR 0145).
 */
export function copyEntriesOutSql(start: number, end: number): string {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end))
    throw new RangeError(`entry range: expected integers, got ${start}..${end}`);
  return `COPY (SELECT log_index, appended_at, receipt FROM ledger_entries WHERE log_index >= ${start} AND log_index < ${end} ORDER BY log_index) TO STDOUT (FORMAT binary)`;
}

/** One row of {@link copyEntriesOutSql}'s output. */
export interface CopiedEntry {
  readonly logIndex: number;
  readonly appendedAt: Date;
  readonly receipt: Buffer;
}

function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

/**
 * Decodes the complete binary COPY output of {@link copyEntriesOutSql}; receipts are views
 * into `buf`. Throws when the stream is not what that statement produces.
 */
export function decodeCopiedEntries(buf: Buffer): CopiedEntry[] {
  const bad = (why: string): Error => new Error(`COPY of ledger_entries: ${why}`);
  if (
    buf.length < HEADER_BYTES + TRAILER_BYTES ||
    !buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)
  )
    throw bad("not a binary COPY stream");
  let at = HEADER_BYTES + buf.readUInt32BE(SIGNATURE.length + 4);
  const out: CopiedEntry[] = [];
  for (;;) {
    const fields = buf.readInt16BE(at);
    at += 2;
    if (fields === -1) break;
    if (fields !== 3 || buf.readInt32BE(at) !== 8 || buf.readInt32BE(at + 12) !== 8)
      throw bad(`unexpected tuple at byte ${at - 2}`);
    const logIndex = readInt64(buf, at + 4);
    const appendedAt = new Date(Math.floor(readInt64(buf, at + 16) / 1000) + PG_EPOCH_MS);
    const len = buf.readInt32BE(at + 24);
    if (len < 0) throw bad(`entry ${logIndex}: receipt is null`);
    at += 28;
    out.push({ logIndex, appendedAt, receipt: buf.subarray(at, at + len) });
    at += len;
  }
  return out;
}
