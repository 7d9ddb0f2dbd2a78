// FederationPeer admission policy: the schema, trust-anchor keys that actually parse (an
// Ed25519 SPKI PEM or an armored OpenPGP public key), a CA bundle of real certificates, and a
// warning for a plain-http endpoint.
import { createPublicKey } from "node:crypto";
import { FederationPeerSchema, type PeerKey } from "../../crds/index.ts";
import { caBundleProblems } from "../../services/federation/peer-http.ts";
import { parseWith, result, type FieldError, type PolicyResult } from "./field-errors.ts";

/** What the FederationPeer policy decides on. */
export interface FederationPeerPolicyInput {
  readonly object: unknown;
}

/** Validates a FederationPeer on CREATE or UPDATE. */
export function validateFederationPeer(input: FederationPeerPolicyInput): PolicyResult {
  const parsed = parseWith(FederationPeerSchema, input.object);
  if (parsed.errors) return result(parsed.errors);
  const { spec } = parsed.value;
  const errors: FieldError[] = spec.trustAnchor.keys.flatMap((k, i) =>
    keyErrors(k, `spec.trustAnchor.keys[${i}].publicKey`),
  );
  if (spec.trustAnchor.caBundle !== undefined) {
    errors.push(...caBundleErrors(spec.trustAnchor.caBundle));
  }
  const warnings = spec.endpoint.startsWith("http://")
    ? [
        "spec.endpoint uses plain http: tree heads stay verifiable by signature, but the transport is neither confidential nor authenticated",
      ]
    : [];
  return result(errors, warnings);
}

function keyErrors(key: PeerKey, field: string): FieldError[] {
  if (key.algorithm === "OpenPGP") {
    return /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----/.test(
      key.publicKey,
    )
      ? []
      : [{ field, message: "Invalid value: not an ASCII-armored OpenPGP public key block" }];
  }
  try {
    const k = createPublicKey(key.publicKey);
    if (k.asymmetricKeyType === "ed25519") return [];
    return [
      {
        field,
        message: `Invalid value: a ${k.asymmetricKeyType ?? "unknown"} key, expected Ed25519`,
      },
    ];
  } catch {
    return [{ field, message: "Invalid value: not a PEM-encoded Ed25519 public key (SPKI)" }];
  }
}

function caBundleErrors(bundle: string): FieldError[] {
  const field = "spec.trustAnchor.caBundle";
  return caBundleProblems(bundle).map((p) => ({ field, message: `Invalid value: ${p}` }));
}
