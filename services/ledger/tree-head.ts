/**
 * Signed tree heads as the ledger hands them out, and their publication: an OpenPGP detached
 * signature and an RFC 3161 token over the checkpoint body. Publication happens per tree
 * head, not per receipt, so one TSA round trip covers every receipt appended before it.
 */
import { fromBase64, toBase64, toHex } from "./canonical-json.ts";
import { parseNote } from "./checkpoint.ts";
import type { OpenPgpSigner } from "./openpgp-keys.ts";
import type { StampRow, TreeHeadRow } from "./store/pg-rows.ts";

/** Obtains an RFC 3161 token (DER TimeStampResp) over data. */
export interface Timestamper {
  timestamp(data: Uint8Array): Promise<Uint8Array>;
  /** PEM certificates (TSA and CA) to ship in proof bundles, when known. */
  readonly certificatesPem?: readonly string[];
}

/** Publication evidence of a tree head. */
export interface TreeHeadStamp {
  /** Armored OpenPGP signature over the checkpoint body. */
  readonly openpgpSignature?: string;
  /** base64 DER TimeStampResp over the checkpoint body. */
  readonly timestampToken?: string;
  /** The TSA's genTime, RFC 3339. */
  readonly genTime?: string;
}

/** A signed tree head (C2SP checkpoint signed with Ed25519), optionally published. */
export interface SignedTreeHead {
  readonly treeSize: number;
  /** Hex root hash. */
  readonly rootHash: string;
  /** The full signed note text. */
  readonly checkpoint: string;
  readonly createdAt: string;
  readonly stamp?: TreeHeadStamp;
}

/** The signed part of a checkpoint note (what OpenPGP and the TSA sign). */
export function checkpointBody(checkpoint: string): Uint8Array {
  return new TextEncoder().encode(parseNote(checkpoint).body);
}

/** Converts a stored tree head for callers. */
export function toSignedTreeHead(row: TreeHeadRow): SignedTreeHead {
  const base = {
    treeSize: row.treeSize,
    rootHash: toHex(row.rootHash),
    checkpoint: row.checkpoint,
    createdAt: row.createdAt.toISOString(),
  };
  if (!row.stamp) return base;
  const s = row.stamp;
  return {
    ...base,
    stamp: {
      ...(s.openpgpSignature ? { openpgpSignature: s.openpgpSignature } : {}),
      ...(s.tsaToken ? { timestampToken: toBase64(s.tsaToken) } : {}),
      ...(s.genTime ? { genTime: s.genTime.toISOString() } : {}),
    },
  };
}

/** Signs and time-stamps a checkpoint body; either part may be absent when not configured. */
export async function stampCheckpoint(
  head: TreeHeadRow,
  signers: { readonly openpgp?: OpenPgpSigner; readonly timestamper?: Timestamper },
  now: Date,
  genTimeOf: (token: Uint8Array) => Date | undefined,
): Promise<StampRow> {
  const body = checkpointBody(head.checkpoint);
  const [openpgpSignature, tsaToken] = await Promise.all([
    signers.openpgp?.signDetached(body),
    signers.timestamper?.timestamp(body),
  ]);
  const genTime = tsaToken ? genTimeOf(tsaToken) : undefined;
  return {
    treeSize: head.treeSize,
    createdAt: now,
    ...(openpgpSignature ? { openpgpSignature } : {}),
    ...(tsaToken ? { tsaToken } : {}),
    ...(genTime ? { genTime } : {}),
  };
}

/** Decodes a stamp's token from base64 (for bundles). */
export function stampToken(stamp: TreeHeadStamp | undefined): Uint8Array | undefined {
  return stamp?.timestampToken ? fromBase64(stamp.timestampToken) : undefined;
}
