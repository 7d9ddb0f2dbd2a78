/**
 * Receipts: canonical, signed records of something that happened. The digest covers only
 * what the receipt stands for (type, subject, payload), so re-creating the receipt for the
 * same fact yields the same digest and the ledger can deduplicate it; the signatures cover
 * the digest and the issue time as well. The Merkle leaf is the canonical form of the whole
 * receipt, signatures included.
 */
import {
  assertJsonValue,
  canonicalBytes,
  canonicalJson,
  CanonicalJsonError,
  digestString,
  fromBase64,
  jsonDigest,
  toBase64,
  type JsonValue,
} from "./canonical-json.ts";
import type { Clock } from "./clock.ts";
import { ed25519Verify, type Ed25519Signer } from "./ed25519.ts";
import { hashLeaf, type Hash } from "./merkle.ts";

/** The receipt format version carried in every receipt. */
export const RECEIPT_API_VERSION = "vaultmesh.cloud/receipt/v1";

/** What a receipt is about: a free-form name or a Kubernetes object reference. */
export type ReceiptSubject = string | { readonly [key: string]: string };

/** The caller's part of a receipt. */
export interface ReceiptInput {
  /** e.g. `workload.completed`, `policy.denied`, `deploy`. */
  readonly type: string;
  readonly subject: ReceiptSubject;
  readonly payload: JsonValue;
}

/** One signature over {@link signedBytes}. */
export interface ReceiptSignature {
  /** Fingerprint of the signing key (hex SHA-256 of the raw Ed25519 public key). */
  readonly keyId: string;
  readonly algorithm: "ed25519";
  /** base64 of the 64-byte signature. */
  readonly value: string;
}

/** A complete receipt as stored in the log and exported in bundles. */
export interface Receipt extends ReceiptInput {
  readonly apiVersion: typeof RECEIPT_API_VERSION;
  /** `sha256:<hex>` of the canonical {type, subject, payload}. */
  readonly digest: string;
  /** RFC 3339 UTC time the receipt was issued. */
  readonly issuedAt: string;
  readonly signatures: readonly ReceiptSignature[];
}

/** Thrown for receipts or receipt inputs that are malformed; the message names the field. */
export class ReceiptFormatError extends Error {
  override readonly name = "ReceiptFormatError";
}

/** A receipt type: 1-128 characters of [A-Za-z0-9._:/-], starting with a letter or digit. */
export const RECEIPT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const TYPE_RE = RECEIPT_TYPE_PATTERN;
const MAX_CANONICAL_BYTES = 1 << 20;

function checkInput(input: unknown): asserts input is ReceiptInput {
  if (typeof input !== "object" || input === null)
    throw new ReceiptFormatError("receipt must be an object");
  const r = input as Record<string, unknown>;
  if (typeof r.type !== "string" || !TYPE_RE.test(r.type)) {
    throw new ReceiptFormatError("type: expected 1-128 characters of [A-Za-z0-9._:/-]");
  }
  const s = r.subject;
  const okSubject =
    (typeof s === "string" && s.length > 0 && s.length <= 512) ||
    (typeof s === "object" &&
      s !== null &&
      !Array.isArray(s) &&
      Object.keys(s).length > 0 &&
      Object.values(s).every((v) => typeof v === "string"));
  if (!okSubject)
    throw new ReceiptFormatError("subject: expected a non-empty string or an object of strings");
  if (!("payload" in r)) throw new ReceiptFormatError("payload: required");
  try {
    assertJsonValue(r.payload, "payload");
  } catch (err) {
    if (err instanceof CanonicalJsonError) throw new ReceiptFormatError(err.message);
    throw err;
  }
}

/** `sha256:<hex>` identity of a receipt input: the same fact always has the same digest. */
export function receiptDigest(input: ReceiptInput): string {
  checkInput(input);
  return jsonDigest({ type: input.type, subject: input.subject, payload: input.payload });
}

/** The bytes each signature covers: the canonical receipt without its signatures. */
export function signedBytes(r: Omit<Receipt, "signatures">): Uint8Array {
  const { apiVersion, type, subject, payload, digest, issuedAt } = r;
  return canonicalBytes({ apiVersion, type, subject, payload, digest, issuedAt });
}

/** The Merkle leaf data of a receipt: its full canonical form. */
export function leafData(r: Receipt): Uint8Array {
  return canonicalBytes(r);
}

/** The RFC 6962 leaf hash of a receipt. */
export function receiptLeafHash(r: Receipt): Hash {
  return hashLeaf(leafData(r));
}

/** A freshly signed receipt and its canonical bytes (the Merkle leaf data). */
export interface SignedReceipt {
  readonly receipt: Receipt;
  readonly leafData: Uint8Array;
}

const utf8 = new TextEncoder();

/** A receipt before signing: its fields, the bytes to sign and the pieces of its leaf. */
export interface PreparedReceipt {
  readonly unsigned: Omit<Receipt, "signatures">;
  /** The bytes every signature covers. */
  readonly data: Uint8Array;
  readonly head: string;
  readonly tail: string;
}

/**
 * Canonicalises a receipt input once for signing. The canonical forms of payload and subject
 * are spliced into the three documents that need them (digest input, signed bytes, leaf):
 * RFC 8785 orders these keys alphabetically, so the splice is byte-identical to
 * canonicalising each document (a property test checks it).
 */
export function prepareReceipt(input: ReceiptInput, clock: Clock): PreparedReceipt {
  checkInput(input);
  const p = canonicalJson(input.payload);
  const s = canonicalJson(input.subject);
  const t = JSON.stringify(input.type);
  const digest = digestString(utf8.encode(`{"payload":${p},"subject":${s},"type":${t}}`));
  const issuedAt = clock.now().toISOString();
  const head = `{"apiVersion":${JSON.stringify(RECEIPT_API_VERSION)},"digest":"${digest}","issuedAt":"${issuedAt}","payload":${p}`;
  const tail = `"subject":${s},"type":${t}}`;
  const data = utf8.encode(`${head},${tail}`);
  if (data.length > MAX_CANONICAL_BYTES) throw new ReceiptFormatError("payload: larger than 1 MiB");
  const unsigned = {
    apiVersion: RECEIPT_API_VERSION,
    type: input.type,
    subject: input.subject,
    payload: input.payload,
    digest,
    issuedAt,
  } as const;
  return { unsigned, data, head, tail };
}

/** Completes a prepared receipt with its signatures (in signer order). */
export function finishReceipt(
  prep: PreparedReceipt,
  sigs: readonly { readonly keyId: string; readonly signature: Uint8Array }[],
): SignedReceipt {
  const signatures = sigs.map((g) => ({
    keyId: g.keyId,
    algorithm: "ed25519" as const,
    value: toBase64(g.signature),
  }));
  const sigJson = signatures
    .map((g) => `{"algorithm":"ed25519","keyId":${JSON.stringify(g.keyId)},"value":"${g.value}"}`)
    .join(",");
  return {
    receipt: { ...prep.unsigned, signatures },
    leafData: utf8.encode(`${prep.head},"signatures":[${sigJson}],${prep.tail}`),
  };
}

/** Signs a receipt (inline) and returns it with its canonical bytes. */
export function signReceipt(
  input: ReceiptInput,
  signers: Ed25519Signer | readonly Ed25519Signer[],
  clock: Clock,
): SignedReceipt {
  const prep = prepareReceipt(input, clock);
  const list: readonly Ed25519Signer[] = "sign" in signers ? [signers] : signers;
  return finishReceipt(
    prep,
    list.map((k) => ({ keyId: k.keyId, signature: k.sign(prep.data) })),
  );
}

/**
 * The digest a receipt should carry and its canonical bytes, computed like `signReceipt`
 * does: payload and subject canonicalised once, spliced into both documents. Audits use it
 * to re-check a million stored receipts at half the canonicalisation cost.
 */
export function canonicalParts(r: Receipt): { digest: string; leafData: Uint8Array } {
  const p = canonicalJson(r.payload);
  const s = canonicalJson(r.subject);
  const t = JSON.stringify(r.type);
  const digest = digestString(utf8.encode(`{"payload":${p},"subject":${s},"type":${t}}`));
  const q = JSON.stringify;
  const sigs = r.signatures
    .map((g) => `{"algorithm":${q(g.algorithm)},"keyId":${q(g.keyId)},"value":${q(g.value)}}`)
    .join(",");
  const leaf = `{"apiVersion":${q(r.apiVersion)},"digest":${q(r.digest)},"issuedAt":${q(r.issuedAt)},"payload":${p},"signatures":[${sigs}],"subject":${s},"type":${t}}`;
  return { digest, leafData: utf8.encode(leaf) };
}

/** Creates a canonical receipt signed by each of `signers`, stamped with `clock`'s time. */
export function createReceipt(
  input: ReceiptInput,
  signers: Ed25519Signer | readonly Ed25519Signer[],
  clock: Clock,
): Receipt {
  return signReceipt(input, signers, clock).receipt;
}

/** Validates an untrusted value as a {@link Receipt} (shape only, not signatures). */
export function parseReceipt(value: unknown): Receipt {
  checkInput(value);
  const r = value as unknown as Record<string, unknown>;
  if (r.apiVersion !== RECEIPT_API_VERSION) {
    throw new ReceiptFormatError(`apiVersion: expected ${RECEIPT_API_VERSION}`);
  }
  if (typeof r.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(r.digest)) {
    throw new ReceiptFormatError("digest: expected sha256:<64 hex>");
  }
  if (typeof r.issuedAt !== "string" || Number.isNaN(Date.parse(r.issuedAt))) {
    throw new ReceiptFormatError("issuedAt: expected an RFC 3339 time");
  }
  if (!Array.isArray(r.signatures) || r.signatures.length === 0) {
    throw new ReceiptFormatError("signatures: expected at least one signature");
  }
  r.signatures.forEach((s: unknown, i) => {
    const sig = s as Record<string, unknown> | null;
    if (
      typeof sig !== "object" ||
      sig === null ||
      typeof sig.keyId !== "string" ||
      sig.algorithm !== "ed25519" ||
      typeof sig.value !== "string"
    ) {
      throw new ReceiptFormatError(
        `signatures[${i}]: expected {keyId, algorithm: "ed25519", value}`,
      );
    }
  });
  const extra = Object.keys(r).filter(
    (k) =>
      !["apiVersion", "type", "subject", "payload", "digest", "issuedAt", "signatures"].includes(k),
  );
  if (extra.length > 0) throw new ReceiptFormatError(`unexpected field ${extra[0]}`);
  return value as unknown as Receipt;
}

/** True when the receipt's digest matches its type, subject and payload. */
export function digestMatches(r: Receipt): boolean {
  return receiptDigest(r) === r.digest;
}

/** The result of checking one receipt signature against a set of trusted keys. */
export interface SignatureCheck {
  readonly keyId: string;
  readonly ok: boolean;
  readonly reason?: string;
}

/** Checks every signature of `r` against trusted keys (keyId → raw public key, base64). */
export function verifyReceiptSignatures(
  r: Receipt,
  trusted: ReadonlyMap<string, string>,
): SignatureCheck[] {
  const data = signedBytes(r);
  return r.signatures.map((s) => {
    const pub = trusted.get(s.keyId);
    if (!pub) return { keyId: s.keyId, ok: false, reason: "signed by a key that is not trusted" };
    let sig: Uint8Array;
    try {
      sig = fromBase64(s.value);
    } catch {
      return { keyId: s.keyId, ok: false, reason: "signature is not base64" };
    }
    return ed25519Verify(pub, data, sig)
      ? { keyId: s.keyId, ok: true }
      : { keyId: s.keyId, ok: false, reason: "Ed25519 signature does not match" };
  });
}
