/**
 * Verification of a Receipt resource against the Remembrancer ledger, from evidence the
 * controller read (the ledger entry, the signed tree heads, the proofs, the trusted keys).
 * Pure: no I/O, no clock. The links and their order are `remembrancer verify-full`'s, built
 * from the same ledger functions (digest, Ed25519 signatures, RFC 6962 leaf and inclusion
 * proof, C2SP signed note); the RFC 3161 token is left to verify-full, so pkijs stays out of
 * the operator (ADR 0025, ADR 0026).
 */
import { ReceiptReason } from "../../../crds/constants.ts";
import type { ReceiptSpec } from "../../../crds/index.ts";
import { canonicalBytes, fromHex, toHex } from "../../../services/ledger/canonical-json.ts";
import {
  readSignedCheckpoint,
  type SignedCheckpoint,
} from "../../../services/ledger/checkpoint.ts";
import type { InclusionProof, LedgerEntry } from "../../../services/ledger/ledger-types.ts";
import { hashLeaf } from "../../../services/ledger/merkle.ts";
import { verifyConsistency, verifyInclusion } from "../../../services/ledger/merkle-verify.ts";
import {
  digestMatches,
  RECEIPT_API_VERSION,
  verifyReceiptSignatures,
  type Receipt as LedgerReceipt,
} from "../../../services/ledger/receipt.ts";
import type { SignedTreeHead } from "../../../services/ledger/tree-head.ts";
import type { TrustBundle } from "../../../services/ledger/trust-bundle.ts";

/** Why a Receipt did not verify (the Verified condition's reason). */
export type VerifyFailure = (typeof ReceiptReason)[
  | "NotInLedger"
  | "LeafMismatch"
  | "DigestMismatch"
  | "BadSignature"
  | "BadTreeHead"
  | "ProofFailed"];

/** What the controller read from the ledger for one Receipt. */
export interface LedgerEvidence {
  /** The entry at status.logIndex, or the one found by the receipt's leaf hash. */
  readonly entry?: LedgerEntry | undefined;
  /** Where the entry was looked up: at status.logIndex, or by leaf hash (no logIndex yet). */
  readonly lookedUp: { readonly logIndex: number } | { readonly leafHash: string };
  /** The signed tree head the inclusion proof is against (the recorded one, else the latest). */
  readonly head?: SignedTreeHead | undefined;
  readonly proof?: InclusionProof | undefined;
  /** The latest signed tree head, and a consistency proof from `head` to it (hex). */
  readonly latest?: SignedTreeHead | undefined;
  readonly consistency?: readonly string[] | undefined;
  readonly trust: TrustBundle;
}

/** The outcome of verifying one Receipt. */
export type Verification =
  | {
      readonly ok: true;
      readonly logIndex: number;
      readonly leafHash: string;
      readonly treeSize: number;
      readonly rootHash: string;
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly reason: VerifyFailure;
      readonly message: string;
      /** The ledger entry when the receipt is logged (the failure is further down the chain). */
      readonly entry?: { readonly logIndex: number; readonly leafHash: string } | undefined;
    };

/**
 * The ledger's form of a Receipt's spec: the inverse of the view the GPUWorkload controller
 * writes (ledger algorithm names are lower case; the receipt format version is implied).
 */
export function ledgerReceiptOf(spec: ReceiptSpec): LedgerReceipt {
  const subject: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.subject)) if (typeof v === "string") subject[k] = v;
  return {
    apiVersion: RECEIPT_API_VERSION,
    type: spec.type,
    subject,
    payload: spec.payload as LedgerReceipt["payload"],
    digest: spec.digest,
    issuedAt: spec.issuedAt,
    signatures: spec.signatures.map((s) => ({
      keyId: s.keyId,
      algorithm: s.algorithm.toLowerCase() as "ed25519",
      value: s.value,
    })),
  };
}

/** The hex RFC 6962 leaf hash of a receipt (what the ledger logs). */
export function leafHashOf(r: LedgerReceipt): string {
  return toHex(hashLeaf(canonicalBytes(r)));
}

const short = (hex: string): string => hex.slice(0, 16);

/** Verifies a receipt against the ledger evidence, link by link, stopping at the first failure. */
export function verifyReceipt(r: LedgerReceipt, ev: LedgerEvidence): Verification {
  const leafHash = leafHashOf(r);
  const entry = ev.entry;
  if (!entry)
    return { ok: false, reason: ReceiptReason.NotInLedger, message: notInLedger(ev, leafHash) };
  if (entry.leafHash !== leafHash) {
    const digest = digestMatches(r)
      ? ""
      : "; spec.digest does not match spec.type, spec.subject and spec.payload either";
    return {
      ok: false,
      reason: ReceiptReason.LeafMismatch,
      message:
        `ledger entry ${entry.logIndex} holds a different receipt (leaf ${short(entry.leafHash)}…, ` +
        `this spec hashes to ${short(leafHash)}…)${digest}: the spec was changed after it was ` +
        `logged, or status.logIndex points at another entry. Recreate the Receipt from the ledger ` +
        `(remembrancer export-proof ${entry.receipt.digest})`,
    };
  }
  const pos = { logIndex: entry.logIndex, leafHash };
  const failed = (reason: VerifyFailure, message: string): Verification => ({
    ok: false,
    reason,
    message,
    entry: pos,
  });
  if (!digestMatches(r)) {
    return failed(
      ReceiptReason.DigestMismatch,
      "spec.digest does not match spec.type, spec.subject and spec.payload",
    );
  }
  const keys = new Map(ev.trust.ed25519.map((k) => [k.keyId, k.publicKey]));
  const bad = verifyReceiptSignatures(r, keys).find((s) => !s.ok);
  if (bad) {
    return failed(
      ReceiptReason.BadSignature,
      `spec.signatures[keyId=${short(bad.keyId)}…]: ${bad.reason ?? "invalid"}; trusted Ed25519 ` +
        `keys are the ledger's (${[...keys.keys()].map(short).join(", ") || "none"})`,
    );
  }
  return proveInclusion(ev, pos, failed);
}

function notInLedger(ev: LedgerEvidence, leafHash: string): string {
  return "logIndex" in ev.lookedUp
    ? `status.logIndex ${ev.lookedUp.logIndex}: the ledger has no entry at that index`
    : `no ledger entry has this receipt's leaf hash ${short(leafHash)}…: it was not appended by ` +
        `the ledger (a Receipt applied by hand, or a changed spec); record it with the ledger ` +
        `(remembrancer record) instead`;
}

function proveInclusion(
  ev: LedgerEvidence,
  pos: { readonly logIndex: number; readonly leafHash: string },
  failed: (reason: VerifyFailure, message: string) => Verification,
): Verification {
  const head = checkHead(ev.head, ev.trust);
  if (!head.ok) return failed(ReceiptReason.BadTreeHead, head.reason);
  const { size, root } = head;
  if (!ev.proof || ev.proof.treeSize !== size || pos.logIndex >= size) {
    return failed(
      ReceiptReason.ProofFailed,
      `no inclusion proof of leaf ${pos.logIndex} in the tree of ${size}`,
    );
  }
  const inc = verifyInclusion(
    pos.logIndex,
    size,
    fromHex(pos.leafHash),
    ev.proof.hashes.map((h) => fromHex(h)),
    root,
  );
  if (!inc.ok)
    return failed(ReceiptReason.ProofFailed, `leaf ${pos.logIndex} of ${size}: ${inc.reason}`);
  const latest = checkHead(ev.latest, ev.trust);
  if (!latest.ok) return failed(ReceiptReason.BadTreeHead, `latest ${latest.reason}`);
  const cons = verifyConsistency({
    size1: size,
    size2: latest.size,
    root1: root,
    root2: latest.root,
    proof: (ev.consistency ?? []).map((h) => fromHex(h)),
  });
  if (!cons.ok) {
    return failed(
      ReceiptReason.ProofFailed,
      `the tree head of size ${size} is not a prefix of the latest (${latest.size}): ${cons.reason}`,
    );
  }
  const rootHash = toHex(root);
  return {
    ok: true,
    ...pos,
    treeSize: size,
    rootHash,
    message:
      `digest and Ed25519 signatures verify; leaf ${pos.logIndex} is included in the signed tree ` +
      `head of size ${size} (root ${short(rootHash)}…), a prefix of the latest signed tree head`,
  };
}

type HeadCheck =
  | { readonly ok: true; readonly size: number; readonly root: Uint8Array }
  | { readonly ok: false; readonly reason: string };

/** Checks a tree head's C2SP note signature against the trusted keys, as verify-full does. */
function checkHead(head: SignedTreeHead | undefined, trust: TrustBundle): HeadCheck {
  if (!head) return { ok: false, reason: "tree head: the ledger has no signed tree head" };
  let read: SignedCheckpoint;
  try {
    read = readSignedCheckpoint(head.checkpoint, trust);
  } catch (err) {
    return { ok: false, reason: `tree head: unreadable checkpoint: ${(err as Error).message}` };
  }
  const { size, root } = read.checkpoint;
  if (!read.signature.ok) {
    return { ok: false, reason: `tree head of size ${size}: ${read.signature.reason}` };
  }
  return { ok: true, size, root };
}
