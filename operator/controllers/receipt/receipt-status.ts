/**
 * The status of a Receipt, computed from its verification against the ledger and the
 * timestamp evidence: Logged, Timestamped and Verified conditions, the log position, the tree
 * head the inclusion proof is against and the RFC 3161 timestamp. Pure: the same inputs give
 * the same status, so a resync that finds nothing new writes nothing.
 */
import { ReceiptConditionType, ReceiptReason } from "../../../crds/constants.ts";
import { loggedCondition as appendedCondition } from "../../../crds/domain/index.ts";
import type { Receipt, ReceiptStatus } from "../../../crds/index.ts";
import { findCondition, setConditions, type ConditionInput } from "../../runtime/index.ts";
import type { Verification } from "./receipt-verification.ts";

/** Whether a tree head covering the receipt carries an RFC 3161 token. */
export type TimestampEvidence =
  | { readonly kind: "stamped"; readonly treeSize: number; readonly genTime: string }
  /** Not yet; the ledger time-stamps published tree heads, so one will come. */
  | { readonly kind: "pending" }
  /** Not yet, and the operator's ledger has no timestamp authority configured. */
  | { readonly kind: "noAuthority" };

/** The computed status, how long to wait before looking again, and a Warning to record. */
export interface ReceiptStatusResult {
  readonly status: ReceiptStatus;
  readonly requeueAfterMs?: number;
  readonly warning?: { readonly reason: string; readonly message: string };
}

/** How long a Receipt waits for its tree head to be time-stamped before looking again. */
export const TIMESTAMP_PENDING_REQUEUE_MS = 30_000;

/** The log position the receipt verifiably holds, or undefined when it is not logged. */
function positionOf(v: Verification): { logIndex: number; leafHash: string } | undefined {
  if (v.ok) return { logIndex: v.logIndex, leafHash: v.leafHash };
  return v.entry;
}

function loggedCondition(v: Verification): ConditionInput {
  const pos = positionOf(v);
  // The same words the controllers that append write, so they never rewrite each other.
  if (pos) return appendedCondition(pos.logIndex);
  return {
    type: ReceiptConditionType.Logged,
    status: "False",
    reason: v.ok ? "" : v.reason,
    message: v.message,
  };
}

function timestampedCondition(
  pos: { logIndex: number } | undefined,
  ts: TimestampEvidence,
): ConditionInput {
  const type = ReceiptConditionType.Timestamped;
  if (!pos) {
    return {
      type,
      status: "False",
      reason: ReceiptReason.NotInLedger,
      message: "the receipt is not in the ledger, so no time-stamped tree head covers it",
    };
  }
  switch (ts.kind) {
    case "stamped":
      return {
        type,
        status: "True",
        reason: ReceiptReason.Stamped,
        message: `the signed tree head of size ${ts.treeSize} (covering index ${pos.logIndex}) carries an RFC 3161 token, genTime ${ts.genTime}`,
      };
    case "pending":
      return {
        type,
        status: "False",
        reason: ReceiptReason.Pending,
        message: `waiting for the ledger to publish a tree head covering index ${pos.logIndex} with an RFC 3161 token`,
      };
    case "noAuthority":
      return {
        type,
        status: "False",
        reason: ReceiptReason.NoTimestampAuthority,
        message:
          "the operator's ledger has no RFC 3161 timestamp authority, and no published tree head " +
          "covers this receipt: run `remembrancer serve --tsa URL --publish-every S` on the " +
          "ledger database; the Receipt is re-checked at each resync",
      };
  }
}

function verifiedCondition(v: Verification): ConditionInput {
  return v.ok
    ? {
        type: ReceiptConditionType.Verified,
        status: "True",
        reason: ReceiptReason.Proven,
        message: v.message,
      }
    : {
        type: ReceiptConditionType.Verified,
        status: "False",
        reason: v.reason,
        message: v.message,
      };
}

/** Computes a Receipt's status from its verification and timestamp evidence. */
export function computeReceiptStatus(
  r: Receipt,
  v: Verification,
  ts: TimestampEvidence,
  now: Date,
): ReceiptStatusResult {
  const prev = r.status ?? {};
  const gen = r.metadata.generation;
  const pos = positionOf(v);
  const stamped = pos && ts.kind === "stamped" ? ts : undefined;
  const conditions = setConditions(
    prev.conditions,
    [loggedCondition(v), timestampedCondition(pos, ts), verifiedCondition(v)],
    gen,
    now,
  );
  const status: ReceiptStatus = {
    ...prev,
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    ...(pos ?? {}),
    ...(v.ok ? { treeSize: v.treeSize, rootHash: v.rootHash } : {}),
    timestamp: stamped ? { treeSize: stamped.treeSize, genTime: stamped.genTime } : undefined,
    conditions,
  };
  const before = findCondition(prev.conditions, "Verified");
  const warn =
    !v.ok && (before?.status !== "False" || before.reason !== v.reason)
      ? { reason: v.reason, message: v.message }
      : undefined;
  return {
    status,
    ...(pos && ts.kind === "pending" ? { requeueAfterMs: TIMESTAMP_PENDING_REQUEUE_MS } : {}),
    ...(warn ? { warning: warn } : {}),
  };
}
