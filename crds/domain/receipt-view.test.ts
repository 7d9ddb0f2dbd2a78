import { describe, expect, it } from "@jest/globals";
import { digestPrefix, loggedCondition, receiptSpecOf } from "./receipt-view.ts";

describe("receiptSpecOf", () => {
  const r = {
    type: "FederationSynced",
    subject: "ignored",
    payload: { a: 1 },
    digest: `sha256:${"ab".repeat(32)}`,
    issuedAt: "2026-03-01T12:00:00Z",
    signatures: [
      { keyId: "k1", algorithm: "ed25519", value: "AA==" },
      { keyId: "k2", algorithm: "openpgp", value: "-----BEGIN PGP SIGNATURE-----" },
    ],
  };

  it("shows the ledger receipt exactly, with the algorithms as the API spells them", () => {
    const spec = receiptSpecOf(r, {
      apiVersion: "v1",
      kind: "Namespace",
      name: "x",
      namespace: undefined,
      uid: "",
    });
    expect(spec).toEqual({
      type: "FederationSynced",
      subject: { apiVersion: "v1", kind: "Namespace", name: "x" },
      payload: { a: 1 },
      digest: r.digest,
      signatures: [
        { keyId: "k1", algorithm: "Ed25519", value: "AA==" },
        { keyId: "k2", algorithm: "OpenPGP", value: "-----BEGIN PGP SIGNATURE-----" },
      ],
      issuedAt: r.issuedAt,
    });
  });

  it("names resources by the first 12 hex digits of the digest", () => {
    expect(digestPrefix(r.digest)).toBe("abababababab");
  });

  it("writes the same Logged condition from every writer", () => {
    expect(loggedCondition(41)).toEqual({
      type: "Logged",
      status: "True",
      reason: "Appended",
      message: "appended to the Merkle log at index 41",
    });
  });
});
