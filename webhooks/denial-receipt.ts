// The policy.denied receipt of one denial: a pure function of the DenialRecord. Its digest (the
// ledger's identity) covers the AdmissionReview uid and the facts of that review — the resource,
// the operation, the user, the webhook and every denial message — but not the time: the
// apiserver re-sends the same review (same uid, same object, same user) when a call fails in
// transport, the server decides it the same way, and the ledger, idempotent by digest, returns
// the entry already logged instead of a second one. The decision time is the receipt's signed
// `issuedAt`.
import type { RECEIPT_TYPES } from "../crds/constants.ts";
import type { JsonValue } from "../services/ledger/canonical-json.ts";
import type { DenialRecord } from "./deps.ts";

/** The receipt type of a denial (crds RECEIPT_TYPES). */
export const POLICY_DENIED = "PolicyDenied" satisfies (typeof RECEIPT_TYPES)[number];

/** The subject of a denial receipt: the AdmissionReview that was denied. */
export interface DenialSubject {
  readonly [key: string]: string;
  readonly apiVersion: "admission.k8s.io/v1";
  readonly kind: "AdmissionReview";
  readonly uid: string;
}

/**
 * The object a denied request was about. `group` is "" for the core group; namespace and name
 * are left out when the request had none (a cluster-scoped kind, a generateName create).
 */
export interface DeniedResource {
  readonly [key: string]: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** The payload of a denial receipt. */
export interface DenialPayload {
  readonly [key: string]: JsonValue;
  /** The AdmissionReview request uid (also the subject's uid). */
  readonly admissionUid: string;
  readonly resource: DeniedResource;
  /** CREATE, UPDATE or DELETE. */
  readonly operation: string;
  /** Who asked (`userInfo.username`); "" when the apiserver sent none. */
  readonly username: string;
  /** The webhook entry that denied (`pods.gpu-guard.vaultmesh.cloud`). */
  readonly webhook: string;
  /** The policy behind it (`gpu-pod-guard`). */
  readonly policy: string;
  /** The server path (`/validate/pods`). */
  readonly path: string;
  /** Every reason given, in the order the user saw them. */
  readonly errors: readonly { readonly field: string; readonly message: string }[];
}

/** A denial receipt before signing: what the ledger signs and when the decision was taken. */
export interface DenialReceipt {
  readonly type: typeof POLICY_DENIED;
  readonly subject: DenialSubject;
  readonly payload: DenialPayload;
  /** The decision time: the receipt's `issuedAt` (signed, outside the digest). */
  readonly issuedAt: Date;
}

/** Thrown for a denial that cannot become a receipt; the message names the field. */
export class DenialReceiptError extends Error {
  override readonly name = "DenialReceiptError";
}

/** Builds the policy.denied receipt of `d`. Pure: the same review gives the same digest. */
export function denialReceipt(d: DenialRecord): DenialReceipt {
  if (d.requestUid === "") throw new DenialReceiptError("requestUid: expected the review's uid");
  const issuedAt = new Date(d.time);
  if (Number.isNaN(issuedAt.getTime())) {
    throw new DenialReceiptError(`time: expected an RFC 3339 time, got ${JSON.stringify(d.time)}`);
  }
  const resource: DeniedResource = {
    group: d.group,
    version: d.version,
    kind: d.kind,
    ...(d.namespace ? { namespace: d.namespace } : {}),
    ...(d.name ? { name: d.name } : {}),
  };
  return {
    type: POLICY_DENIED,
    subject: { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", uid: d.requestUid },
    payload: {
      admissionUid: d.requestUid,
      resource,
      operation: d.operation,
      username: d.username,
      webhook: d.webhook,
      policy: d.policy,
      path: d.path,
      errors: d.errors.map((e) => ({ field: e.field, message: e.message })),
    },
    issuedAt,
  };
}
