/**
 * Row types of the ledger tables and their conversion from node-postgres results
 * (bigint arrives as a string, bytea as a Buffer).
 */
import type { Hash } from "../merkle.ts";

/** A stored log entry. `receiptBytes` is the exact RFC 8785 leaf data. */
export interface EntryRow {
  readonly logIndex: number;
  readonly leafHash: Hash;
  readonly digest: Uint8Array;
  readonly type: string;
  readonly subject: string;
  readonly issuedAt: Date;
  readonly appendedAt: Date;
  readonly receiptBytes: Uint8Array;
}

/** A stored signed tree head, with its stamp when it was published. */
export interface TreeHeadRow {
  readonly treeSize: number;
  readonly rootHash: Hash;
  /** C2SP signed note text. */
  readonly checkpoint: string;
  readonly createdAt: Date;
  readonly stamp?: StampRow;
}

/** The publication stamp of a tree head. */
export interface StampRow {
  readonly treeSize: number;
  readonly openpgpSignature?: string;
  /** DER TimeStampResp over the checkpoint body. */
  readonly tsaToken?: Uint8Array;
  readonly genTime?: Date;
  readonly createdAt: Date;
}

/** Raw entry columns as node-postgres returns them. */
export interface RawEntry {
  log_index: string;
  leaf_hash: Buffer;
  digest: Buffer;
  type: string;
  subject: string;
  issued_at: Date;
  appended_at: Date;
  receipt: Buffer;
}

/** Columns selected for entries. */
export const ENTRY_COLUMNS =
  "log_index, leaf_hash, digest, type, subject, issued_at, appended_at, receipt";

/** Converts a raw entry row. */
export function toEntry(r: RawEntry): EntryRow {
  return {
    logIndex: Number(r.log_index),
    leafHash: new Uint8Array(r.leaf_hash),
    digest: new Uint8Array(r.digest),
    type: r.type,
    subject: r.subject,
    issuedAt: r.issued_at,
    appendedAt: r.appended_at,
    receiptBytes: new Uint8Array(r.receipt),
  };
}

/** Raw tree head (+ optional stamp) columns. */
export interface RawTreeHead {
  tree_size: string;
  root_hash: Buffer;
  checkpoint: string;
  created_at: Date;
  openpgp_signature?: string | null;
  tsa_token?: Buffer | null;
  gen_time?: Date | null;
  stamped_at?: Date | null;
}

/** Columns selected for tree heads joined with their stamps. */
export const TREE_HEAD_SELECT = `SELECT h.tree_size, h.root_hash, h.checkpoint, h.created_at,
  s.openpgp_signature, s.tsa_token, s.gen_time, s.created_at AS stamped_at
  FROM ledger_tree_heads h LEFT JOIN ledger_tree_head_stamps s ON s.tree_size = h.tree_size`;

/** Converts a raw tree head row. */
export function toTreeHead(r: RawTreeHead): TreeHeadRow {
  const treeSize = Number(r.tree_size);
  const head = {
    treeSize,
    rootHash: new Uint8Array(r.root_hash),
    checkpoint: r.checkpoint,
    createdAt: r.created_at,
  };
  if (!r.stamped_at) return head;
  return {
    ...head,
    stamp: {
      treeSize,
      createdAt: r.stamped_at,
      ...(r.openpgp_signature ? { openpgpSignature: r.openpgp_signature } : {}),
      ...(r.tsa_token ? { tsaToken: new Uint8Array(r.tsa_token) } : {}),
      ...(r.gen_time ? { genTime: r.gen_time } : {}),
    },
  };
}

/** A Buffer view of bytes, as node-postgres wants for bytea parameters. */
export function buf(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
