/**
 * What the MCP server is built from (its dependencies) and how ledger entries and tree heads
 * look to an MCP client: every entry carries its digest, leaf hash, log index and
 * `receipt://` URI, so an agent's answer can cite something checkable.
 */
import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import type { Ed25519Signer } from "../ed25519.ts";
import type { Ledger, LedgerEntry } from "../ledger.ts";
import type { OpenPgpSigner } from "../openpgp-keys.ts";
import type { SignedTreeHead } from "../tree-head.ts";
import type { TrustBundle } from "../trust-bundle.ts";

/** The MCP server's dependencies. */
export interface MemoryDeps {
  readonly ledger: Ledger;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Pinned keys proofs are verified against; unset: the keys the ledger records. */
  readonly trust?: TrustBundle;
  /** `record_decision` is enabled (the ledger was opened with its signing key). @default false */
  readonly allowWrite: boolean;
  /** Keys for `sign_artifact`; unset: the tool is refused. */
  readonly sign?: { readonly signer: Ed25519Signer; readonly openpgp?: OpenPgpSigner };
}

/** The `receipt://` URI of a receipt digest (`sha256:<hex>` → `receipt://<hex>`). */
export function receiptUri(digest: string): string {
  return `receipt://${digest.replace(/^sha256:/, "")}`;
}

/** An entry as the MCP server shows it. */
export function entryView(e: Pick<LedgerEntry, "logIndex" | "leafHash" | "receipt">): {
  uri: string;
  digest: string;
  logIndex: number;
  leafHash: string;
  type: string;
  subject: LedgerEntry["receipt"]["subject"];
  issuedAt: string;
  payload: LedgerEntry["receipt"]["payload"];
} {
  const r = e.receipt;
  return {
    uri: receiptUri(r.digest),
    digest: r.digest,
    logIndex: e.logIndex,
    leafHash: e.leafHash,
    type: r.type,
    subject: r.subject,
    issuedAt: r.issuedAt,
    payload: r.payload,
  };
}

/** A signed tree head as the MCP server shows it (stamps included when published). */
export function treeHeadView(h: SignedTreeHead, origin: string | undefined): object {
  return {
    ...(origin ? { origin } : {}),
    treeSize: h.treeSize,
    rootHash: h.rootHash,
    checkpoint: h.checkpoint,
    createdAt: h.createdAt,
    published: h.stamp !== undefined,
    ...(h.stamp?.openpgpSignature ? { openpgpSignature: h.stamp.openpgpSignature } : {}),
    ...(h.stamp?.timestampToken ? { timestampToken: h.stamp.timestampToken } : {}),
    ...(h.stamp?.genTime ? { genTime: h.stamp.genTime } : {}),
  };
}
