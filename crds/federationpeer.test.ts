import { describe, expect, it } from "@jest/globals";
import { FederationPeerSchema } from "./index.ts";
import { REMOVE, pathsOfBadField, sample, withField, type BadField } from "./test-helpers.ts";

const peer = sample("vaultmesh-eu");

describe("FederationPeerSchema", () => {
  it.each<BadField>([
    ["a missing endpoint", "spec.endpoint", REMOVE],
    ["an endpoint that is no URL", "spec.endpoint", "ledger.eu"],
    ["no trusted keys", "spec.trustAnchor.keys", []],
    [
      "the same key id twice",
      "spec.trustAnchor.keys[1]",
      { keyId: "sha256:04af9a40e52e728a", algorithm: "Ed25519", publicKey: "x" },
    ],
    ["a sync interval below 10 s", "spec.syncIntervalSeconds", 5],
    ["a missing origin", "spec.trustAnchor.origin", REMOVE],
    ["an origin with a space", "spec.trustAnchor.origin", "ledger eu"],
    ["an origin with a plus sign", "spec.trustAnchor.origin", "ledger+eu"],
    ["a missing witness key", "spec.trustAnchor.witnessKey", REMOVE],
    [
      "a witness key of type 0x01 (a log key, not a cosigner key)",
      "spec.trustAnchor.witnessKey",
      "w.example/witness+6d455078+AJIcRR09utTEmstJdevjJMzTMUeSbvMQ+ZVIBY9345E+",
    ],
    ["a witness key without a key hash", "spec.trustAnchor.witnessKey", "w.example/witness+BJIc"],
    ["a receipt digest that is no sha256", "status.lastFederationReceiptDigest", "sha256:abc"],
    ["a peer root that is no SHA-256", "status.peerRoot", "abc"],
  ])("refuses %s", (_what, path, value, wantPath = path) => {
    expect(pathsOfBadField(FederationPeerSchema, peer, path, value)).toContain(wantPath);
  });

  it("defaults the sync interval to 300 s", () => {
    const parsed = FederationPeerSchema.parse(withField(peer, "spec.syncIntervalSeconds", REMOVE));
    expect(parsed.spec.syncIntervalSeconds).toBe(300);
  });
});
