import { describe, expect, it } from "@jest/globals";
import { fromBase64, toHex, type JsonValue } from "../ledger/canonical-json.ts";
import { formatCheckpoint, signNote, verifierKey } from "../ledger/checkpoint.ts";
import { fixedClock } from "../ledger/clock.ts";
import { ed25519Signer, generateEd25519, type Ed25519Signer } from "../ledger/ed25519.ts";
import { receiptDigest, signReceipt, type Receipt } from "../ledger/receipt.ts";
import { addCosignature, createWitness, type Witness } from "./cosignature.ts";
import {
  buildFederationProposal,
  buildFederationReceiptInput,
  FEDERATION_ACCEPTANCE_FORMAT,
  FEDERATION_SYNCED,
  FederationReceiptFormatError,
  FederationReceiptReason,
  parseFederationProposal,
  type FederationCheckView,
  type FederationPairInput,
  type FederationSyncedPayload,
} from "./federation-receipt.ts";
import {
  checkFederationAcceptance,
  checkFederationProposal,
  payloadParts,
} from "./federation-receipt-check.ts";
import { mergedRoot } from "./merged-root.ts";
import { flipSignatureBit } from "../../test/builders/signed-note.ts";

const NOW = new Date("2026-12-03T10:00:00Z");
const T = NOW.getTime() / 1000;
const clock = fixedClock(NOW);

interface Party {
  readonly origin: string;
  readonly log: Ed25519Signer;
  readonly witness: Witness;
  readonly logVkey: string;
  readonly size: number;
  readonly root: Uint8Array;
}

function party(origin: string, size: number): Party {
  const log = ed25519Signer(generateEd25519().privateKeyPem);
  const w = ed25519Signer(generateEd25519().privateKeyPem);
  return {
    origin,
    log,
    witness: createWitness(`${origin}/witness`, w, [log.publicKey]),
    logVkey: verifierKey(origin, fromBase64(log.publicKey)),
    size,
    root: new Uint8Array(32).fill(size),
  };
}

const A = party("a.example/log", 5);
const B = party("b.example/log", 7);
const body = (p: Party): string =>
  formatCheckpoint({ origin: p.origin, size: p.size, root: p.root, extensions: [] });
/** `p`'s checkpoint, log-signed, cosigned by `by`'s witness at `t`. */
const cosigned = (p: Party, by: Party, t = T - 60): string =>
  addCosignature(signNote(body(p), p.origin, p.log), by.witness.cosign(body(p), t));
/** What `by`'s witness stored when it first cosigned `p`'s checkpoint. */
const rowOf = (p: Party, by: Party): string => cosigned(p, by, T - 120);

const ident = (p: Party): { origin: string; logKey: string; witnessKey: string } => ({
  origin: p.origin,
  logKey: p.logVkey,
  witnessKey: p.witness.vkey,
});
/** The pair as `self` proposes it: its own note from a push answer, the peer's from its row. */
const pairOf = (self: Party, peer: Party, ownNote = rowOf(self, peer)): FederationPairInput => ({
  self: ident(self),
  peer: ident(peer),
  ownNote,
  peerNote: rowOf(peer, self),
});
/** What `self` knows when checking a payload with `peer`. */
function viewOf(
  self: Party,
  peer: Party,
  over: Partial<FederationCheckView> = {},
): FederationCheckView {
  return {
    self: { origin: self.origin, logKeys: [self.logVkey], witnessKey: self.witness.vkey },
    peer: { origin: peer.origin, logKeys: [peer.logVkey], witnessKey: peer.witness.vkey },
    witnessed: { size: peer.size, rootHash: toHex(peer.root), note: rowOf(peer, self) },
    ownTreeHead: { treeSize: self.size, rootHash: toHex(self.root) },
    now: NOW,
    ...over,
  };
}
interface EditableSide {
  logKey: string;
  witnessKey: string;
  checkpoint: string;
  treeSize: number;
  rootHash: string;
}
interface Editable {
  sides: [EditableSide, EditableSide];
  merge: { root: string; leafHashes: string[] };
  extra?: number;
}
/** A proposal by A whose payload was changed by `edit` and signed again by A's log key. */
function tampered(edit: (p: Editable) => void, signer = A.log): Receipt {
  const input = buildFederationReceiptInput(pairOf(A, B));
  const payload = JSON.parse(JSON.stringify(input.payload)) as Editable;
  edit(payload);
  return signReceipt({ ...input, payload: payload as unknown as JsonValue }, signer, clock).receipt;
}
const propose = (receipt: Receipt): ReturnType<typeof checkFederationProposal> =>
  checkFederationProposal(
    { format: "vaultmesh.cloud/federation-proposal/v1", receipt },
    viewOf(B, A),
  );

describe("buildFederationReceiptInput", () => {
  it("orders the sides by origin and states the merged root with its leaf hashes", () => {
    const input = buildFederationReceiptInput(pairOf(B, A));
    const p = input.payload as unknown as FederationSyncedPayload;
    expect(input.type).toBe(FEDERATION_SYNCED);
    expect(p.sides.map((s) => s.origin)).toEqual([A.origin, B.origin]);
    expect(p.sides.map((s) => s.treeSize)).toEqual([5, 7]);
    expect(p.merge.root).toBe(toHex(mergedRoot(body(A), body(B)).root));
    expect(input.subject).toEqual({
      apiVersion: "vaultmesh.cloud/v1alpha1",
      kind: "FederationPair",
      name: expect.stringMatching(/^pair-[0-9a-f]{24}$/),
    });
    expect(payloadParts(p, NOW).every((x) => x.ok)).toBe(true);
  });

  it("is the same receipt digest whichever side builds it", () => {
    expect(receiptDigest(buildFederationReceiptInput(pairOf(A, B)))).toBe(
      receiptDigest(buildFederationReceiptInput(pairOf(B, A))),
    );
  });

  it.each<[string, Partial<FederationPairInput>, string]>([
    ["an unreadable own note", { ownNote: "not a note" }, "ownNote"],
    ["a peer note of another origin", { peerNote: rowOf(A, B) }, "peerNote"],
  ])("refuses %s, naming the input", (_, over, wantField) => {
    let err: unknown;
    try {
      buildFederationReceiptInput({ ...pairOf(A, B), ...over });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FederationReceiptFormatError);
    expect((err as FederationReceiptFormatError).field).toBe(wantField);
  });
});

describe("checkFederationProposal", () => {
  it("accepts a proposal whose every part checks, returning the input to append", () => {
    const proposal = buildFederationProposal(pairOf(A, B), A.log, clock);
    const r = checkFederationProposal(proposal, viewOf(B, A));
    expect(r).toMatchObject({ ok: true });
    if (r.ok) expect(receiptDigest(r.input)).toBe(proposal.receipt.digest);
  });

  it("replaces the proposer's own note by the one this witness stored, so both digests agree", () => {
    // A's push was answered with a fresh cosignature (another timestamp than B's stored row).
    const proposal = buildFederationProposal(pairOf(A, B, cosigned(A, B, T - 5)), A.log, clock);
    const r = checkFederationProposal(proposal, viewOf(B, A));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const canonical = receiptDigest(buildFederationReceiptInput(pairOf(A, B)));
    expect(receiptDigest(r.input)).not.toBe(proposal.receipt.digest);
    expect(receiptDigest(r.input)).toBe(canonical);
    // A accepts B's signed receipt of the canonical payload and appends the same input.
    const bReceipt = signReceipt(r.input, B.log, clock).receipt;
    const back = checkFederationAcceptance(
      {
        format: FEDERATION_ACCEPTANCE_FORMAT,
        receipt: bReceipt,
        entry: { logIndex: 0, leafHash: "0".repeat(64) },
      },
      viewOf(A, B),
    );
    expect(back.ok && receiptDigest(back.input)).toBe(canonical);
  });

  const R = FederationReceiptReason;
  it.each<[string, () => ReturnType<typeof checkFederationProposal>, string, string]>([
    [
      "a peer this ledger does not pin",
      () =>
        checkFederationProposal(
          buildFederationProposal(pairOf(A, B), A.log, clock),
          viewOf(B, A, { peer: undefined }),
        ),
      R.BadReceiptSignature,
      "receipt.signatures",
    ],
    [
      "another ledger's pair",
      () =>
        checkFederationProposal(
          buildFederationProposal(pairOf(A, B), A.log, clock),
          viewOf(party("c.example/log", 1), A),
        ),
      R.UnknownPeer,
      "receipt.payload.sides",
    ],
    [
      "a proposal signed by another key",
      () => propose(tampered(() => undefined, B.log)),
      R.BadReceiptSignature,
      "receipt.signatures",
    ],
    [
      "a payload log key that is not the pinned one",
      () =>
        propose(
          tampered((p) => (p.sides[0].logKey = verifierKey(A.origin, fromBase64(B.log.publicKey)))),
        ),
      R.KeyMismatch,
      "receipt.payload.sides[0].logKey",
    ],
    [
      "a peer witness key that is not the pinned one",
      () => propose(tampered((p) => (p.sides[0].witnessKey = B.witness.vkey))),
      R.KeyMismatch,
      "receipt.payload.sides[0].witnessKey",
    ],
    [
      "our witness key replaced",
      () => propose(tampered((p) => (p.sides[1].witnessKey = A.witness.vkey))),
      R.KeyMismatch,
      "receipt.payload.sides[1].witnessKey",
    ],
    [
      "a flipped bit in the proposer's log signature",
      () =>
        propose(
          tampered(
            (p) => (p.sides[0].checkpoint = flipSignatureBit(p.sides[0].checkpoint, A.origin)),
          ),
        ),
      R.BadLogSignature,
      "receipt.payload.sides[0].checkpoint",
    ],
    [
      "a flipped bit in our cosignature of the proposer",
      () =>
        propose(
          tampered(
            (p) =>
              (p.sides[0].checkpoint = flipSignatureBit(p.sides[0].checkpoint, B.witness.name)),
          ),
        ),
      R.BadCosignature,
      "receipt.payload.sides[0].checkpoint",
    ],
    [
      "a flipped bit in the proposer's cosignature of us",
      () =>
        propose(
          tampered(
            (p) =>
              (p.sides[1].checkpoint = flipSignatureBit(p.sides[1].checkpoint, A.witness.name)),
          ),
        ),
      R.BadCosignature,
      "receipt.payload.sides[1].checkpoint",
    ],
    [
      "our checkpoint without the proposer's cosignature",
      () => propose(tampered((p) => (p.sides[1].checkpoint = signNote(body(B), B.origin, B.log)))),
      R.BadCosignature,
      "receipt.payload.sides[1].checkpoint",
    ],
    [
      "a cosignature dated an hour ahead",
      () => propose(tampered((p) => (p.sides[0].checkpoint = cosigned(A, B, T + 3600)))),
      R.FutureTimestamp,
      "receipt.payload.sides[0].checkpoint",
    ],
    [
      "a stated size that is not the note's",
      () => propose(tampered((p) => (p.sides[0].treeSize = 6))),
      R.MergedRootMismatch,
      "receipt.payload.sides[0].treeSize",
    ],
    [
      "a merged root that does not recompute",
      () => propose(tampered((p) => (p.merge.root = "0".repeat(64)))),
      R.MergedRootMismatch,
      "receipt.payload.merge.root",
    ],
    [
      "a wrong leaf hash",
      () => propose(tampered((p) => (p.merge.leafHashes[1] = "0".repeat(64)))),
      R.MergedRootMismatch,
      "receipt.payload.merge.leafHashes[1]",
    ],
    [
      "sides out of origin order",
      () => propose(tampered((p) => void p.sides.reverse())),
      R.MergedRootMismatch,
      "receipt.payload.sides",
    ],
    [
      "a peer checkpoint our witness never cosigned",
      () =>
        checkFederationProposal(
          buildFederationProposal(pairOf(A, B), A.log, clock),
          viewOf(B, A, { witnessed: undefined }),
        ),
      R.NotWitnessed,
      "receipt.payload.sides[0].checkpoint",
    ],
    [
      "a peer root other than the one we cosigned",
      () =>
        checkFederationProposal(
          buildFederationProposal(pairOf(A, B), A.log, clock),
          viewOf(B, A, { witnessed: { size: 5, rootHash: "1".repeat(64), note: rowOf(A, B) } }),
        ),
      R.NotWitnessed,
      "receipt.payload.sides[0].checkpoint",
    ],
    [
      "a checkpoint of ours we never issued",
      () =>
        checkFederationProposal(
          buildFederationProposal(pairOf(A, B), A.log, clock),
          viewOf(B, A, { ownTreeHead: undefined }),
        ),
      R.NotOurCheckpoint,
      "receipt.payload.sides[1].checkpoint",
    ],
    [
      "our size with another root",
      () =>
        checkFederationProposal(
          buildFederationProposal(pairOf(A, B), A.log, clock),
          viewOf(B, A, { ownTreeHead: { treeSize: 7, rootHash: "2".repeat(64) } }),
        ),
      R.NotOurCheckpoint,
      "receipt.payload.sides[1].checkpoint",
    ],
    [
      "a digest that is not the payload's",
      () => propose({ ...tampered(() => undefined), digest: `sha256:${"3".repeat(64)}` }),
      R.Malformed,
      "receipt.digest",
    ],
  ])("refuses %s", (_, run, wantReason, wantField) => {
    expect(run()).toMatchObject({ ok: false, reason: wantReason, field: wantField });
  });

  it("refuses an acceptance whose payload is not the canonical one", () => {
    // B's answer carries B's checkpoint with another cosignature of A than A's witness stored.
    const other = tampered((p) => (p.sides[1].checkpoint = cosigned(B, A, T - 5)), B.log);
    const r = checkFederationAcceptance(
      {
        format: FEDERATION_ACCEPTANCE_FORMAT,
        receipt: other,
        entry: { logIndex: 0, leafHash: "0".repeat(64) },
      },
      viewOf(A, B),
    );
    expect(r).toMatchObject({ ok: false, reason: R.DigestMismatch, field: "receipt.payload" });
  });
});

describe("parseFederationProposal", () => {
  it.each<[string, unknown, string]>([
    ["not an object", "x", "proposal"],
    ["another format", { format: "x", receipt: {} }, "format"],
    [
      "a receipt of another type",
      {
        format: "vaultmesh.cloud/federation-proposal/v1",
        receipt: { ...buildFederationProposal(pairOf(A, B), A.log, clock).receipt, type: "deploy" },
      },
      "receipt.type",
    ],
    [
      "a payload without sides",
      {
        format: "vaultmesh.cloud/federation-proposal/v1",
        receipt: tampered((p) => Reflect.deleteProperty(p, "sides")),
      },
      "receipt.payload.sides",
    ],
    [
      "an extra payload field",
      { format: "vaultmesh.cloud/federation-proposal/v1", receipt: tampered((p) => (p.extra = 1)) },
      "receipt.payload.extra",
    ],
    [
      "a non-hex root",
      {
        format: "vaultmesh.cloud/federation-proposal/v1",
        receipt: tampered((p) => (p.sides[1].rootHash = "Z".repeat(64))),
      },
      "receipt.payload.sides[1].rootHash",
    ],
  ])("names the field of %s", (_, value, wantField) => {
    expect(() => parseFederationProposal(value)).toThrow(FederationReceiptFormatError);
    try {
      parseFederationProposal(value);
    } catch (err) {
      expect((err as FederationReceiptFormatError).field).toBe(wantField);
    }
  });
});
