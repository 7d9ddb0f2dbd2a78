/**
 * Artifact evidence, the seed's "artifact → SHA-256 → GPG signature → RFC 3161 timestamp →
 * Merkle root" chain. `sign` writes FILE.sig.json (an Ed25519-signed statement of the file's
 * digest) and FILE.asc (an OpenPGP detached signature `gpg --verify` accepts); `timestamp`
 * writes FILE.tsr (`openssl ts -verify -data FILE` accepts it); `export-proof FILE` writes
 * FILE.proof.json, the bundle of the ledger receipt that names the file's digest.
 */
import { parseTimeStampResponse, verifyTimeStampResponse } from "../tsa/rfc3161-verify.ts";
import { certificateDer, pemEncode } from "../tsa/tsa-certs.ts";
import { canonicalBytes, digestString, fromBase64, toBase64 } from "./canonical-json.ts";
import type { Clock } from "./clock.ts";
import { ed25519Verify, type Ed25519Signer } from "./ed25519.ts";
import type { OpenPgpSigner } from "./openpgp-keys.ts";
import { verifyOpenPgpDetached } from "./openpgp-keys.ts";
import type { ReceiptSignature } from "./receipt.ts";
import type { ProofBundle } from "./bundle.ts";
import { verifyBundle } from "./verify-bundle.ts";
import { emptyTrust, mergeTrust, parseTrustBundle, type TrustBundle } from "./trust-bundle.ts";
import { fail, failCoded, pass, report, type Check, type VerifyReport } from "./verify-report.ts";

/** Format tag of FILE.sig.json. */
export const ARTIFACT_SIG_FORMAT = "vaultmesh.cloud/artifact-signature/v1";

/** FILE.sig.json: the signed statement and the signer's public keys. */
export interface ArtifactSignature {
  readonly format: typeof ARTIFACT_SIG_FORMAT;
  readonly file: string;
  readonly digest: string;
  readonly size: number;
  readonly signedAt: string;
  readonly signatures: readonly ReceiptSignature[];
  readonly keys: TrustBundle;
}

/** Thrown when FILE.sig.json is malformed. */
export class ArtifactFormatError extends Error {
  override readonly name = "ArtifactFormatError";
}

function statement(s: Omit<ArtifactSignature, "signatures" | "keys">): Uint8Array {
  return canonicalBytes({
    format: s.format,
    file: s.file,
    digest: s.digest,
    size: s.size,
    signedAt: s.signedAt,
  });
}

/** Signs an artifact: the .sig.json statement (Ed25519) and, given a key, the .asc text. */
export async function signArtifact(
  file: string,
  data: Uint8Array,
  signer: Ed25519Signer,
  clock: Clock,
  pgp?: OpenPgpSigner,
): Promise<{ signature: ArtifactSignature; asc?: string }> {
  const base = {
    format: ARTIFACT_SIG_FORMAT,
    file,
    digest: digestString(data),
    size: data.length,
    signedAt: clock.now().toISOString(),
  } as const;
  const value = toBase64(signer.sign(statement(base)));
  const keys: TrustBundle = {
    ...emptyTrust(),
    ed25519: [{ keyId: signer.keyId, publicKey: signer.publicKey }],
    openpgp: pgp ? [pgp.publicKeyArmored] : [],
  };
  const signature = {
    ...base,
    signatures: [{ keyId: signer.keyId, algorithm: "ed25519" as const, value }],
    keys,
  };
  return pgp ? { signature, asc: await pgp.signDetached(data) } : { signature };
}

/** Validates an untrusted value as FILE.sig.json (shape only). */
export function parseArtifactSignature(value: unknown): ArtifactSignature {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null || v.format !== ARTIFACT_SIG_FORMAT) {
    throw new ArtifactFormatError(`format: expected ${ARTIFACT_SIG_FORMAT}`);
  }
  if (typeof v.file !== "string") throw new ArtifactFormatError("file: expected a string");
  if (typeof v.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(v.digest))
    throw new ArtifactFormatError("digest: expected sha256:<hex>");
  if (!Number.isSafeInteger(v.size)) throw new ArtifactFormatError("size: expected an integer");
  if (typeof v.signedAt !== "string") throw new ArtifactFormatError("signedAt: expected a time");
  if (!Array.isArray(v.signatures) || v.signatures.length === 0)
    throw new ArtifactFormatError("signatures: expected at least one");
  return { ...(v as unknown as ArtifactSignature), keys: parseTrustBundle(v.keys, "keys") };
}

/** The evidence found beside an artifact. */
export interface ArtifactEvidence {
  readonly data: Uint8Array;
  readonly signature?: ArtifactSignature;
  readonly asc?: string;
  readonly tsr?: Uint8Array;
  readonly bundle?: ProofBundle;
}

function signatureChecks(e: ArtifactEvidence, trust: TrustBundle): Check[] {
  const s = e.signature;
  if (!s) return [fail("Ed25519 signature (.sig.json)", "missing")];
  const digest = digestString(e.data);
  const checks = [
    digest === s.digest && e.data.length === s.size
      ? pass("file digest", digest)
      : fail("file digest", `file hashes to ${digest}, the signature states ${s.digest}`),
  ];
  const keys = new Map(trust.ed25519.map((k) => [k.keyId, k.publicKey]));
  for (const sig of s.signatures) {
    const link = `Ed25519 signature (${sig.keyId.slice(0, 16)})`;
    const pub = keys.get(sig.keyId);
    const ok = pub !== undefined && verifyEd25519(pub, statement(s), sig.value);
    checks.push(
      ok
        ? pass(link, "valid")
        : fail(link, pub ? "signature does not match" : "signed by a key that is not trusted"),
    );
  }
  return checks;
}

function verifyEd25519(pub: string, data: Uint8Array, value: string): boolean {
  try {
    return ed25519Verify(pub, data, fromBase64(value));
  } catch {
    return false;
  }
}

/** Unpinned mode: the certificates inside the token vouch for themselves (reported as such). */
function tokenAnchors(tsr: Uint8Array): string[] {
  try {
    const certs = parseTimeStampResponse(tsr).signedData?.certificates ?? [];
    return certs.flatMap((c) =>
      "subjectPublicKeyInfo" in c ? [pemEncode("CERTIFICATE", certificateDer(c))] : [],
    );
  } catch {
    return [];
  }
}

/** Verifies an artifact's evidence; keys come from `pinned` or, unpinned, from the evidence. */
export async function verifyArtifact(
  e: ArtifactEvidence,
  pinned?: TrustBundle,
): Promise<VerifyReport> {
  const trust =
    pinned ?? mergeTrust(e.signature?.keys ?? emptyTrust(), e.bundle?.keys ?? emptyTrust());
  const checks = signatureChecks(e, trust);
  if (!e.asc) checks.push(fail("OpenPGP signature (.asc)", "missing"));
  else {
    const r = await verifyOpenPgpDetached(e.data, e.asc, trust.openpgp);
    checks.push(
      r.ok
        ? pass("OpenPGP signature (.asc)", `by ${r.fingerprint}`)
        : fail("OpenPGP signature (.asc)", r.reason),
    );
  }
  if (!e.tsr) checks.push(fail("RFC 3161 timestamp (.tsr)", "missing"));
  else {
    const anchors = trust.tsa.length > 0 ? trust.tsa : tokenAnchors(e.tsr);
    const r = await verifyTimeStampResponse(e.tsr, { data: e.data, trustedPem: anchors });
    checks.push(
      r.ok
        ? pass("RFC 3161 timestamp (.tsr)", `genTime ${r.genTime.toISOString()} by ${r.tsaSubject}`)
        : failCoded("RFC 3161 timestamp (.tsr)", r.reason, r.code),
    );
  }
  if (e.bundle) {
    const artifact = (e.bundle.receipt.payload as { artifact?: { sha256?: unknown } } | null)
      ?.artifact;
    const names = artifact?.sha256 === digestString(e.data);
    checks.push(
      names
        ? pass("ledger receipt names this file", e.bundle.receipt.digest)
        : fail(
            "ledger receipt names this file",
            "the bundle's receipt records a different artifact digest",
          ),
    );
    const sub = await verifyBundle(e.bundle, pinned);
    checks.push(...sub.checks.map((c) => ({ ...c, link: `ledger: ${c.link}` })));
  }
  return report(checks, pinned !== undefined);
}
