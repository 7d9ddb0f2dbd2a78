/**
 * A Receipt resource is a view of a ledger entry: its spec is the ledger's receipt exactly (the
 * Receipt controller re-hashes it) and its Logged condition names the log index. One mapping
 * for every kind of receipt the operator shows (completion, federation).
 */
import { ReceiptConditionType, ReceiptReason } from "../constants.ts";
import type { ReceiptSpec } from "../receipt.ts";

/** A receipt as the ledger returns it (services/ledger's Receipt, structurally). */
export interface LedgerReceiptLike {
  readonly type: string;
  readonly subject: string | Readonly<Record<string, string | undefined>>;
  readonly payload: unknown;
  readonly digest: string;
  readonly issuedAt: string;
  readonly signatures: readonly {
    readonly keyId: string;
    readonly algorithm: string;
    readonly value: string;
  }[];
}

/**
 * The Receipt spec showing ledger receipt `r` about `subject`. The caller resolves the subject
 * (the ledger's may be a string, which a Receipt cannot show).
 */
export function receiptSpecOf(r: LedgerReceiptLike, subject: ReceiptSpec["subject"]): ReceiptSpec {
  return {
    type: r.type as ReceiptSpec["type"],
    subject: {
      apiVersion: subject.apiVersion,
      kind: subject.kind,
      ...(subject.namespace ? { namespace: subject.namespace } : {}),
      name: subject.name,
      ...(subject.uid ? { uid: subject.uid } : {}),
    },
    payload: r.payload as Record<string, unknown>,
    digest: r.digest,
    signatures: r.signatures.map((s) => ({
      keyId: s.keyId,
      algorithm: s.algorithm.toLowerCase() === "ed25519" ? "Ed25519" : "OpenPGP",
      value: s.value,
    })),
    issuedAt: r.issuedAt,
  };
}

/** The first 12 hex digits of a `sha256:<hex>` digest, for resource names. */
export function digestPrefix(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

/**
 * The Logged condition of a receipt at `logIndex`: the same words from every writer (the
 * controller that appends and the Receipt controller that verifies), so they never rewrite
 * each other's status.
 */
export function loggedCondition(logIndex: number): {
  readonly type: typeof ReceiptConditionType.Logged;
  readonly status: "True";
  readonly reason: typeof ReceiptReason.Appended;
  readonly message: string;
} {
  return {
    type: ReceiptConditionType.Logged,
    status: "True",
    reason: ReceiptReason.Appended,
    message: `appended to the Merkle log at index ${logIndex}`,
  };
}
