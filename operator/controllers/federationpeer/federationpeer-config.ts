/**
 * What a FederationPeer's spec pins, as a sync round needs it (services/federation/peer-sync.ts
 * `PeerConfig`): the endpoint, the peer log's origin, its log vkeys — C2SP type 0x01 keys named
 * by the origin, made from the spec's Ed25519 PEM keys — its witness vkey and the CA bundle of
 * its TLS endpoint (the client's roots for that peer). Pure: a spec that
 * cannot be used gives a refusal naming the field, which the controller reports as
 * `InvalidTrustAnchor` instead of syncing.
 */
import { createPublicKey } from "node:crypto";
import type { FederationPeer } from "../../../crds/index.ts";
import {
  COSIGNATURE_V1_ALG,
  parseVerifierKey,
  verifierKey,
} from "../../../services/ledger/checkpoint.ts";
import { caBundleProblems } from "../../../services/federation/peer-http.ts";
import type { PeerConfig } from "../../../services/federation/peer-sync.ts";

/**
 * A peer's sync configuration with exactly one witness vkey: `spec.trustAnchor.witnessKey`, the
 * key that checks its cosignatures and signs its answer to our receipt proposal.
 */
export type PinnedPeerConfig = PeerConfig & { readonly witnessVkeys: readonly [string] };

/** A usable pinning of a peer, or why the spec cannot be used. */
export type PeerPinning =
  | {
      readonly ok: true;
      readonly config: PinnedPeerConfig;
      /** Raw Ed25519 keys of the peer's log (base64): never usable as our witness key. */
      readonly logPublicKeys: readonly string[];
    }
  | { readonly ok: false; readonly field: string; readonly message: string };

/** The raw 32-byte key (base64) of an Ed25519 SPKI PEM; throws for anything else. */
export function rawEd25519FromPem(pem: string): string {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== "ed25519") {
    throw new Error(`a ${key.asymmetricKeyType ?? "unknown"} key, expected Ed25519`);
  }
  const x = key.export({ format: "jwk" }).x;
  if (!x) throw new Error("no public key material");
  return Buffer.from(x, "base64url").toString("base64");
}

/**
 * What is wrong with a pinned witness key, if anything: it must be one cosignature/v1 vkey, and
 * not one of the peer's own log keys (`logPublicKeys`, raw Ed25519 in base64).
 */
function witnessKeyProblem(
  witnessKey: string | undefined,
  logPublicKeys: readonly string[],
): string | undefined {
  if (typeof witnessKey !== "string" || witnessKey === "") {
    return "exactly one witness key (a cosignature/v1 vkey) is required";
  }
  let witness;
  try {
    witness = parseVerifierKey(witnessKey);
  } catch (err) {
    return (err as Error).message;
  }
  if (witness.alg !== COSIGNATURE_V1_ALG) return "not a cosignature/v1 key (type 0x04)";
  if (logPublicKeys.includes(Buffer.from(witness.publicKey).toString("base64"))) {
    return "the witness key is one of the peer's log keys; a witness needs its own key";
  }
  return undefined;
}

/**
 * The sync configuration of `peer` for a ledger of origin `ownOrigin`. Refuses a peer whose
 * pinned origin is ours (it would be indistinguishable from us), a spec without an Ed25519 key,
 * a key that does not parse, and a witness key that is not a cosignature/v1 vkey or that is one
 * of the peer's log keys.
 */
export function peerPinning(peer: FederationPeer, ownOrigin: string | undefined): PeerPinning {
  const ta = peer.spec.trustAnchor;
  if (ownOrigin !== undefined && ta.origin === ownOrigin) {
    return {
      ok: false,
      field: "spec.trustAnchor.origin",
      message: `${ta.origin} is this ledger's own origin; a peer must have its own`,
    };
  }
  if (ta.caBundle !== undefined) {
    const bad = caBundleProblems(ta.caBundle);
    if (bad.length > 0) {
      return { ok: false, field: "spec.trustAnchor.caBundle", message: bad.join("; ") };
    }
  }
  const logPublicKeys: string[] = [];
  for (const [i, k] of ta.keys.entries()) {
    if (k.algorithm !== "Ed25519") continue; // OpenPGP keys sign tree heads, never checkpoints.
    try {
      logPublicKeys.push(rawEd25519FromPem(k.publicKey));
    } catch (err) {
      return {
        ok: false,
        field: `spec.trustAnchor.keys[${i}].publicKey`,
        message: (err as Error).message,
      };
    }
  }
  if (logPublicKeys.length === 0) {
    return {
      ok: false,
      field: "spec.trustAnchor.keys",
      message: "no Ed25519 key: checkpoints are signed with Ed25519",
    };
  }
  const witnessProblem = witnessKeyProblem(ta.witnessKey, logPublicKeys);
  if (witnessProblem !== undefined) {
    return { ok: false, field: "spec.trustAnchor.witnessKey", message: witnessProblem };
  }
  let logVkeys: string[];
  try {
    logVkeys = logPublicKeys.map((k) => verifierKey(ta.origin, Buffer.from(k, "base64")));
  } catch (err) {
    return { ok: false, field: "spec.trustAnchor.origin", message: (err as Error).message };
  }
  return {
    ok: true,
    logPublicKeys,
    config: {
      url: peer.spec.endpoint.replace(/\/+$/, ""),
      origin: ta.origin,
      logVkeys,
      witnessVkeys: [ta.witnessKey],
      // The peer's TLS roots: the witness client and the receipt proposal use them instead of
      // the system roots.
      ...(ta.caBundle !== undefined ? { client: { caBundle: ta.caBundle } } : {}),
    },
  };
}
