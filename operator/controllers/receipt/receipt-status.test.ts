import { describe, expect, it } from "@jest/globals";
import type { Receipt, ReceiptStatus } from "../../../crds/index.ts";
import { isDeepStrictEqual } from "node:util";
import { pruneUndefined } from "../../runtime/index.ts";
import {
  computeReceiptStatus,
  TIMESTAMP_PENDING_REQUEUE_MS,
  type TimestampEvidence,
} from "./receipt-status.ts";
import type { Verification } from "./receipt-verification.ts";

const now = new Date("2026-06-01T10:00:00Z");
const later = new Date("2026-06-01T11:00:00Z");
const LEAF = "a".repeat(64);
const ROOT = "b".repeat(64);

const receipt = (status?: ReceiptStatus): Receipt => ({
  apiVersion: "vaultmesh.cloud/v1alpha1",
  kind: "Receipt",
  metadata: { name: "r", namespace: "ns", generation: 1 },
  spec: {
    type: "WorkloadCompleted",
    subject: { apiVersion: "vaultmesh.cloud/v1alpha1", kind: "GPUWorkload", name: "w" },
    payload: {},
    digest: `sha256:${"c".repeat(64)}`,
    signatures: [{ keyId: "k", algorithm: "Ed25519", value: "v" }],
    issuedAt: "2026-06-01T09:00:00.000Z",
  },
  ...(status ? { status } : {}),
});
const proven: Verification = {
  ok: true,
  logIndex: 4,
  leafHash: LEAF,
  treeSize: 5,
  rootHash: ROOT,
  message: "proven",
};
const notInLedger: Verification = { ok: false, reason: "NotInLedger", message: "not there" };
const leafMismatch: Verification = { ok: false, reason: "LeafMismatch", message: "other entry" };
const badSignature: Verification = {
  ok: false,
  reason: "BadSignature",
  message: "untrusted key",
  entry: { logIndex: 4, leafHash: LEAF },
};
const stamped: TimestampEvidence = {
  kind: "stamped",
  treeSize: 6,
  genTime: "2026-06-01T09:30:00Z",
};
const pending: TimestampEvidence = { kind: "pending" };
const noAuthority: TimestampEvidence = { kind: "noAuthority" };

const conds = (s: ReceiptStatus): Record<string, string> =>
  Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe("computeReceiptStatus", () => {
  it.each([
    {
      name: "proven and stamped",
      v: proven,
      ts: stamped,
      wantConditions: {
        Logged: "True/Appended",
        Timestamped: "True/Stamped",
        Verified: "True/Proven",
      },
      wantFields: {
        logIndex: 4,
        leafHash: LEAF,
        treeSize: 5,
        rootHash: ROOT,
        timestamp: { treeSize: 6, genTime: "2026-06-01T09:30:00Z" },
      },
      wantRequeue: undefined,
      wantWarning: undefined,
    },
    {
      name: "proven, timestamp pending",
      v: proven,
      ts: pending,
      wantConditions: {
        Logged: "True/Appended",
        Timestamped: "False/Pending",
        Verified: "True/Proven",
      },
      wantFields: { logIndex: 4, treeSize: 5, timestamp: undefined },
      wantRequeue: TIMESTAMP_PENDING_REQUEUE_MS,
      wantWarning: undefined,
    },
    {
      name: "proven, no timestamp authority",
      v: proven,
      ts: noAuthority,
      wantConditions: {
        Logged: "True/Appended",
        Timestamped: "False/NoTimestampAuthority",
        Verified: "True/Proven",
      },
      wantFields: { logIndex: 4, timestamp: undefined },
      wantRequeue: undefined,
      wantWarning: undefined,
    },
    {
      name: "not in the ledger",
      v: notInLedger,
      ts: pending,
      wantConditions: {
        Logged: "False/NotInLedger",
        Timestamped: "False/NotInLedger",
        Verified: "False/NotInLedger",
      },
      wantFields: { logIndex: undefined, leafHash: undefined, timestamp: undefined },
      wantRequeue: undefined,
      wantWarning: "NotInLedger",
    },
    {
      name: "another entry at status.logIndex",
      v: leafMismatch,
      ts: stamped,
      wantConditions: {
        Logged: "False/LeafMismatch",
        Timestamped: "False/NotInLedger",
        Verified: "False/LeafMismatch",
      },
      wantFields: { timestamp: undefined },
      wantRequeue: undefined,
      wantWarning: "LeafMismatch",
    },
    {
      name: "logged but signed by an untrusted key",
      v: badSignature,
      ts: stamped,
      wantConditions: {
        Logged: "True/Appended",
        Timestamped: "True/Stamped",
        Verified: "False/BadSignature",
      },
      wantFields: { logIndex: 4, leafHash: LEAF, treeSize: undefined },
      wantRequeue: undefined,
      wantWarning: "BadSignature",
    },
  ])("$name", ({ v, ts, wantConditions, wantFields, wantRequeue, wantWarning }) => {
    const res = computeReceiptStatus(receipt(), v, ts, now);
    expect(conds(res.status)).toEqual(wantConditions);
    for (const [k, want] of Object.entries(wantFields)) {
      expect(res.status[k as keyof ReceiptStatus]).toEqual(want);
    }
    expect(res.status.observedGeneration).toBe(1);
    expect(res.requeueAfterMs).toBe(wantRequeue);
    expect(res.warning?.reason).toBe(wantWarning);
  });

  it.each([
    { name: "proven and stamped", v: proven, ts: stamped },
    { name: "pending", v: proven, ts: pending },
    { name: "failed", v: badSignature, ts: stamped },
    { name: "not in the ledger", v: notInLedger, ts: noAuthority },
  ])("$name: recomputing on the written status changes nothing and warns once", ({ v, ts }) => {
    const first = computeReceiptStatus(receipt(), v, ts, now);
    const written = pruneUndefined(first.status);
    const again = computeReceiptStatus(receipt(written), v, ts, later);
    expect(isDeepStrictEqual(written, pruneUndefined(again.status))).toBe(true);
    expect(again.warning).toBeUndefined();
  });

  it("keeps the Logged condition the GPUWorkload controller wrote", () => {
    const logged = {
      type: "Logged",
      status: "True" as const,
      reason: "Appended",
      message: "appended to the Merkle log at index 4",
      lastTransitionTime: "2026-06-01T09:00:00Z",
    };
    const res = computeReceiptStatus(
      receipt({ logIndex: 4, leafHash: LEAF, conditions: [logged] }),
      proven,
      stamped,
      now,
    );
    expect(res.status.conditions?.[0]).toEqual({ ...logged, observedGeneration: 1 });
  });

  it("moves lastTransitionTime and warns when verification starts failing", () => {
    const ok = pruneUndefined(computeReceiptStatus(receipt(), proven, stamped, now).status);
    const res = computeReceiptStatus(receipt(ok), badSignature, stamped, later);
    const verified = res.status.conditions?.find((c) => c.type === "Verified");
    expect(verified).toMatchObject({ status: "False", reason: "BadSignature" });
    expect(verified?.lastTransitionTime).toBe("2026-06-01T11:00:00Z");
    expect(res.warning).toEqual({ reason: "BadSignature", message: "untrusted key" });
  });
});
