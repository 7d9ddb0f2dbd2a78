/**
 * The Receipt resource of a deployment receipt: a view of the ledger entry, named from the
 * workload's kind and name and the receipt's digest, so a restarted or second operator that
 * computes the same receipt collides with the view already created instead of adding one.
 */
import { API_VERSION } from "../../../crds/constants.ts";
import type { Receipt as ReceiptResource } from "../../../crds/index.ts";
import { digestPrefix, receiptSpecOf, type LedgerReceiptLike } from "../../../crds/domain/index.ts";
import type { RecordedKind } from "./deployment-rollout.ts";

/** Label on a deployment receipt's view: the uid of the recorded workload. */
export const DEPLOYMENT_RECEIPT_UID_LABEL = "vaultmesh.cloud/deployment-uid";

/** `<kind>-<name>-<12 hex of digest>`, e.g. `deployment-api-0a1b2c3d4e5f`. */
export function deploymentReceiptName(kind: RecordedKind, name: string, digest: string): string {
  return `${kind.toLowerCase()}-${name.slice(0, 200)}-${digestPrefix(digest)}`;
}

/** The Receipt view of `receipt` about the workload `kind` `namespace/name` (uid `uid`). */
export function deploymentReceiptView(
  kind: RecordedKind,
  workload: { readonly namespace: string; readonly name: string; readonly uid: string },
  receipt: LedgerReceiptLike,
): ReceiptResource {
  return {
    apiVersion: API_VERSION,
    kind: "Receipt",
    metadata: {
      name: deploymentReceiptName(kind, workload.name, receipt.digest),
      namespace: workload.namespace,
      labels: { [DEPLOYMENT_RECEIPT_UID_LABEL]: workload.uid },
    },
    spec: receiptSpecOf(receipt, {
      apiVersion: "apps/v1",
      kind,
      namespace: workload.namespace,
      name: workload.name,
      uid: workload.uid,
    }),
  };
}
