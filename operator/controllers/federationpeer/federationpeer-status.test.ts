import { describe, expect, it } from "@jest/globals";
import type { FederationPeer } from "../../../crds/index.ts";
import {
  computeFederationPeerStatus,
  msUntilDue,
  nextSyncDelayMs,
  readyCondition,
  type FederationPeerObservation,
  type SyncRound,
} from "./federationpeer-status.ts";

const NOW = new Date("2026-12-03T10:00:00Z");
const ROOT_A = "a".repeat(64);
const ROOT_B = "b".repeat(64);
const MERGED = "c".repeat(64);
const DIGEST = `sha256:${"d".repeat(64)}`;

function peer(status?: FederationPeer["status"], generation = 1): FederationPeer {
  return {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "FederationPeer",
    metadata: { name: "eu", generation },
    spec: {
      endpoint: "http://127.0.0.1:1",
      trustAnchor: {
        origin: "eu.example/log",
        keys: [{ keyId: "k", algorithm: "Ed25519", publicKey: "x" }],
        witnessKey: "eu.example/witness+00000000+B" + "A".repeat(43),
      },
      syncIntervalSeconds: 60,
      suspended: false,
    },
    ...(status ? { status } : {}),
  };
}

const synced: SyncRound = {
  reachable: true,
  consistent: true,
  synced: true,
  reason: "Synced",
  message: "",
  peer: { size: 7, root: ROOT_A },
  local: { size: 3, root: ROOT_B, cosignedAt: new Date("2026-12-03T09:59:59Z") },
  mergedRoot: MERGED,
};
const unreachable: SyncRound = {
  reachable: false,
  consistent: undefined,
  synced: false,
  reason: "Unreachable",
  message: "connection refused",
};
const forked: SyncRound = {
  reachable: true,
  consistent: false,
  synced: false,
  reason: "Forked",
  message: "same size 7, another root",
};

type Want = Record<string, [status: string, reason: string]>;
const conds = (o: FederationPeerObservation, p = peer()): Want =>
  Object.fromEntries(
    (computeFederationPeerStatus(p, o, NOW).conditions ?? []).map((c) => [
      c.type,
      [c.status, c.reason],
    ]),
  );

describe("computeFederationPeerStatus conditions", () => {
  it.each<[string, FederationPeerObservation, Want]>([
    [
      "a synced round",
      { round: synced },
      {
        Reachable: ["True", "Reachable"],
        Consistent: ["True", "Consistent"],
        Synced: ["True", "Synced"],
        Ready: ["True", "Ready"],
      },
    ],
    [
      "an unreachable peer, first round",
      { round: unreachable },
      {
        Reachable: ["False", "Unreachable"],
        Consistent: ["Unknown", "NotChecked"],
        Synced: ["False", "Unreachable"],
        Ready: ["False", "Unreachable"],
      },
    ],
    [
      "a forked peer",
      { round: forked },
      {
        Reachable: ["True", "Reachable"],
        Consistent: ["False", "Forked"],
        Synced: ["False", "Forked"],
        Ready: ["False", "Forked"],
      },
    ],
    [
      "a caught misbehaviour (no round)",
      { inconsistency: { reason: "RolledBack", detectedAt: "2026-12-03T09:00:00Z" } },
      {
        Consistent: ["False", "RolledBack"],
        Synced: ["False", "Inconsistent"],
        Ready: ["False", "RolledBack"],
      },
    ],
    [
      "a suspended peer",
      { blocked: { reason: "Suspended", message: "spec.suspended is true" } },
      {
        Consistent: ["Unknown", "Pending"],
        Synced: ["False", "Suspended"],
        Ready: ["False", "Suspended"],
      },
    ],
  ])("%s", (_what, o, want) => {
    expect(conds(o)).toEqual(want);
  });

  it("keeps an earlier Consistent verdict when a round cannot decide it", () => {
    const before = computeFederationPeerStatus(peer(), { round: synced }, NOW);
    const after = computeFederationPeerStatus(peer(before), { round: unreachable }, NOW);
    const c = after.conditions?.find((x) => x.type === "Consistent");
    expect([c?.status, c?.reason]).toEqual(["True", "Consistent"]);
    expect(after.conditions?.find((x) => x.type === "Ready")?.reason).toBe("Unreachable");
  });

  it("never clears an inconsistency, even after a round that looks fine", () => {
    const caught = computeFederationPeerStatus(
      peer(),
      { inconsistency: { reason: "Forked", detectedAt: "2026-12-03T09:00:00Z" } },
      NOW,
    );
    const later = computeFederationPeerStatus(peer(caught), { round: synced }, NOW);
    expect(later.inconsistency?.reason).toBe("Forked");
    expect(later.conditions?.find((x) => x.type === "Consistent")?.status).toBe("False");
    expect(later.conditions?.find((x) => x.type === "Synced")?.reason).toBe("Inconsistent");
    expect(later.lastSyncTime).toBeUndefined();
  });
});

describe("computeFederationPeerStatus fields", () => {
  it("mirrors a synced round's checkpoints, merged root, times and receipt", () => {
    const next = new Date(NOW.getTime() + 60_000);
    const s = computeFederationPeerStatus(
      peer(),
      {
        round: synced,
        nextSyncTime: next,
        federationReceipt: { name: "fed-eu-ddd", namespace: "vaultmesh-system", digest: DIGEST },
      },
      NOW,
    );
    expect(s).toMatchObject({
      observedGeneration: 1,
      peerTreeSize: 7,
      peerRoot: ROOT_A,
      localTreeSize: 3,
      localRoot: ROOT_B,
      peerCosignedAt: "2026-12-03T09:59:59Z",
      mergedRoot: MERGED,
      lastSyncTime: "2026-12-03T10:00:00Z",
      lastAttemptTime: "2026-12-03T10:00:00Z",
      nextSyncTime: "2026-12-03T10:01:00Z",
      lastFederationReceipt: { name: "fed-eu-ddd", namespace: "vaultmesh-system" },
      lastFederationReceiptDigest: DIGEST,
    });
  });

  it("keeps the last good values through a failed round (only the attempt time moves)", () => {
    const before = computeFederationPeerStatus(peer(), { round: synced }, NOW);
    const later = new Date(NOW.getTime() + 120_000);
    const s = computeFederationPeerStatus(peer(before), { round: unreachable }, later);
    expect(s).toMatchObject({
      peerTreeSize: 7,
      mergedRoot: MERGED,
      lastSyncTime: "2026-12-03T10:00:00Z",
      lastAttemptTime: "2026-12-03T10:02:00Z",
    });
  });
});

describe("readyCondition", () => {
  it("names the first missing condition", () => {
    expect(readyCondition([])).toMatchObject({ status: "False", reason: "Pending" });
  });
});

describe("nextSyncDelayMs", () => {
  it.each<[number, number, number]>([
    [60, 0, 54_000],
    [60, 0.5, 60_000],
    [60, 0.999999, 65_999.99],
    [10, 0.25, 9_500],
  ])("interval %ds, random %d → %d ms", (interval, random, want) => {
    expect(nextSyncDelayMs(interval, random)).toBeCloseTo(want, -1);
  });
});

describe("msUntilDue", () => {
  it.each<[string, FederationPeer, number]>([
    ["never synced", peer(), 0],
    ["due later", peer({ observedGeneration: 1, nextSyncTime: "2026-12-03T10:00:30Z" }), 30_000],
    ["past due", peer({ observedGeneration: 1, nextSyncTime: "2026-12-03T09:00:00Z" }), 0],
    [
      "a new generation",
      peer({ observedGeneration: 1, nextSyncTime: "2026-12-03T10:00:30Z" }, 2),
      0,
    ],
  ])("%s", (_what, p, want) => {
    expect(msUntilDue(p, NOW)).toBe(want);
  });
});
