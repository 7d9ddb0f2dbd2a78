/**
 * The FederationPeer controller's configuration from the operator's environment:
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `VAULTMESH_WITNESS_KEY_FILE` | none | Ed25519 PKCS#8 PEM this ledger cosigns peers with — the same key as `remembrancer serve --witness-key`; without it FederationPeers report `WitnessKeyMissing` |
 * | `VAULTMESH_WITNESS_NAME` | `<origin>/witness` | the witness's key name (the same as `serve --witness-name`) |
 * | `VAULTMESH_FEDERATION_SELECTOR` | all | only FederationPeers with these labels (tests, shards) |
 * | `VAULTMESH_FEDERATION_ROUND_TIMEOUT_MS` | {@link DEFAULT_FEDERATION_ROUND_TIMEOUT_MS} (60 s) | deadline of one sync round |
 */
import { readFileSync } from "node:fs";
import { ed25519Signer } from "../../../services/ledger/ed25519.ts";
import { DEFAULT_FEDERATION_ROUND_TIMEOUT_MS } from "./federationpeer-defaults.ts";
import type { WitnessKey } from "./federationpeer-reconciler.ts";

/** What the operator reads for federation. */
export interface FederationEnv {
  readonly witnessKey?: WitnessKey | undefined;
  readonly peerSelector?: string | undefined;
  /** @default {@link DEFAULT_FEDERATION_ROUND_TIMEOUT_MS} */
  readonly roundTimeoutMs: number;
}

/** Thrown for unusable federation settings; the message names the variable. */
export class FederationEnvError extends Error {
  override readonly name = "FederationEnvError";
}

/** Reads the federation settings from `env` (and the witness key file it names). */
export function federationEnv(env: NodeJS.ProcessEnv): FederationEnv {
  const file = env.VAULTMESH_WITNESS_KEY_FILE || undefined;
  let witnessKey: WitnessKey | undefined;
  if (file) {
    try {
      witnessKey = {
        signer: ed25519Signer(readFileSync(file, "utf8")),
        name: env.VAULTMESH_WITNESS_NAME || undefined,
      };
    } catch (err) {
      throw new FederationEnvError(
        `VAULTMESH_WITNESS_KEY_FILE=${file}: expected an Ed25519 PKCS#8 PEM private key (${(err as Error).message})`,
      );
    }
  }
  const timeout = env.VAULTMESH_FEDERATION_ROUND_TIMEOUT_MS;
  const roundTimeoutMs = timeout ? Number(timeout) : DEFAULT_FEDERATION_ROUND_TIMEOUT_MS;
  if (!(Number.isInteger(roundTimeoutMs) && roundTimeoutMs > 0)) {
    throw new FederationEnvError(
      `VAULTMESH_FEDERATION_ROUND_TIMEOUT_MS=${timeout}: expected a positive integer (milliseconds)`,
    );
  }
  return {
    witnessKey,
    peerSelector: env.VAULTMESH_FEDERATION_SELECTOR || undefined,
    roundTimeoutMs,
  };
}
