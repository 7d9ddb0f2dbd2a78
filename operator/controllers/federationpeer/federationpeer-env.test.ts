import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519Signer, generateEd25519 } from "../../../services/ledger/ed25519.ts";
import { DEFAULT_FEDERATION_ROUND_TIMEOUT_MS } from "./federationpeer-defaults.ts";
import { federationEnv } from "./federationpeer-env.ts";

const dir = mkdtempSync(join(tmpdir(), "fed-env-"));
const key = generateEd25519();
writeFileSync(join(dir, "witness.pem"), key.privateKeyPem);
writeFileSync(join(dir, "junk.pem"), "not a key");

describe("federationEnv", () => {
  it("reads the witness key, its name, the selector and the round deadline", () => {
    const env = federationEnv({
      VAULTMESH_WITNESS_KEY_FILE: join(dir, "witness.pem"),
      VAULTMESH_WITNESS_NAME: "w.example/witness",
      VAULTMESH_FEDERATION_SELECTOR: "shard=a",
      VAULTMESH_FEDERATION_ROUND_TIMEOUT_MS: "5000",
    });
    expect(env.witnessKey?.signer.publicKey).toBe(ed25519Signer(key.privateKeyPem).publicKey);
    expect(env).toMatchObject({
      witnessKey: { name: "w.example/witness" },
      peerSelector: "shard=a",
      roundTimeoutMs: 5000,
    });
  });

  it("runs without a witness key (peers then report WitnessKeyMissing)", () => {
    expect(federationEnv({}).witnessKey).toBeUndefined();
  });

  it("defaults the round deadline to DEFAULT_FEDERATION_ROUND_TIMEOUT_MS", () => {
    expect(federationEnv({}).roundTimeoutMs).toBe(DEFAULT_FEDERATION_ROUND_TIMEOUT_MS);
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    [
      "a key file that is no key",
      { VAULTMESH_WITNESS_KEY_FILE: join(dir, "junk.pem") },
      /^VAULTMESH_WITNESS_KEY_FILE=.*junk\.pem: expected an Ed25519/,
    ],
    [
      "a missing key file",
      { VAULTMESH_WITNESS_KEY_FILE: join(dir, "none.pem") },
      /^VAULTMESH_WITNESS_KEY_FILE=/,
    ],
    [
      "a deadline that is no number",
      { VAULTMESH_FEDERATION_ROUND_TIMEOUT_MS: "soon" },
      /^VAULTMESH_FEDERATION_ROUND_TIMEOUT_MS=soon: expected a positive integer/,
    ],
  ])("refuses %s, naming the variable", (_what, env, want) => {
    expect(() => federationEnv(env)).toThrow(want);
  });
});
