/**
 * Receipt resources of federation receipts: a view of a ledger entry (FederationSynced or
 * FederationInconsistent) in the operator's namespace, named from the peer and the receipt
 * digest, so creating it again after a crash or on another replica collides instead of
 * duplicating (AlreadyExists is success). The Receipt controller then checks the view against
 * the ledger like any other (ADR 0026).
 */
import { API_VERSION } from "../../../crds/constants.ts";
import { digestPrefix, RECEIPT_LABELS, receiptSpecOf } from "../../../crds/domain/index.ts";
import type { FederationPeer, Receipt } from "../../../crds/index.ts";
import type { Receipt as LedgerReceipt } from "../../../services/ledger/receipt.ts";

/** The Receipt resource name of a federation receipt: `<kind>-<peer>-<12 hex of digest>`. */
export function federationReceiptName(
  kind: "synced" | "inconsistent",
  peerName: string,
  digest: string,
): string {
  return `fed${kind}-${peerName.slice(0, 200)}-${digestPrefix(digest)}`;
}

/** Thrown when a ledger receipt cannot be shown as a Receipt resource; names the field. */
export class ReceiptViewError extends Error {
  override readonly name = "ReceiptViewError";
}

/**
 * The Receipt resource showing ledger receipt `r`: the spec is the ledger's receipt exactly
 * (the Receipt controller re-hashes it), so the subject must be an object reference.
 */
export function federationReceiptView(
  peer: FederationPeer,
  r: LedgerReceipt,
  kind: "synced" | "inconsistent",
  namespace: string,
): Receipt {
  const s = r.subject;
  if (typeof s === "string" || !s.apiVersion || !s.kind || !s.name) {
    throw new ReceiptViewError(
      `receipt ${r.digest}: subject ${JSON.stringify(s)} is not an object reference (apiVersion, kind, name): a Receipt resource cannot show it`,
    );
  }
  return {
    apiVersion: API_VERSION,
    kind: "Receipt",
    metadata: {
      name: federationReceiptName(kind, peer.metadata.name ?? "peer", r.digest),
      namespace,
      labels: { [RECEIPT_LABELS.federationPeer]: peer.metadata.name ?? "" },
    },
    spec: receiptSpecOf(r, {
      apiVersion: s.apiVersion,
      kind: s.kind,
      namespace: s.namespace,
      name: s.name,
      uid: s.uid,
    }),
  };
}
