import { describe, expect, it } from "@jest/globals";
import { fromBase64, toBase64 } from "../ledger/canonical-json.ts";
import { formatCheckpoint, signNote, verifierKey } from "../ledger/checkpoint.ts";
import { ed25519Signer, generateEd25519 } from "../ledger/ed25519.ts";
import { EMPTY_ROOT, type Hash } from "../ledger/merkle.ts";
import { receiptDigest } from "../ledger/receipt.ts";
import { addCosignature, createWitness } from "./cosignature.ts";
import {
  buildMisbehaviourReceiptInput,
  FEDERATION_INCONSISTENT,
  MisbehaviourFinding,
  MisbehaviourFormatError,
  parseMisbehaviourPayload,
  verifyMisbehaviourPayload,
  type FederationInconsistentPayload,
} from "./misbehaviour-receipt.ts";
import type { MisbehaviourEvidence } from "./peer-sync.ts";
import { merkleLog, type MerkleLog } from "../../test/builders/merkle-log.ts";
import { flipSignatureBit } from "../../test/builders/signed-note.ts";

const ORIGIN = "peer.example/log";
const logKey = ed25519Signer(generateEd25519().privateKeyPem);
const otherKey = ed25519Signer(generateEd25519().privateKeyPem);
const LOG_VKEY = verifierKey(ORIGIN, fromBase64(logKey.publicKey));
const witness = createWitness(
  "us.example/log/witness",
  ed25519Signer(generateEd25519().privateKeyPem),
  [logKey.publicKey],
);
const T = 1_796_371_200;

/** A log's roots, and its proofs as base64 (as the evidence carries them). */
function proofsAsBase64(log: MerkleLog): {
  root: (n: number) => Hash;
  proof: (m: number, n: number) => string[];
} {
  return { root: (n) => log.root(n), proof: (m, n) => log.proof(m, n).map(toBase64) };
}
const honest = proofsAsBase64(merkleLog((i) => `honest ${i}`, 30));
const forked = proofsAsBase64(merkleLog((i) => `forked ${i}`, 30));

const body = (size: number, root: Hash): string =>
  formatCheckpoint({ origin: ORIGIN, size, root, extensions: [] });
const logNote = (size: number, root: Hash, key = logKey): string =>
  signNote(body(size, root), ORIGIN, key);
/** The checkpoint our witness had cosigned. */
const trustedNote = (size: number): string =>
  addCosignature(
    logNote(size, honest.root(size)),
    witness.cosign(body(size, honest.root(size)), T),
  );

function evidence(over: Partial<MisbehaviourEvidence>): MisbehaviourEvidence {
  return {
    kind: "Forked",
    origin: ORIGIN,
    logVkeys: [LOG_VKEY],
    trustedNote: trustedNote(10),
    offeredNote: logNote(10, forked.root(10)),
    detectedAt: "2026-12-03T10:00:00.000Z",
    detail: "size 10 was cosigned with another root",
    ...over,
  };
}
const payloadOf = (e: MisbehaviourEvidence): FederationInconsistentPayload =>
  parseMisbehaviourPayload(buildMisbehaviourReceiptInput(e, witness.vkey).payload);

describe("buildMisbehaviourReceiptInput", () => {
  it("is a FederationInconsistent receipt about the log, holding both notes", () => {
    const input = buildMisbehaviourReceiptInput(evidence({}), witness.vkey);
    expect(input.type).toBe(FEDERATION_INCONSISTENT);
    expect(input.subject).toEqual({
      apiVersion: "vaultmesh.cloud/v1alpha1",
      kind: "FederationLog",
      name: expect.stringMatching(/^log-[0-9a-f]{24}$/),
    });
    const p = payloadOf(evidence({}));
    expect([p.trusted.treeSize, p.offered.treeSize, p.origin]).toEqual([10, 10, ORIGIN]);
  });

  it("has the same digest when the same conflict is detected again later", () => {
    const again = evidence({ detectedAt: "2026-12-04T00:00:00.000Z", detail: "seen again" });
    expect(receiptDigest(buildMisbehaviourReceiptInput(again, witness.vkey))).toBe(
      receiptDigest(buildMisbehaviourReceiptInput(evidence({}), witness.vkey)),
    );
  });

  it("refuses evidence with an unreadable note, naming it", () => {
    expect(() =>
      buildMisbehaviourReceiptInput(evidence({ offeredNote: "x" }), witness.vkey),
    ).toThrow(/^offeredNote: /);
  });
});

describe("verifyMisbehaviourPayload", () => {
  const proof = (
    first: number,
    second: number,
    hashes: string[],
  ): MisbehaviourEvidence["proof"] => ({
    first,
    second,
    hashes,
  });
  it.each<[string, Partial<MisbehaviourEvidence>, RegExp, MisbehaviourFinding]>([
    [
      "the same size with another root",
      {},
      /^SameSizeOtherRoot: .*a fork, proven/,
      MisbehaviourFinding.SameSizeOtherRoot,
    ],
    [
      "a larger checkpoint whose proof does not verify",
      { offeredNote: logNote(20, forked.root(20)), proof: proof(10, 20, forked.proof(10, 20)) },
      /^ProofFails: /,
      MisbehaviourFinding.ProofFails,
    ],
    [
      "a smaller checkpoint with no proof",
      { kind: "RolledBack", offeredNote: logNote(5, forked.root(5)) },
      /^RolledBack: .*no consistency proof was served/,
      MisbehaviourFinding.RolledBack,
    ],
  ])("holds for %s", (_, over, wantConflict, wantFinding) => {
    const r = verifyMisbehaviourPayload(payloadOf(evidence(over)), [LOG_VKEY]);
    expect(r.ok).toBe(true);
    expect(r.pinned).toBe(true);
    expect(r.finding).toBe(wantFinding);
    expect(r.checks.find((c) => c.link === "conflict")?.detail).toMatch(wantConflict);
  });

  it.each<[string, Partial<MisbehaviourEvidence>, string[] | undefined, string]>([
    [
      "an honest larger checkpoint (its proof verifies)",
      { offeredNote: logNote(20, honest.root(20)), proof: proof(10, 20, honest.proof(10, 20)) },
      [LOG_VKEY],
      "conflict",
    ],
    [
      "an old checkpoint that is a prefix",
      {
        kind: "RolledBack",
        offeredNote: logNote(5, honest.root(5)),
        proof: proof(5, 10, honest.proof(5, 10)),
      },
      [LOG_VKEY],
      "conflict",
    ],
    [
      "a fork between two sizes without the failing proof",
      { offeredNote: logNote(20, forked.root(20)) },
      [LOG_VKEY],
      "conflict",
    ],
    [
      "a proof for other sizes",
      { offeredNote: logNote(20, forked.root(20)), proof: proof(5, 20, forked.proof(5, 20)) },
      [LOG_VKEY],
      "conflict",
    ],
    ["a rollback kind for two roots of one size", { kind: "RolledBack" }, [LOG_VKEY], "conflict"],
    [
      "a note the pinned key did not sign",
      { offeredNote: logNote(10, forked.root(10), otherKey) },
      [LOG_VKEY],
      "offered checkpoint log signature",
    ],
    [
      "a checker pinning another key",
      {},
      [verifierKey(ORIGIN, fromBase64(otherKey.publicKey))],
      "trusted checkpoint log signature",
    ],
  ])("fails on %s, naming the link", (_, over, pins, wantLink) => {
    const r = verifyMisbehaviourPayload(payloadOf(evidence(over)), pins);
    expect(r.ok).toBe(false);
    expect(r.finding).toBeUndefined();
    expect(r.checks.find((c) => !c.ok)?.link).toBe(wantLink);
  });

  it("says when the keys came from the evidence itself", () => {
    expect(verifyMisbehaviourPayload(payloadOf(evidence({}))).pinned).toBe(false);
  });

  it("fails when our cosignature of the trusted note was altered", () => {
    const p = payloadOf(evidence({}));
    const r = verifyMisbehaviourPayload(
      { ...p, trusted: { ...p.trusted, note: flipSignatureBit(p.trusted.note, witness.name) } },
      [LOG_VKEY],
    );
    expect(r.checks.find((c) => !c.ok)?.link).toBe("trusted checkpoint cosignature");
  });
});

describe("parseMisbehaviourPayload", () => {
  const good = (): Record<string, unknown> =>
    JSON.parse(JSON.stringify(payloadOf(evidence({})))) as Record<string, unknown>;
  it.each<[string, (p: Record<string, unknown>) => void, RegExp]>([
    ["another format", (p) => (p.format = "x"), /^payload\.format: /],
    ["an unknown kind", (p) => (p.kind = "Lied"), /^payload\.kind: /],
    ["no log keys", (p) => (p.logKeys = []), /^payload\.logKeys: /],
    [
      "a size that is not the note's",
      (p) => ((p.offered as { treeSize: number }).treeSize = 11),
      /^payload\.offered\.treeSize: /,
    ],
    [
      "64 proof hashes",
      (p) => (p.proof = { first: 1, second: 2, hashes: Array(64).fill(toBase64(EMPTY_ROOT)) }),
      /^payload\.proof\.hashes: /,
    ],
    ["an extra field", (p) => (p.detectedAt = "now"), /^payload\.detectedAt: unexpected/],
  ])("names the field of %s", (_, edit, want) => {
    const p = good();
    edit(p);
    expect(() => parseMisbehaviourPayload(p)).toThrow(MisbehaviourFormatError);
    expect(() => parseMisbehaviourPayload(p)).toThrow(want);
  });
});
