/**
 * The types the ledger hands to its callers, and the conversion of stored rows into them.
 */
import type pg from "pg";
import type { Logger } from "pino";
import { toHex } from "./canonical-json.ts";
import type { Clock } from "./clock.ts";
import type { Ed25519Signer } from "./ed25519.ts";
import type { OpenPgpSigner } from "./openpgp-keys.ts";
import type { LedgerMetricsSink } from "./ledger-metrics.ts";
import { parseReceipt, type Receipt } from "./receipt.ts";
import type { EntryRow } from "./store/pg-rows.ts";
import type { SignedTreeHead, Timestamper } from "./tree-head.ts";
import type { TrustBundle } from "./trust-bundle.ts";

/** Dependencies and settings of a {@link Ledger}. */
export interface LedgerOptions {
  readonly pool: pg.Pool;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * The configured checkpoint origin (and note key name). Taken only at genesis; afterwards it
   * must equal the recorded one or the ledger refuses to open. Unset: the recorded one, or at
   * genesis one derived from the signer's key (ADR 0081).
   */
  readonly origin?: string;
  /** Signs receipts and checkpoints; required to append. */
  readonly signer?: Ed25519Signer;
  /** Signs published tree heads. */
  readonly openpgp?: OpenPgpSigner;
  /** Time-stamps published tree heads. */
  readonly timestamper?: Timestamper;
  /** Extra keys to ship in proof bundles (e.g. retired signing keys). */
  readonly trust?: TrustBundle;
  /** Most receipts per commit. @default 1024 */
  readonly maxBatch?: number;
  /**
   * Keep the whole Merkle tree in memory (~64 bytes per entry, loaded at open) so proofs
   * need no database round trip. @default false
   */
  readonly cacheTree?: boolean;
  /** Run schema migrations on open. @default true */
  readonly migrate?: boolean;
  /** Where appends, publications and refused receipts are counted (ledger-metrics.ts). */
  readonly metrics?: LedgerMetricsSink;
}

/** A logged receipt. */
export interface LedgerEntry {
  readonly logIndex: number;
  readonly leafHash: string;
  readonly receipt: Receipt;
  readonly appendedAt: string;
}

/** An inclusion proof of one entry in the tree of `treeSize` (hex hashes, leaf side first). */
export interface InclusionProof {
  readonly logIndex: number;
  readonly treeSize: number;
  readonly hashes: readonly string[];
}

/** What {@link Ledger.append} returns. */
export interface AppendResult {
  readonly receipt: Receipt;
  readonly entry: { readonly logIndex: number; readonly leafHash: string };
  readonly proof: InclusionProof;
  readonly treeHead: SignedTreeHead;
  /** True when the receipt's digest was already logged (the first receipt is returned). */
  readonly existing: boolean;
}

/** Converts a stored row for callers (the receipt is re-read from its canonical bytes). */
export function toEntry(row: EntryRow): LedgerEntry {
  const receipt = parseReceipt(JSON.parse(new TextDecoder().decode(row.receiptBytes)) as unknown);
  return {
    logIndex: row.logIndex,
    leafHash: toHex(row.leafHash),
    receipt,
    appendedAt: row.appendedAt.toISOString(),
  };
}
