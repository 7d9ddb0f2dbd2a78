import { describe, expect, it } from "@jest/globals";
import type { ReceiptSpec } from "../../../crds/index.ts";
import { fromHex, toHex } from "../../../services/ledger/canonical-json.ts";
import { formatCheckpoint, signNote } from "../../../services/ledger/checkpoint.ts";
import { fixedClock } from "../../../services/ledger/clock.ts";
import {
  ed25519Signer,
  generateEd25519,
  type Ed25519Signer,
} from "../../../services/ledger/ed25519.ts";
import type { LedgerEntry } from "../../../services/ledger/ledger-types.ts";
import { hashChildren } from "../../../services/ledger/merkle.ts";
import { createReceipt, type Receipt } from "../../../services/ledger/receipt.ts";
import type { SignedTreeHead } from "../../../services/ledger/tree-head.ts";
import type { TrustBundle } from "../../../services/ledger/trust-bundle.ts";
import {
  leafHashOf,
  ledgerReceiptOf,
  verifyReceipt,
  type LedgerEvidence,
} from "./receipt-verification.ts";

const ORIGIN = "vaultmesh.cloud/remembrancer";
const clock = fixedClock("2026-06-01T10:00:00.000Z");
const key = ed25519Signer(generateEd25519().privateKeyPem);
const stranger = ed25519Signer(generateEd25519().privateKeyPem);
const trust: TrustBundle = {
  format: "vaultmesh.cloud/trust-bundle/v1",
  origin: ORIGIN,
  ed25519: [{ keyId: key.keyId, publicKey: key.publicKey }],
  openpgp: [],
  tsa: [],
};

const input = (n: number): Parameters<typeof createReceipt>[0] => ({
  type: "WorkloadCompleted",
  subject: { apiVersion: "vaultmesh.cloud/v1alpha1", kind: "GPUWorkload", name: `w${n}` },
  payload: { attempt: 1, outcome: "Succeeded", gpuSeconds: 60 * n, cost: 0.01 * n },
});
const a = createReceipt(input(1), key, clock);
const b = createReceipt(input(2), key, clock);
const leafA = leafHashOf(a);
const leafB = leafHashOf(b);
const entry = (r: Receipt, logIndex: number): LedgerEntry => ({
  logIndex,
  leafHash: leafHashOf(r),
  receipt: r,
  appendedAt: clock.now().toISOString(),
});
const head = (size: number, root: Uint8Array, signer: Ed25519Signer = key): SignedTreeHead => ({
  treeSize: size,
  rootHash: toHex(root),
  checkpoint: signNote(
    formatCheckpoint({ origin: ORIGIN, size, root, extensions: [] }),
    ORIGIN,
    signer,
  ),
  createdAt: clock.now().toISOString(),
});
// The log [a, b]: a tree of one leaf (a), then of two.
const root1 = fromHex(leafA);
const root2 = hashChildren(fromHex(leafA), fromHex(leafB));
const head1 = head(1, root1);
const head2 = head(2, root2);

/** Evidence for receipt `a` at index 0, proven in head1 and consistent with head2. */
const good: LedgerEvidence = {
  lookedUp: { logIndex: 0 },
  entry: entry(a, 0),
  head: head1,
  proof: { logIndex: 0, treeSize: 1, hashes: [] },
  latest: head2,
  consistency: [leafB],
  trust,
};

/** The Receipt resource's spec the GPUWorkload controller writes for a ledger receipt. */
const specOf = (r: Receipt): ReceiptSpec => ({
  type: r.type as ReceiptSpec["type"],
  subject: r.subject as ReceiptSpec["subject"],
  payload: r.payload as Record<string, unknown>,
  digest: r.digest,
  issuedAt: r.issuedAt,
  signatures: r.signatures.map((s) => ({ keyId: s.keyId, algorithm: "Ed25519", value: s.value })),
});

describe("ledgerReceiptOf", () => {
  it("turns a Receipt view back into the ledger's receipt, leaf hash and all", () => {
    const back = ledgerReceiptOf(specOf(a));
    expect(back).toEqual(a);
    expect(leafHashOf(back)).toBe(leafA);
  });
});

describe("verifyReceipt", () => {
  it("proves a logged receipt against the recorded head and the latest", () => {
    expect(verifyReceipt(a, good)).toMatchObject({
      ok: true,
      logIndex: 0,
      leafHash: leafA,
      treeSize: 1,
      rootHash: toHex(root1),
    });
  });

  it("proves a receipt directly against the latest head", () => {
    const wantProof = { logIndex: 1, treeSize: 2, hashes: [leafA] };
    const ev = { ...good, entry: entry(b, 1), head: head2, proof: wantProof, consistency: [] };
    expect(verifyReceipt(b, ev)).toMatchObject({ ok: true, treeSize: 2, rootHash: toHex(root2) });
  });

  const tampered: Receipt = { ...a, payload: { ...(a.payload as object), gpuSeconds: 99999 } };
  const foreign = createReceipt(input(3), stranger, clock);
  it.each([
    {
      name: "no entry at status.logIndex",
      r: a,
      ev: { ...good, lookedUp: { logIndex: 7 }, entry: undefined },
      want: "NotInLedger",
      wantMessage: /status\.logIndex 7/,
    },
    {
      name: "no entry with its leaf hash (applied by hand)",
      r: tampered,
      ev: { ...good, lookedUp: { leafHash: leafHashOf(tampered) }, entry: undefined },
      want: "NotInLedger",
      wantMessage: /leaf hash/,
    },
    {
      name: "a tampered payload",
      r: tampered,
      ev: good,
      want: "LeafMismatch",
      wantMessage: /ledger entry 0 holds a different receipt.*spec\.digest does not match/,
    },
    {
      name: "status.logIndex pointing at another entry",
      r: a,
      ev: { ...good, entry: entry(b, 1) },
      want: "LeafMismatch",
      wantMessage: /ledger entry 1 holds a different receipt/,
    },
    {
      name: "a digest that does not match the content",
      r: { ...a, digest: b.digest },
      ev: { ...good, entry: entry({ ...a, digest: b.digest }, 0) },
      want: "DigestMismatch",
      wantMessage: /spec\.digest/,
    },
    {
      name: "a signature by a key the ledger does not trust",
      r: foreign,
      ev: { ...good, entry: entry(foreign, 0), head: head(1, fromHex(leafHashOf(foreign))) },
      want: "BadSignature",
      wantMessage: /not trusted/,
    },
    {
      name: "a signature that does not match",
      r: { ...a, signatures: [{ ...a.signatures[0]!, value: b.signatures[0]!.value }] },
      ev: {
        ...good,
        entry: entry(
          { ...a, signatures: [{ ...a.signatures[0]!, value: b.signatures[0]!.value }] },
          0,
        ),
      },
      want: "BadSignature",
      wantMessage: /does not match/,
    },
    {
      name: "a tree head signed by another key",
      r: a,
      ev: { ...good, head: head(1, root1, stranger) },
      want: "BadTreeHead",
      wantMessage: /not signed by a trusted key/,
    },
    {
      name: "an inclusion proof that leads elsewhere",
      r: a,
      ev: {
        ...good,
        head: head2,
        proof: { logIndex: 0, treeSize: 2, hashes: [leafA] },
        consistency: [],
      },
      want: "ProofFailed",
      wantMessage: /does not lead to the tree head's root/,
    },
    {
      name: "a recorded head the latest does not extend",
      r: a,
      ev: { ...good, latest: head(2, hashChildren(fromHex(leafB), fromHex(leafB))) },
      want: "ProofFailed",
      wantMessage: /not a prefix of the latest/,
    },
    {
      name: "no signed tree head",
      r: a,
      ev: { ...good, head: undefined, latest: undefined },
      want: "BadTreeHead",
      wantMessage: /no signed tree head/,
    },
  ])("$name → $want", ({ r, ev, want, wantMessage }) => {
    const v = verifyReceipt(r, ev);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.reason).toBe(want);
    expect(v.message).toMatch(wantMessage);
  });
});
