/**
 * Health cases of a Receipt: the completion receipt of the sample workload (signed, as the
 * GPUWorkload controller records it), with the status the Receipt controller's
 * computeReceiptStatus gives it for each verification and timestamp outcome.
 */
import type { Receipt } from "../../../crds/index.ts";
import {
  computeReceiptStatus,
  type TimestampEvidence,
} from "../../../operator/controllers/receipt/receipt-status.ts";
import {
  leafHashOf,
  ledgerReceiptOf,
  type Verification,
  verifyReceipt,
} from "../../../operator/controllers/receipt/receipt-verification.ts";
import { TRUST_FORMAT } from "../../../services/ledger/trust-bundle.ts";
import {
  FOREGROUND_DELETION,
  type HealthCase,
  lifecycleCases,
  NOW,
  plain,
  served,
} from "./case-kit.ts";
import { finished } from "./gpuworkload-cases.ts";

const LOG_INDEX = 41;
const TREE_SIZE = 42;
const ROOT = "3b1f0c8e9a7d6b5c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d";

function withStatus(r: Receipt, v: Verification, ts: TimestampEvidence): Receipt {
  return { ...r, status: computeReceiptStatus(r, v, ts, NOW).status };
}

/** The Receipt cases, healthy first. */
export function receiptCases(): HealthCase[] {
  const r = served(finished("Succeeded").receipt);
  const ledgerForm = ledgerReceiptOf(r.spec);
  const leafHash = leafHashOf(ledgerForm);
  // The success message is verifyReceipt's, for a proof this file does not build.
  const proven: Verification = {
    ok: true,
    logIndex: LOG_INDEX,
    leafHash,
    treeSize: TREE_SIZE,
    rootHash: ROOT,
    message: `digest and Ed25519 signatures verify; leaf ${LOG_INDEX} is included in the signed tree head of size ${TREE_SIZE} (root ${ROOT.slice(0, 16)}…), a prefix of the latest signed tree head`,
  };
  const emptyTrust = { format: TRUST_FORMAT, ed25519: [], openpgp: [], tsa: [] } as const;
  const notInLedger = verifyReceipt(ledgerForm, { lookedUp: { leafHash }, trust: emptyTrust });
  const untrusted = verifyReceipt(ledgerForm, {
    entry: { logIndex: LOG_INDEX, leafHash, receipt: ledgerForm, appendedAt: NOW.toISOString() },
    lookedUp: { logIndex: LOG_INDEX },
    trust: emptyTrust,
  });
  const stamped: TimestampEvidence = {
    kind: "stamped",
    treeSize: TREE_SIZE,
    genTime: "2026-06-01T09:46:30Z",
  };
  const verified = withStatus(r, proven, stamped);
  // What the GPUWorkload controller writes when it appends the receipt: Logged only.
  const full = withStatus(r, proven, { kind: "pending" }).status;
  const loggedOnly: Receipt = {
    ...r,
    status: {
      logIndex: full?.logIndex,
      leafHash: full?.leafHash,
      conditions: full?.conditions?.filter((c) => c.type === "Logged"),
    },
  };
  const provenMessage = `Proven: ${proven.message}`;
  return [
    {
      name: "healthy-verified-timestamped",
      object: plain(verified),
      want: { status: "Healthy", message: provenMessage },
    },
    {
      name: "healthy-verified-no-timestamp-authority",
      object: plain(withStatus(r, proven, { kind: "noAuthority" })),
      want: {
        status: "Healthy",
        message: `${provenMessage}; not time-stamped (NoTimestampAuthority)`,
      },
    },
    {
      name: "progressing-timestamp-pending",
      object: plain(withStatus(r, proven, { kind: "pending" })),
      want: {
        status: "Progressing",
        message: `Pending: waiting for the ledger to publish a tree head covering index ${LOG_INDEX} with an RFC 3161 token`,
      },
    },
    {
      name: "progressing-logged-not-verified",
      object: plain(loggedOnly),
      want: {
        status: "Progressing",
        message: `Appended: appended to the Merkle log at index ${LOG_INDEX}; waiting for the Receipt controller to verify it`,
      },
    },
    {
      name: "degraded-bad-signature",
      object: plain(withStatus(r, untrusted, stamped)),
      want: { status: "Degraded", message: `BadSignature: ${untrusted.message}` },
    },
    {
      name: "degraded-not-in-ledger",
      object: plain(withStatus(r, notInLedger, { kind: "pending" })),
      want: { status: "Degraded", message: `NotInLedger: ${notInLedger.message}` },
    },
    ...lifecycleCases(verified, FOREGROUND_DELETION).filter(
      // A Receipt's spec is immutable: its generation never moves past the one observed.
      (c) => c.name !== "progressing-generation-not-observed",
    ),
  ];
}
