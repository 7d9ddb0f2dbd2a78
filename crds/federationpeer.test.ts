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
    ["a peer root that is no SHA-256", "status.peerRoot", "abc"],
  ])("refuses %s", (_what, path, value, wantPath = path) => {
    expect(pathsOfBadField(FederationPeerSchema, peer, path, value)).toContain(wantPath);
  });

  it("defaults the sync interval to 300 s", () => {
    const parsed = FederationPeerSchema.parse(withField(peer, "spec.syncIntervalSeconds", REMOVE));
    expect(parsed.spec.syncIntervalSeconds).toBe(300);
  });
});
