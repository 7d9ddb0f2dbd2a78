import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "@jest/globals";
import type { FederationPeer } from "../../crds/index.ts";
import { sample } from "../../crds/test-helpers.ts";
import { validateFederationPeer } from "./federationpeer.ts";

const peer = (): FederationPeer => sample("vaultmesh-eu") as FederationPeer;
const rsaPem = generateKeyPairSync("rsa", { modulusLength: 1024 })
  .publicKey.export({ type: "spki", format: "pem" })
  .toString();

describe("validateFederationPeer", () => {
  it("allows the sample peer", () => {
    expect(validateFederationPeer({ object: peer() })).toEqual({ errors: [], warnings: [] });
  });

  it.each<[string, (p: FederationPeer) => void, string[]]>([
    [
      "a key that is not PEM",
      (p) => (p.spec.trustAnchor.keys[0]!.publicKey = "hello"),
      ["spec.trustAnchor.keys[0].publicKey"],
    ],
    [
      "an RSA key declared Ed25519",
      (p) => (p.spec.trustAnchor.keys[0]!.publicKey = rsaPem),
      ["spec.trustAnchor.keys[0].publicKey"],
    ],
    [
      "an OpenPGP key without armor",
      (p) => (p.spec.trustAnchor.keys[0] = { keyId: "k", algorithm: "OpenPGP", publicKey: "xx" }),
      ["spec.trustAnchor.keys[0].publicKey"],
    ],
    [
      "a CA bundle without certificates",
      (p) => (p.spec.trustAnchor.caBundle = "nope"),
      ["spec.trustAnchor.caBundle"],
    ],
    [
      "a garbled certificate",
      (p) =>
        (p.spec.trustAnchor.caBundle =
          "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
      ["spec.trustAnchor.caBundle"],
    ],
    [
      "sync every second (schema)",
      (p) => (p.spec.syncIntervalSeconds = 1),
      ["spec.syncIntervalSeconds"],
    ],
  ])("denies %s", (_name, change, wantFields) => {
    const p = peer();
    change(p);
    expect(validateFederationPeer({ object: p }).errors.map((e) => e.field)).toEqual(wantFields);
  });

  it("warns about a plain-http endpoint", () => {
    const p = peer();
    p.spec.endpoint = "http://ledger.eu.example";
    expect(validateFederationPeer({ object: p }).warnings).toEqual([
      expect.stringContaining("plain http"),
    ]);
  });
});
