import { describe, expect, it } from "@jest/globals";
import { toHex } from "../../../services/ledger/canonical-json.ts";
import { formatCheckpoint, signNote } from "../../../services/ledger/checkpoint.ts";
import { ed25519Signer, generateEd25519 } from "../../../services/ledger/ed25519.ts";
import { mergedRoot } from "../../../services/federation/merged-root.ts";
import type { PeerSyncOutcome } from "../../../services/federation/peer-sync.ts";
import { mergedRootOfNotes, roundOf } from "./federationpeer-round.ts";

const root = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const note = (origin: string, size: number, r: number): string => {
  const signer = ed25519Signer(generateEd25519().privateKeyPem);
  return signNote(
    formatCheckpoint({ origin, size, root: root(r), extensions: [] }),
    origin,
    signer,
  );
};
const PEER = note("peer.test/log", 7, 1);
const US = note("us.test/log", 3, 2);

const base: PeerSyncOutcome = {
  reachable: true,
  consistent: true,
  synced: true,
  quarantined: false,
  reason: "Synced",
  message: "",
  trusted: { size: 7, rootHash: toHex(root(1)), note: PEER },
  peerCosignedUs: { size: 3, rootHash: toHex(root(2)), note: US, cosignedAt: 1_800_000_000 },
};

describe("roundOf", () => {
  it.each<[string, Partial<PeerSyncOutcome>, boolean | undefined]>([
    ["a synced round", {}, true],
    ["a refused push after a good pull", { synced: false, reason: "Refused" }, true],
    ["a fork", { synced: false, consistent: false, reason: "Forked" }, false],
    ["a rollback", { synced: false, consistent: false, reason: "RolledBack" }, false],
    ["an unreachable peer", { reachable: false, synced: false, reason: "Unreachable" }, undefined],
    ["a bad signature", { synced: false, reason: "BadSignature" }, undefined],
    ["a replayed checkpoint", { synced: false, reason: "Replayed" }, undefined],
  ])("%s: consistent is %s", (_what, edit, wantConsistent) => {
    expect(roundOf({ ...base, ...edit }).consistent).toBe(wantConsistent);
  });

  it("mirrors both checkpoints and the merged root of a synced pair", () => {
    const r = roundOf(base);
    expect(r).toMatchObject({
      peer: { size: 7, root: toHex(root(1)) },
      local: { size: 3, root: toHex(root(2)), cosignedAt: new Date(1_800_000_000_000) },
      mergedRoot: toHex(mergedRoot(PEER.split("\n\n")[0] + "\n", US.split("\n\n")[0] + "\n").root),
    });
  });

  it("has no merged root when the round did not sync", () => {
    expect(roundOf({ ...base, synced: false, reason: "Refused" }).mergedRoot).toBeUndefined();
  });
});

describe("mergedRootOfNotes", () => {
  it("is the same whichever note comes first, and undefined for one origin twice", () => {
    expect(mergedRootOfNotes(PEER, US)).toBe(mergedRootOfNotes(US, PEER));
    expect(mergedRootOfNotes(PEER, PEER)).toBeUndefined();
  });
});
