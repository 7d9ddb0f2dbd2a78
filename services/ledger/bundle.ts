/**
 * Proof bundles: everything needed to verify one receipt offline — the receipt, its log
 * entry, an inclusion proof, the signed tree head with its OpenPGP signature and RFC 3161
 * token, and the public keys. `parseBundle` checks shape only (a malformed bundle is an input
 * error); verify-bundle.ts checks the cryptography (a failure there is a verification error).
 */
import { parseReceipt, ReceiptFormatError, type Receipt } from "./receipt.ts";
import type { Ledger } from "./ledger.ts";
import { parseTrustBundle, TrustFormatError, type TrustBundle } from "./trust-bundle.ts";

/** Format tag of a proof bundle. */
export const BUNDLE_FORMAT = "vaultmesh.cloud/proof-bundle/v1";

/** A self-contained proof of one receipt. */
export interface ProofBundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly receipt: Receipt;
  readonly entry: { readonly logIndex: number; readonly leafHash: string };
  readonly inclusionProof: { readonly treeSize: number; readonly hashes: readonly string[] };
  readonly treeHead: {
    /** C2SP signed note. */
    readonly checkpoint: string;
    /** Armored OpenPGP signature over the checkpoint body. */
    readonly openpgpSignature?: string;
    /** base64 DER TimeStampResp over the checkpoint body. */
    readonly timestampToken?: string;
  };
  /** The keys of the issuing ledger (a verifier should pin its own with --trust). */
  readonly keys: TrustBundle;
}

/** Thrown when a bundle is not shaped like one; the message names the field. */
export class BundleFormatError extends Error {
  override readonly name = "BundleFormatError";
}

function field(
  v: Record<string, unknown>,
  name: string,
  type: "object" | "string" | "number",
): unknown {
  const x = v[name];
  const ok =
    type === "object"
      ? typeof x === "object" && x !== null && !Array.isArray(x)
      : typeof x === type;
  if (!ok)
    throw new BundleFormatError(
      `${name}: expected ${type === "object" ? "an object" : `a ${type}`}`,
    );
  return x;
}

function hexList(v: unknown, name: string): string[] {
  if (!Array.isArray(v) || v.some((h) => typeof h !== "string" || !/^[0-9a-f]{64}$/.test(h))) {
    throw new BundleFormatError(`${name}: expected an array of 64-character hex hashes`);
  }
  return v as string[];
}

function optionalString(
  v: Record<string, unknown>,
  name: string,
  where: string,
): string | undefined {
  if (v[name] === undefined) return undefined;
  if (typeof v[name] !== "string")
    throw new BundleFormatError(`${where}.${name}: expected a string`);
  return v[name];
}

/** Validates an untrusted value as a {@link ProofBundle} (shape only). */
export function parseBundle(value: unknown): ProofBundle {
  if (typeof value !== "object" || value === null)
    throw new BundleFormatError("bundle: expected a JSON object");
  const v = value as Record<string, unknown>;
  if (v.format !== BUNDLE_FORMAT) throw new BundleFormatError(`format: expected ${BUNDLE_FORMAT}`);
  let receipt: Receipt;
  let keys: TrustBundle;
  try {
    receipt = parseReceipt(field(v, "receipt", "object"));
    keys = parseTrustBundle(field(v, "keys", "object"), "keys");
  } catch (err) {
    if (err instanceof ReceiptFormatError) throw new BundleFormatError(`receipt.${err.message}`);
    if (err instanceof TrustFormatError) throw new BundleFormatError(err.message);
    throw err;
  }
  const entry = field(v, "entry", "object") as Record<string, unknown>;
  const logIndex = field(entry, "logIndex", "number") as number;
  if (!Number.isSafeInteger(logIndex) || logIndex < 0)
    throw new BundleFormatError("entry.logIndex: expected an integer ≥ 0");
  const [leafHash] = hexList([entry.leafHash], "entry.leafHash");
  const inc = field(v, "inclusionProof", "object") as Record<string, unknown>;
  const treeSize = field(inc, "treeSize", "number") as number;
  if (!Number.isSafeInteger(treeSize) || treeSize < 1)
    throw new BundleFormatError("inclusionProof.treeSize: expected an integer ≥ 1");
  const hashes = hexList(inc.hashes, "inclusionProof.hashes");
  const th = field(v, "treeHead", "object") as Record<string, unknown>;
  const checkpoint = field(th, "checkpoint", "string") as string;
  const openpgpSignature = optionalString(th, "openpgpSignature", "treeHead");
  const timestampToken = optionalString(th, "timestampToken", "treeHead");
  return {
    format: BUNDLE_FORMAT,
    receipt,
    entry: { logIndex, leafHash: leafHash! },
    inclusionProof: { treeSize, hashes },
    treeHead: {
      checkpoint,
      ...(openpgpSignature !== undefined ? { openpgpSignature } : {}),
      ...(timestampToken !== undefined ? { timestampToken } : {}),
    },
    keys,
  };
}

/** Thrown by {@link exportBundle} when the receipt is not in the ledger. */
export class ReceiptNotFoundError extends Error {
  override readonly name = "ReceiptNotFoundError";
}

/**
 * Builds the bundle of the receipt with `digest` (or at `logIndex`): it proves inclusion in
 * the newest published tree head covering the entry, publishing the latest head first when
 * none covers it yet (and publication is configured).
 */
export async function exportBundle(
  ledger: Ledger,
  ref: { digest: string } | { logIndex: number },
): Promise<ProofBundle> {
  const entry =
    "digest" in ref ? await ledger.getByDigest(ref.digest) : await ledger.getByIndex(ref.logIndex);
  if (!entry)
    throw new ReceiptNotFoundError(
      `no receipt ${"digest" in ref ? ref.digest : `at log index ${ref.logIndex}`} in the ledger`,
    );
  const head = (await ledger.publishedHeadCovering(entry.logIndex)) ?? (await ledger.publish());
  if (!head || head.treeSize <= entry.logIndex)
    throw new Error("the ledger has no tree head covering this entry");
  const proof = await ledger.inclusionProof(entry.logIndex, head.treeSize);
  return {
    format: BUNDLE_FORMAT,
    receipt: entry.receipt,
    entry: { logIndex: entry.logIndex, leafHash: entry.leafHash },
    inclusionProof: { treeSize: proof.treeSize, hashes: proof.hashes },
    treeHead: {
      checkpoint: head.checkpoint,
      ...(head.stamp?.openpgpSignature ? { openpgpSignature: head.stamp.openpgpSignature } : {}),
      ...(head.stamp?.timestampToken ? { timestampToken: head.stamp.timestampToken } : {}),
    },
    keys: await ledger.trust(),
  };
}
