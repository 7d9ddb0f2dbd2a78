/**
 * Signed tree heads as C2SP checkpoints (c2sp.org/tlog-checkpoint) wrapped in signed notes
 * (c2sp.org/signed-note) with Ed25519 signatures:
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n
 *   \n
 *   — <key name> <base64(4-byte key hash || 64-byte signature)>\n
 *
 * The key hash is SHA-256(name || "\n" || 0x01 || public key)[:4]. Go's
 * golang.org/x/mod/sumdb/note and github.com/transparency-dev/formats read the same notes;
 * hack/tlog-verifiers/tlog-interop.test.ts checks that with those libraries.
 *
 * Verification follows signed-note strictly: signatures by unknown keys are ignored, every
 * signature by a trusted key is verified, and a note with any failing trusted signature is
 * rejected as a whole. Checkpoints are read against an origin the verifier pins, never the
 * origin the checkpoint claims. Tree sizes past 2^53 − 1 are refused, never rounded
 * (docs/adr/0080-checkpoint-verification-rules.md).
 */
import { bytesEqual, fromBase64, sha256, toBase64, toHex } from "./canonical-json.ts";
import { ed25519Verify, type Ed25519Signer } from "./ed25519.ts";
import type { Hash } from "./merkle.ts";

/** Signed-note signature type of plain Ed25519 note signatures. */
export const ED25519_NOTE_ALG = 0x01;
/** Signed-note signature type of timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature). */
export const COSIGNATURE_V1_ALG = 0x04;
/**
 * Most signature lines a note may carry. signed-note asks verifiers to cap the count and to
 * accept at least 16; a log signature and a handful of cosignatures fit well within it.
 */
export const MAX_NOTE_SIGNATURES = 16;
/** The largest tree size a checkpoint may carry here: sizes are JavaScript numbers. */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

const SIG_PREFIX = "\u2014 ";
const MAX_UINT64 = (1n << 64n) - 1n;
const encoder = new TextEncoder();

/** The parsed body of a checkpoint. */
export interface Checkpoint {
  readonly origin: string;
  /** Tree size, at most {@link MAX_TREE_SIZE}. */
  readonly size: number;
  readonly root: Hash;
  /** Optional extension lines after the root. */
  readonly extensions: readonly string[];
}

/** One signature line of a signed note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyHash: Uint8Array;
  readonly signature: Uint8Array;
}

/** Thrown when checkpoint or note text is malformed. */
export class CheckpointFormatError extends Error {
  override readonly name: string = "CheckpointFormatError";
}

/**
 * Thrown for a well-formed tree size (an unsigned 64-bit decimal) past {@link MAX_TREE_SIZE}:
 * it cannot be represented exactly here, so it is refused rather than rounded.
 */
export class CheckpointSizeError extends CheckpointFormatError {
  override readonly name: string = "CheckpointSizeError";
}

/** Whether `s` has an ASCII control character (below U+0020), other than newline if allowed. */
function hasControl(s: string, newlineAllowed = false): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && !(newlineAllowed && c === 0x0a)) return true;
  }
  return false;
}

const quote = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

/**
 * Whether `name` is a valid signed-note key name: non-empty, no Unicode spaces, no plus.
 * Checkpoint origins double as the log's key name, so they follow the same rule here.
 */
export function isValidKeyName(name: string): boolean {
  return name !== "" && name.isWellFormed() && !/[\s+]/u.test(name) && !hasControl(name);
}

/** Formats a checkpoint body (the text that is signed). */
export function formatCheckpoint(c: Checkpoint): string {
  if (!isValidKeyName(c.origin)) {
    throw new CheckpointFormatError(
      `checkpoint origin ${quote(c.origin)} must be non-empty, without spaces, plus signs or control characters`,
    );
  }
  if (!Number.isSafeInteger(c.size) || c.size < 0) {
    throw new CheckpointFormatError(
      `checkpoint tree size ${String(c.size)} must be an integer from 0 to ${MAX_TREE_SIZE}`,
    );
  }
  if (c.root.length !== 32)
    throw new CheckpointFormatError("checkpoint root hash must be 32 bytes");
  for (const e of c.extensions) {
    if (e === "" || hasControl(e) || !e.isWellFormed()) {
      throw new CheckpointFormatError(
        `checkpoint extension line ${quote(e)} must be non-empty, one line, no control characters`,
      );
    }
  }
  const ext = c.extensions.map((e) => `${e}\n`).join("");
  return `${c.origin}\n${c.size}\n${toBase64(c.root)}\n${ext}`;
}

/**
 * Parses a tree size line: an ASCII decimal without leading zeros (tlog-checkpoint), at most
 * 2^64 − 1 (what other implementations read as uint64); past {@link MAX_TREE_SIZE} it throws
 * {@link CheckpointSizeError}.
 */
export function parseTreeSize(text: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text)) {
    throw new CheckpointFormatError(
      `checkpoint tree size ${quote(text)} must be an ASCII decimal without leading zeros`,
    );
  }
  if (text.length > 20 || BigInt(text) > MAX_UINT64) {
    throw new CheckpointFormatError(
      `checkpoint tree size ${quote(text)} is larger than 2^64 - 1, not a valid tree size`,
    );
  }
  const size = BigInt(text);
  if (size > BigInt(MAX_TREE_SIZE)) {
    throw new CheckpointSizeError(
      `checkpoint tree size ${text} is past 2^53 - 1 (${MAX_TREE_SIZE}), the largest size ` +
        `this verifier represents exactly; refused rather than rounded`,
    );
  }
  return Number(size);
}

/** Parses a checkpoint body; throws {@link CheckpointFormatError} on anything unexpected. */
export function parseCheckpoint(body: string): Checkpoint {
  if (!body.endsWith("\n")) throw new CheckpointFormatError("checkpoint must end with a newline");
  const lines = body.slice(0, -1).split("\n");
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!origin) throw new CheckpointFormatError("checkpoint has no origin line");
  if (sizeText === undefined) throw new CheckpointFormatError("checkpoint has no tree size line");
  const size = parseTreeSize(sizeText);
  let root: Uint8Array;
  try {
    root = fromBase64(rootText ?? "");
  } catch {
    throw new CheckpointFormatError("checkpoint root hash must be base64");
  }
  if (root.length !== 32) throw new CheckpointFormatError("checkpoint root hash must be 32 bytes");
  if (extensions.some((e) => e === "")) {
    throw new CheckpointFormatError("checkpoint has an empty extension line");
  }
  return { origin, size, root, extensions };
}

/** The signed-note key hash of a key of signature type `alg` with `name`. */
export function typedKeyHash(name: string, alg: number, rawPub: Uint8Array): Uint8Array {
  const n = encoder.encode(`${name}\n`);
  const buf = new Uint8Array(n.length + 1 + rawPub.length);
  buf.set(n, 0);
  buf[n.length] = alg;
  buf.set(rawPub, n.length + 1);
  return sha256(buf).slice(0, 4);
}

/** The signed-note key hash of an Ed25519 key with `name`. */
export function noteKeyHash(name: string, rawPub: Uint8Array): Uint8Array {
  return typedKeyHash(name, ED25519_NOTE_ALG, rawPub);
}

/** The verifier-key string `<name>+<hex key hash>+<base64(alg || key)>` (C2SP vkey). */
export function verifierKey(name: string, rawPub: Uint8Array, alg = ED25519_NOTE_ALG): string {
  if (!isValidKeyName(name))
    throw new CheckpointFormatError(`invalid note key name ${quote(name)}`);
  const typed = new Uint8Array(1 + rawPub.length);
  typed[0] = alg;
  typed.set(rawPub, 1);
  return `${name}+${toHex(typedKeyHash(name, alg, rawPub))}+${toBase64(typed)}`;
}

/** A parsed C2SP verifier key. */
export interface ParsedVerifierKey {
  readonly name: string;
  /** Signature type byte: {@link ED25519_NOTE_ALG} or {@link COSIGNATURE_V1_ALG}. */
  readonly alg: number;
  readonly keyHash: Uint8Array;
  /** Raw public key (32 bytes for the Ed25519 types). */
  readonly publicKey: Uint8Array;
}

/**
 * Parses a vkey `<name>+<hex key hash>+<base64(alg || key)>`; throws
 * {@link CheckpointFormatError} naming the part that is wrong, including a key hash that is not
 * the one the name, type and key give.
 */
export function parseVerifierKey(vkey: string): ParsedVerifierKey {
  // The name has no plus and the hash is hex; the base64 key may itself contain plus signs.
  const m = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(vkey);
  const [, name, hashHex, keyB64] = m ?? [];
  if (!name || !isValidKeyName(name)) {
    throw new CheckpointFormatError(
      `verifier key ${quote(vkey)} must be <name>+<hex key hash>+<base64 key>`,
    );
  }
  if (!/^[0-9a-f]{8}$/.test(hashHex!)) {
    throw new CheckpointFormatError(`verifier key ${quote(name)}: key hash must be 8 hex digits`);
  }
  let typed: Uint8Array;
  try {
    typed = fromBase64(keyB64!);
  } catch {
    throw new CheckpointFormatError(`verifier key ${quote(name)}: key must be base64`);
  }
  const alg = typed[0] ?? -1;
  const publicKey = typed.slice(1);
  if ((alg !== ED25519_NOTE_ALG && alg !== COSIGNATURE_V1_ALG) || publicKey.length !== 32) {
    throw new CheckpointFormatError(
      `verifier key ${quote(name)}: expected an Ed25519 key (type 0x01 or 0x04, 32 bytes)`,
    );
  }
  const keyHash = typedKeyHash(name, alg, publicKey);
  if (toHex(keyHash) !== hashHex) {
    throw new CheckpointFormatError(
      `verifier key ${quote(name)}: key hash ${hashHex} does not match the key (${toHex(keyHash)})`,
    );
  }
  return { name, alg, keyHash, publicKey };
}

/** Formats one signature line for `name` from the key hash and the signature bytes. */
export function signatureLine(name: string, keyHash: Uint8Array, sig: Uint8Array): string {
  if (!isValidKeyName(name))
    throw new CheckpointFormatError(`invalid note key name ${quote(name)}`);
  const blob = new Uint8Array(keyHash.length + sig.length);
  blob.set(keyHash, 0);
  blob.set(sig, keyHash.length);
  return `${SIG_PREFIX}${name} ${toBase64(blob)}\n`;
}

/** Signs a note body, returning the full signed note text. */
export function signNote(body: string, name: string, signer: Ed25519Signer): string {
  if (!body.endsWith("\n")) throw new CheckpointFormatError("note body must end with a newline");
  const rawPub = fromBase64(signer.publicKey);
  const sig = signer.sign(encoder.encode(body));
  return `${body}\n${signatureLine(name, noteKeyHash(name, rawPub), sig)}`;
}

/**
 * Splits a signed note into its body and signature lines, enforcing the signed-note format:
 * well-formed text without control characters other than newline, a blank line before the
 * signatures, valid key names, base64 signatures of at least 5 bytes, and at most
 * {@link MAX_NOTE_SIGNATURES} lines.
 */
export function parseNote(text: string): { body: string; signatures: NoteSignature[] } {
  if (!text.isWellFormed() || hasControl(text, true)) {
    throw new CheckpointFormatError(
      "signed note must be valid text without control characters other than newline",
    );
  }
  const split = text.lastIndexOf("\n\n");
  if (split < 0 || !text.endsWith("\n") || split + 2 >= text.length) {
    throw new CheckpointFormatError("signed note must have a body, a blank line and signatures");
  }
  const body = text.slice(0, split + 1);
  const lines = text.slice(split + 2, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw new CheckpointFormatError(
      `signed note has ${lines.length} signatures, more than the ${MAX_NOTE_SIGNATURES} accepted`,
    );
  }
  const signatures = lines.map((line) => {
    const m = /^\u2014 ([^ ]+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m || !isValidKeyName(m[1]!)) {
      throw new CheckpointFormatError(`malformed note signature line: ${quote(line)}`);
    }
    let blob: Uint8Array;
    try {
      blob = fromBase64(m[2]!);
    } catch {
      throw new CheckpointFormatError(`note signature of ${quote(m[1]!)} is not base64`);
    }
    if (blob.length < 5) throw new CheckpointFormatError("note signature is too short");
    return { name: m[1]!, keyHash: blob.slice(0, 4), signature: blob.slice(4) };
  });
  return { body, signatures };
}

/** A public key a verifier trusts to sign notes under `name`. */
export interface NoteVerifier {
  readonly name: string;
  /** Raw 32-byte Ed25519 public key, base64. */
  readonly publicKey: string;
}

/**
 * A trusted key of any signature type: the (name, key hash) it signs under and how to check
 * one of its signatures over a note body. {@link ed25519KeyVerifier} makes the Ed25519 one;
 * cosignature/v1 keys (services/federation/cosignature.ts) plug in the same way.
 */
export interface NoteKeyVerifier {
  readonly name: string;
  readonly keyHash: Uint8Array;
  /** A short label for reasons, e.g. "Ed25519" or "cosignature/v1". */
  readonly kind: string;
  verify(body: Uint8Array, signature: Uint8Array): boolean;
}

/** The {@link NoteKeyVerifier} of a plain Ed25519 note key. */
export function ed25519KeyVerifier(v: NoteVerifier): NoteKeyVerifier {
  return {
    name: v.name,
    keyHash: noteKeyHash(v.name, fromBase64(v.publicKey)),
    kind: "Ed25519",
    verify: (body, sig) => ed25519Verify(v.publicKey, body, sig),
  };
}

/** A signature line a trusted key made, as found by {@link openNote}. */
export interface VerifiedSignature {
  readonly verifier: NoteKeyVerifier;
  readonly signature: Uint8Array;
}

/** Why {@link openNote} refused a note. */
export const NoteRefusal = {
  /** Not a well-formed signed note. */
  Malformed: "Malformed",
  /** No signature by a trusted key. */
  Untrusted: "Untrusted",
  /** A signature by a trusted key does not verify (`failed` names the key). */
  BadSignature: "BadSignature",
} as const;
export type NoteRefusal = (typeof NoteRefusal)[keyof typeof NoteRefusal];

/** The result of {@link openNote}. */
export type OpenedNote =
  | { readonly ok: true; readonly body: string; readonly verified: readonly VerifiedSignature[] }
  | {
      readonly ok: false;
      readonly code: NoteRefusal;
      readonly reason: string;
      readonly failed?: NoteKeyVerifier;
    };

/**
 * Opens a signed note per signed-note: a signature line whose name and key hash match a
 * trusted key must verify — one that does not rejects the whole note — lines of unknown keys
 * are ignored, and at least one trusted signature must verify. `what` names the note in reasons.
 */
export function openNote(
  text: string,
  verifiers: readonly NoteKeyVerifier[],
  what = "note",
): OpenedNote {
  let note: { body: string; signatures: NoteSignature[] };
  try {
    note = parseNote(text);
  } catch (err) {
    return { ok: false, code: NoteRefusal.Malformed, reason: (err as Error).message };
  }
  const data = encoder.encode(note.body);
  const verified: VerifiedSignature[] = [];
  for (const s of note.signatures) {
    const v = verifiers.find((k) => k.name === s.name && bytesEqual(k.keyHash, s.keyHash));
    if (!v) continue;
    if (!v.verify(data, s.signature)) {
      return {
        ok: false,
        code: NoteRefusal.BadSignature,
        reason: `${what} signature by trusted ${v.kind} key ${s.name} (${toHex(s.keyHash)}) is invalid`,
        failed: v,
      };
    }
    verified.push({ verifier: v, signature: s.signature });
  }
  if (verified.length === 0) {
    return {
      ok: false,
      code: NoteRefusal.Untrusted,
      reason: `${what} is not signed by a trusted key`,
    };
  }
  return { ok: true, body: note.body, verified };
}

/**
 * Verifies a signed note against trusted Ed25519 keys ({@link openNote}): returns the body and
 * the first trusted signer, or a reason.
 */
export function verifyNote(
  text: string,
  verifiers: readonly NoteVerifier[],
): { ok: true; body: string; signer: string } | { ok: false; reason: string } {
  const opened = openNote(text, verifiers.map(ed25519KeyVerifier), "tree head");
  if (!opened.ok) return { ok: false, reason: opened.reason };
  return { ok: true, body: opened.body, signer: opened.verified[0]!.verifier.name };
}

/** A signed tree head's checkpoint as read, and whether a trusted key signed it. */
export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The note body (the checkpoint text the signatures cover). */
  readonly body: string;
  readonly signature: { readonly ok: true } | { readonly ok: false; readonly reason: string };
}

/**
 * Reads a signed tree head (a C2SP signed note) and checks it against the log the verifier
 * pins: the checkpoint's origin must be `keys.origin` and an Ed25519 key of `keys`, named that
 * origin, must sign it — what verify-full, audit and the Receipt controller check. Without a
 * pinned origin the signature check fails (the checkpoint's own origin is never trusted).
 * Throws {@link CheckpointFormatError} when the checkpoint is unreadable; a bad or unknown
 * signature or another origin is reported, with the checkpoint still returned.
 */
export function readSignedCheckpoint(
  text: string,
  keys: { readonly origin?: string; readonly ed25519: readonly { readonly publicKey: string }[] },
): SignedCheckpoint {
  const body = text.slice(0, text.lastIndexOf("\n\n") + 1);
  const checkpoint = parseCheckpoint(body);
  const signature = ((): SignedCheckpoint["signature"] => {
    const origin = keys.origin;
    if (!origin) {
      return {
        ok: false,
        reason: "no pinned origin: the trust bundle names no log origin (field origin)",
      };
    }
    if (checkpoint.origin !== origin) {
      return {
        ok: false,
        reason: `checkpoint origin ${quote(checkpoint.origin)} is not the pinned origin ${quote(origin)}`,
      };
    }
    const note = verifyNote(
      text,
      keys.ed25519.map((k) => ({ name: origin, publicKey: k.publicKey })),
    );
    return note.ok ? { ok: true } : { ok: false, reason: note.reason };
  })();
  return { checkpoint, body, signature };
}
