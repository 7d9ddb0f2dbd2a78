import { describe, expect, it } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import type { FederationPeer } from "../../../crds/index.ts";
import { COSIGNATURE_V1_ALG, verifierKey } from "../../../services/ledger/checkpoint.ts";
import { systemClock } from "../../../services/ledger/clock.ts";
import { generateTsaCredentials } from "../../../services/tsa/tsa-certs.ts";
import { peerPinning, rawEd25519FromPem } from "./federationpeer-config.ts";

const ORIGIN = "eu.example/vaultmesh";
const logKey = generateKeyPairSync("ed25519").publicKey;
const logPem = logKey.export({ format: "pem", type: "spki" }).toString();
const logRaw = rawEd25519FromPem(logPem);
const witnessRaw = Buffer.from(
  generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x!,
  "base64url",
);
const witnessVkey = verifierKey(`${ORIGIN}/witness`, witnessRaw, COSIGNATURE_V1_ALG);
const rsaPem = generateKeyPairSync("rsa", { modulusLength: 1024 })
  .publicKey.export({ format: "pem", type: "spki" })
  .toString();

function peer(edit: (p: FederationPeer) => void = () => undefined): FederationPeer {
  const p: FederationPeer = {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "FederationPeer",
    metadata: { name: "eu" },
    spec: {
      endpoint: "http://127.0.0.1:9000/",
      trustAnchor: {
        origin: ORIGIN,
        keys: [{ keyId: "k1", algorithm: "Ed25519", publicKey: logPem }],
        witnessKey: witnessVkey,
      },
      syncIntervalSeconds: 60,
      suspended: false,
    },
  };
  edit(p);
  return p;
}

describe("peerPinning", () => {
  it("pins the origin, the log vkey made from the PEM key and the witness vkey", () => {
    const got = peerPinning(peer(), "us.example/vaultmesh");
    expect(got).toEqual({
      ok: true,
      logPublicKeys: [logRaw],
      config: {
        url: "http://127.0.0.1:9000",
        origin: ORIGIN,
        logVkeys: [verifierKey(ORIGIN, Buffer.from(logRaw, "base64"))],
        witnessVkeys: [witnessVkey],
      },
    });
  });

  it("passes the peer's CA bundle to the client as its TLS roots", async () => {
    const { caCertificatePem: caCert } = await generateTsaCredentials(systemClock);
    const got = peerPinning(
      peer((p) => (p.spec.trustAnchor.caBundle = caCert)),
      "us.example/vaultmesh",
    );
    expect(got.ok ? got.config.client : undefined).toEqual({ caBundle: caCert });
  });

  it.each<[string, (p: FederationPeer) => void, string | undefined, string]>([
    ["our own origin", () => undefined, ORIGIN, "spec.trustAnchor.origin"],
    [
      "an RSA key",
      (p) => (p.spec.trustAnchor.keys[0]!.publicKey = rsaPem),
      undefined,
      "spec.trustAnchor.keys[0].publicKey",
    ],
    [
      "only an OpenPGP key",
      (p) => (p.spec.trustAnchor.keys[0]!.algorithm = "OpenPGP"),
      undefined,
      "spec.trustAnchor.keys",
    ],
    [
      "a witness vkey whose hash does not match",
      (p) => (p.spec.trustAnchor.witnessKey = witnessVkey.replace(/\+[0-9a-f]{8}\+/, "+00000000+")),
      undefined,
      "spec.trustAnchor.witnessKey",
    ],
    [
      "no witness key",
      (p) => (p.spec.trustAnchor.witnessKey = ""),
      undefined,
      "spec.trustAnchor.witnessKey",
    ],
    [
      "a log vkey given as the witness key",
      (p) => (p.spec.trustAnchor.witnessKey = verifierKey(ORIGIN, witnessRaw)),
      undefined,
      "spec.trustAnchor.witnessKey",
    ],
    [
      "the log key reused as the witness key",
      (p) =>
        (p.spec.trustAnchor.witnessKey = verifierKey(
          `${ORIGIN}/witness`,
          Buffer.from(logRaw, "base64"),
          COSIGNATURE_V1_ALG,
        )),
      undefined,
      "spec.trustAnchor.witnessKey",
    ],
    [
      "a CA bundle that is not PEM certificates",
      (p) => (p.spec.trustAnchor.caBundle = "-----BEGIN CERTIFICATE-----"),
      undefined,
      "spec.trustAnchor.caBundle",
    ],
    [
      "a CA bundle whose certificate does not parse",
      (p) =>
        (p.spec.trustAnchor.caBundle =
          "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
      undefined,
      "spec.trustAnchor.caBundle",
    ],
  ])("refuses %s, naming the field", (_what, edit, own, wantField) => {
    const got = peerPinning(peer(edit), own);
    expect(got.ok).toBe(false);
    expect(got.ok ? undefined : got.field).toBe(wantField);
  });
});
