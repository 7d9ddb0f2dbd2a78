/**
 * RFC 8785 (JSON Canonicalization Scheme) serialisation and SHA-256 digests. Everything the
 * ledger hashes or signs goes through here, so two parties that hold the same JSON value
 * compute the same bytes.
 */
import { hash } from "node:crypto";
import canonicalizeModule from "canonicalize";

type Serialize = (input: unknown) => string | undefined;
// canonicalize is CommonJS with an ES-style `export default` typing: Node hands us the
// function itself, TypeScript's nodenext view expects `{ default }`. Accept both.
const canonicalizeExport: unknown = canonicalizeModule;
const canonicalize = (
  typeof canonicalizeExport === "function"
    ? canonicalizeExport
    : (canonicalizeExport as { default: Serialize }).default
) as Serialize;

/** A JSON value as RFC 8259 defines it (no undefined, functions, NaN or Infinity). */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Thrown when a value cannot be represented as canonical JSON; `path` names the culprit. */
export class CanonicalJsonError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "CanonicalJsonError";
    this.path = path;
  }
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Checks that `value` is plain JSON data, throwing a {@link CanonicalJsonError} otherwise. */
export function assertJsonValue(value: unknown, path = "$"): asserts value is JsonValue {
  if (value === null || typeof value === "boolean" || typeof value === "string") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(path, "number must be finite");
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertJsonValue(v, `${path}[${i}]`));
    return;
  }
  if (typeof value === "object" && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) assertJsonValue(v, `${path}.${k}`);
    return;
  }
  const kind = typeof value === "object" ? "non-plain object" : typeof value;
  throw new CanonicalJsonError(path, `${kind} is not JSON`);
}

/** Serialises `value` per RFC 8785 (sorted keys, ECMAScript number form, minimal escapes). */
export function canonicalJson(value: unknown): string {
  assertJsonValue(value);
  const out = canonicalize(value);
  if (out === undefined) throw new CanonicalJsonError("$", "value is not JSON");
  return out;
}

const encoder = new TextEncoder();

/** The UTF-8 bytes of {@link canonicalJson}. */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}

/**
 * SHA-256 of `data`. node:crypto's one-shot `hash` (OpenSSL, SHA-NI where the CPU has it)
 * measured 3.7× faster than @noble/hashes on receipt-sized input here, and 1.35× on the
 * 65-byte Merkle node input; @noble/hashes stays as the independent reference in tests.
 */
export function sha256(data: Uint8Array | string): Uint8Array {
  return hash("sha256", data, "buffer");
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Parses lower- or upper-case hex of exactly `length` bytes (when given); throws otherwise. */
export function fromHex(hex: string, length?: number): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`not hex: ${hex.slice(0, 20)}`);
  const out = new Uint8Array(Buffer.from(hex, "hex"));
  if (length !== undefined && out.length !== length) {
    throw new Error(`expected ${length} bytes of hex, got ${out.length}`);
  }
  return out;
}

/** Standard base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Strict standard base64 decoding (throws on characters outside the alphabet). */
export function fromBase64(b64: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new Error("not standard base64");
  }
  return new Uint8Array(Buffer.from(b64, "base64"));
}

/** The prefixed digest string used throughout the ledger: `sha256:<hex>`. */
export function digestString(bytes: Uint8Array): string {
  return `sha256:${toHex(sha256(bytes))}`;
}

/** `sha256:<hex>` of the canonical form of `value`. */
export function jsonDigest(value: unknown): string {
  return digestString(canonicalBytes(value));
}

/** Parses a `sha256:<hex>` digest (or bare 64-hex) into its 32 bytes; throws when malformed. */
export function parseDigest(digest: string): Uint8Array {
  const hex = digest.startsWith("sha256:") ? digest.slice(7) : digest;
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a sha256 digest: ${digest.slice(0, 80)}`);
  return fromHex(hex, 32);
}

/** Constant-time-insensitive byte equality (inputs are public hashes, not secrets). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
