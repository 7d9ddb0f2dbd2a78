/**
 * The ledger snapshot format (ADR 0140): gzip-compressed NDJSON, one record per line —
 * a header (origin, identity, public keys), every entry in log order with each signed tree
 * head right after the entry that completes it, and a trailer whose signed statement binds
 * the SHA-256 of every line before it, the entry count and the final root. An entry line is
 * `{"i":N,"a":"<appended_at>","r":<receipt>}` with the receipt's exact canonical bytes
 * spliced in, so they come back byte for byte without re-serialising.
 * Pure: encoding and decoding only.
 */
import { canonicalBytes, fromBase64, toBase64, toHex } from "../canonical-json.ts";
import type { KeyRow } from "../store/pg-log-queries.ts";
import type { EntryRow, TreeHeadRow } from "../store/pg-rows.ts";

/** The format tag in the header and the statement. */
export const SNAPSHOT_FORMAT = "vaultmesh.cloud/ledger-snapshot/v1";

/** Stable codes of why a snapshot is refused. */
export const SNAPSHOT_REFUSAL = {
  malformed: "snapshot-malformed",
  truncated: "snapshot-truncated",
  badEntry: "snapshot-bad-entry",
  outOfOrder: "snapshot-out-of-order",
  badTreeHead: "snapshot-bad-tree-head",
  badStatement: "snapshot-bad-statement",
  untrustedSigner: "snapshot-untrusted-signer",
  badTimestamp: "snapshot-bad-timestamp",
  targetNotEmpty: "snapshot-target-not-empty",
} as const;

/** One of {@link SNAPSHOT_REFUSAL}. */
export type SnapshotRefusalCode = (typeof SNAPSHOT_REFUSAL)[keyof typeof SNAPSHOT_REFUSAL];

/** Why a snapshot does not verify; `entry` is the first bad log index when one is known. */
export class SnapshotRefusal extends Error {
  override readonly name = "SnapshotRefusal";
  readonly code: SnapshotRefusalCode;
  readonly entry: number | undefined;
  constructor(code: SnapshotRefusalCode, message: string, entry?: number) {
    super(message);
    this.code = code;
    this.entry = entry;
  }
}

/** A recorded public key with its recording time. */
export interface SnapshotKey extends KeyRow {
  readonly createdAt: string;
}

/** The first line. */
export interface SnapshotHeader {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly origin?: string;
  readonly identity?: { readonly source: string; readonly createdAt: string };
  readonly keys: readonly SnapshotKey[];
  readonly createdAt: string;
}

/** What the trailer's signature (and optional TSA token) covers. */
export interface SnapshotStatement {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly origin: string;
  readonly treeSize: number;
  /** Hex RFC 6962 root at treeSize. */
  readonly rootHash: string;
  readonly treeHeads: number;
  /** Hex SHA-256 of every byte (uncompressed) before the trailer line. */
  readonly contentSha256: string;
  readonly createdAt: string;
}

/** The last line. */
export interface SnapshotTrailer {
  readonly statement: SnapshotStatement;
  readonly signature: { readonly keyId: string; readonly value: string };
  /** base64 RFC 3161 TimeStampResp over the canonical statement. */
  readonly timestampToken?: string;
}

/** The bytes the trailer's signature and token cover. */
export function statementBytes(s: SnapshotStatement): Uint8Array {
  return canonicalBytes(s);
}

const dec = new TextDecoder();

const LINE_END = Buffer.from("}\n");

/** Encodes an entry line (with its newline). */
export function entryLine(
  row: Pick<EntryRow, "logIndex" | "appendedAt"> & { readonly receipt: Uint8Array },
): Buffer {
  const prefix = `{"i":${row.logIndex},"a":"${row.appendedAt.toISOString()}","r":`;
  const buf = Buffer.allocUnsafe(prefix.length + row.receipt.length + LINE_END.length);
  const at = buf.write(prefix, 0, "latin1");
  buf.set(row.receipt, at);
  LINE_END.copy(buf, at + row.receipt.length);
  return buf;
}

/** Encodes a tree head line. */
export function treeHeadLine(h: TreeHeadRow): Buffer {
  const s = h.stamp;
  const head = {
    treeSize: h.treeSize,
    rootHash: toHex(h.rootHash),
    checkpoint: h.checkpoint,
    createdAt: h.createdAt.toISOString(),
    ...(s
      ? {
          stamp: {
            createdAt: s.createdAt.toISOString(),
            ...(s.openpgpSignature ? { openpgpSignature: s.openpgpSignature } : {}),
            ...(s.tsaToken ? { tsaToken: toBase64(s.tsaToken) } : {}),
            ...(s.genTime ? { genTime: s.genTime.toISOString() } : {}),
          },
        }
      : {}),
  };
  return Buffer.from(`${JSON.stringify({ h: head })}\n`);
}

/** Encodes any JSON line (header, trailer). */
export function jsonLine(key: "header" | "end", value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify({ [key]: value })}\n`);
}

/** A decoded line. */
export type SnapshotLine =
  | {
      readonly kind: "entry";
      readonly index: number;
      readonly appendedAt: Date;
      readonly receipt: Uint8Array;
    }
  | { readonly kind: "head"; readonly head: TreeHeadRow }
  | { readonly kind: "header"; readonly header: SnapshotHeader }
  | { readonly kind: "end"; readonly trailer: SnapshotTrailer };

const ENTRY_PREFIX = /^\{"i":(\d{1,16}),"a":"([0-9T:.Z-]{20,30})","r":/;
const BRACE = 0x7d;

function malformed(what: string, entry?: number): SnapshotRefusal {
  return new SnapshotRefusal(SNAPSHOT_REFUSAL.malformed, what, entry);
}

function decodeHead(v: Record<string, unknown>): TreeHeadRow {
  const size = v.treeSize;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size <= 0)
    throw malformed("tree head line: treeSize: expected a positive integer");
  if (typeof v.rootHash !== "string" || !/^[0-9a-f]{64}$/.test(v.rootHash))
    throw malformed(`tree head ${size}: rootHash: expected 64 hex digits`);
  if (typeof v.checkpoint !== "string" || typeof v.createdAt !== "string")
    throw malformed(`tree head ${size}: checkpoint and createdAt: expected strings`);
  const s = v.stamp as Record<string, unknown> | undefined;
  const date = (x: unknown, field: string): Date => {
    const d = new Date(typeof x === "string" ? x : "");
    if (Number.isNaN(d.getTime())) throw malformed(`tree head ${size}: ${field}: expected a date`);
    return d;
  };
  const head = {
    treeSize: size,
    rootHash: Buffer.from(v.rootHash, "hex"),
    checkpoint: v.checkpoint,
    createdAt: date(v.createdAt, "createdAt"),
  };
  if (!s) return head;
  return {
    ...head,
    stamp: {
      treeSize: size,
      createdAt: date(s.createdAt, "stamp.createdAt"),
      ...(typeof s.openpgpSignature === "string" ? { openpgpSignature: s.openpgpSignature } : {}),
      ...(typeof s.tsaToken === "string" ? { tsaToken: fromBase64(s.tsaToken) } : {}),
      ...(s.genTime !== undefined ? { genTime: date(s.genTime, "stamp.genTime") } : {}),
    },
  };
}

/** An entry line's parts. */
export type EntryLine = Extract<SnapshotLine, { kind: "entry" }>;

/**
 * Decodes `line` when it is an entry line, undefined when it is any other kind; throws a
 * refusal for an entry line that is cut short or has a bad time. The worker threads of
 * restore use it to pick out the entry lines they check (ADR 0145).
 */
export function decodeEntryLine(line: Uint8Array): EntryLine | undefined {
  const m = ENTRY_PREFIX.exec(dec.decode(line.subarray(0, 64)));
  if (!m) return undefined;
  if (line[line.length - 1] !== BRACE)
    throw malformed(`entry ${m[1]}: line is cut short`, Number(m[1]));
  const appendedAt = new Date(m[2]!);
  if (Number.isNaN(appendedAt.getTime()))
    throw malformed(`entry ${m[1]}: bad appended time`, Number(m[1]));
  return {
    kind: "entry",
    index: Number(m[1]),
    appendedAt,
    receipt: line.subarray(m[0].length, line.length - 1),
  };
}

/** Decodes one line (without its newline); `after` is the last entry index seen, for errors. */
export function decodeLine(line: Buffer, after: number): SnapshotLine {
  const entry = decodeEntryLine(line);
  if (entry) return entry;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(dec.decode(line)) as Record<string, unknown>;
  } catch {
    throw malformed(`unreadable line after entry ${after}`, after + 1);
  }
  if (v && typeof v.h === "object" && v.h !== null)
    return { kind: "head", head: decodeHead(v.h as Record<string, unknown>) };
  if (v && typeof v.header === "object" && v.header !== null) {
    const h = v.header as SnapshotHeader;
    if (h.format !== SNAPSHOT_FORMAT || !Array.isArray(h.keys))
      throw malformed(`header: expected format ${SNAPSHOT_FORMAT} with keys`);
    return { kind: "header", header: h };
  }
  if (v && typeof v.end === "object" && v.end !== null) {
    const t = v.end as SnapshotTrailer;
    if (typeof t.statement !== "object" || typeof t.signature?.value !== "string")
      throw malformed("trailer: expected a statement and a signature");
    return { kind: "end", trailer: t };
  }
  throw malformed(`unknown line after entry ${after}`, after + 1);
}
