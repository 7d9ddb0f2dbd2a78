/**
 * Receipt resources of federation receipts: a view of a ledger entry (FederationSynced or
 * FederationInconsistent) in the operator's namespace, named from the peer and the receipt
 * digest, so creating it again after a crash or on another replica collides instead of
 * duplicating (AlreadyExists is success). The Receipt controller then checks the view against
 * the ledger like any other (ADR 0026).
 */
import { GROUP, VERSION } from "../../../crds/constants.ts";
import type { FederationPeer, Receipt } from "../../../crds/index.ts";
import { isAlreadyExists, Resources, type KubeClient } from "../../../services/kube/index.ts";
import type { Receipt as LedgerReceipt } from "../../../services/ledger/receipt.ts";
import { rfc3339 } from "../../runtime/conditions.ts";
import { writeStatus } from "../../runtime/index.ts";

/** Labels on the Receipts this controller creates. */
export const FederationReceiptLabels = {
  /** Name of the FederationPeer the receipt is about. */
  peer: `${GROUP}/federation-peer`,
} as const;

/** The Receipt resource name of a federation receipt: `<kind>-<peer>-<12 hex of digest>`. */
export function federationReceiptName(
  kind: "synced" | "inconsistent",
  peerName: string,
  digest: string,
): string {
  const hex = digest.replace(/^sha256:/, "").slice(0, 12);
  return `fed${kind}-${peerName.slice(0, 200)}-${hex}`;
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
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "Receipt",
    metadata: {
      name: federationReceiptName(kind, peer.metadata.name ?? "peer", r.digest),
      namespace,
      labels: { [FederationReceiptLabels.peer]: peer.metadata.name ?? "" },
    },
    spec: {
      type: r.type as Receipt["spec"]["type"],
      subject: {
        apiVersion: s.apiVersion,
        kind: s.kind,
        ...(s.namespace ? { namespace: s.namespace } : {}),
        name: s.name,
        ...(s.uid ? { uid: s.uid } : {}),
      },
      payload: r.payload as Record<string, unknown>,
      digest: r.digest,
      signatures: r.signatures.map((x) => ({
        keyId: x.keyId,
        algorithm: x.algorithm.toLowerCase() === "ed25519" ? "Ed25519" : "OpenPGP",
        value: x.value,
      })),
      issuedAt: r.issuedAt,
    },
  };
}

/**
 * Creates the Receipt view unless it exists (a read, then AlreadyExists is success), and
 * records its log position as Logged when it has none yet. At most one round per sync interval
 * calls it, so it reads the API rather than holding another cache of Receipts.
 */
export async function ensureReceiptView(
  client: KubeClient,
  view: Receipt,
  entry: { readonly logIndex: number; readonly leafHash: string },
  now: Date,
): Promise<void> {
  const ns = view.metadata.namespace ?? "";
  const name = view.metadata.name ?? "";
  let obj = await client.get<Receipt>(Resources.Receipt, name, ns);
  if (!obj) {
    try {
      obj = await client.create(Resources.Receipt, view);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      obj = await client.get<Receipt>(Resources.Receipt, name, ns);
    }
  }
  if (!obj || obj.status?.logIndex !== undefined) return;
  await writeStatus(client, Resources.Receipt, obj, {
    logIndex: entry.logIndex,
    leafHash: entry.leafHash,
    conditions: [
      {
        type: "Logged",
        status: "True",
        reason: "Appended",
        message: `appended to the Merkle log at index ${entry.logIndex}`,
        lastTransitionTime: rfc3339(now),
      },
    ],
  });
}
