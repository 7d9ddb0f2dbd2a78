/**
 * Signed tree heads as C2SP checkpoints (c2sp.org/tlog-checkpoint) wrapped in signed notes
 * (c2sp.org/signed-note) with Ed25519 signatures:
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n
 *   \n
 *   — <key name> <base64(4-byte key hash || 64-byte signature)>\n
 *
 * The key hash is SHA-256(name || "\n" || 0x01 || public key)[:4]. Tools of the Go
 * transparency-log ecosystem (golang.org/x/mod/sumdb/note) read the same format.
 */
import { bytesEqual, fromBase64, sha256, toBase64, toHex } from "./canonical-json.ts";
import { ed25519Verify, type Ed25519Signer } from "./ed25519.ts";
import type { Hash } from "./merkle.ts";

const ED25519_ALG = 0x01;
const SIG_PREFIX = "\u2014 ";
const encoder = new TextEncoder();

/** The parsed body of a checkpoint. */
export interface Checkpoint {
  readonly origin: string;
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
  override readonly name = "CheckpointFormatError";
}

/** Formats a checkpoint body (the text that is signed). */
export function formatCheckpoint(c: Checkpoint): string {
  if (!c.origin || /[\n]/.test(c.origin) || c.origin.trim() !== c.origin) {
    throw new CheckpointFormatError("checkpoint origin must be one non-empty line");
  }
  const ext = c.extensions.map((e) => `${e}\n`).join("");
  return `${c.origin}\n${c.size}\n${toBase64(c.root)}\n${ext}`;
}

/** Parses a checkpoint body; throws {@link CheckpointFormatError} on anything unexpected. */
export function parseCheckpoint(body: string): Checkpoint {
  if (!body.endsWith("\n")) throw new CheckpointFormatError("checkpoint must end with a newline");
  const lines = body.slice(0, -1).split("\n");
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!origin) throw new CheckpointFormatError("checkpoint has no origin line");
  if (sizeText === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(sizeText)) {
    throw new CheckpointFormatError("checkpoint tree size must be a decimal integer");
  }
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
  return { origin, size: Number(sizeText), root, extensions };
}

/** The signed-note key hash of an Ed25519 key with `name`. */
export function noteKeyHash(name: string, rawPub: Uint8Array): Uint8Array {
  const n = encoder.encode(`${name}\n`);
  const buf = new Uint8Array(n.length + 1 + rawPub.length);
  buf.set(n, 0);
  buf[n.length] = ED25519_ALG;
  buf.set(rawPub, n.length + 1);
  return sha256(buf).slice(0, 4);
}

/** The verifier-key string `<name>+<hex key hash>+<base64(0x01 || key)>` (C2SP vkey). */
export function verifierKey(name: string, rawPub: Uint8Array): string {
  const typed = new Uint8Array(33);
  typed[0] = ED25519_ALG;
  typed.set(rawPub, 1);
  return `${name}+${toHex(noteKeyHash(name, rawPub))}+${toBase64(typed)}`;
}

/** Signs a note body, returning the full signed note text. */
export function signNote(body: string, name: string, signer: Ed25519Signer): string {
  if (!body.endsWith("\n")) throw new CheckpointFormatError("note body must end with a newline");
  const rawPub = fromBase64(signer.publicKey);
  const sig = signer.sign(encoder.encode(body));
  const blob = new Uint8Array(4 + sig.length);
  blob.set(noteKeyHash(name, rawPub), 0);
  blob.set(sig, 4);
  return `${body}\n${SIG_PREFIX}${name} ${toBase64(blob)}\n`;
}

/** Splits a signed note into its body and signature lines. */
export function parseNote(text: string): { body: string; signatures: NoteSignature[] } {
  const split = text.lastIndexOf("\n\n");
  if (split < 0 || !text.endsWith("\n")) {
    throw new CheckpointFormatError("signed note must have a body, a blank line and signatures");
  }
  const body = text.slice(0, split + 1);
  const lines = text.slice(split + 2, -1).split("\n");
  const signatures = lines.map((line) => {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new CheckpointFormatError(`malformed note signature line: ${line.slice(0, 60)}`);
    const blob = fromBase64(m[2]!);
    if (blob.length < 5) throw new CheckpointFormatError("note signature is too short");
    return { name: m[1]!, keyHash: blob.slice(0, 4), signature: blob.slice(4) };
  });
  if (signatures.length === 0) throw new CheckpointFormatError("signed note has no signature");
  return { body, signatures };
}

/** A public key a verifier trusts to sign notes under `name`. */
export interface NoteVerifier {
  readonly name: string;
  /** Raw 32-byte Ed25519 public key, base64. */
  readonly publicKey: string;
}

/**
 * Verifies a signed note: returns the body when at least one signature is by a trusted key
 * and valid, otherwise a reason. Unknown signers are ignored, as the signed-note spec asks.
 */
export function verifyNote(
  text: string,
  verifiers: readonly NoteVerifier[],
): { ok: true; body: string; signer: string } | { ok: false; reason: string } {
  let note: { body: string; signatures: NoteSignature[] };
  try {
    note = parseNote(text);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const data = encoder.encode(note.body);
  let known = false;
  for (const v of verifiers) {
    const raw = fromBase64(v.publicKey);
    const hash = noteKeyHash(v.name, raw);
    for (const s of note.signatures) {
      if (s.name !== v.name || !bytesEqual(s.keyHash, hash)) continue;
      known = true;
      if (ed25519Verify(v.publicKey, data, s.signature)) {
        return { ok: true, body: note.body, signer: v.name };
      }
    }
  }
  return {
    ok: false,
    reason: known ? "tree head signature is invalid" : "tree head is not signed by a trusted key",
  };
}

/** A signed tree head's checkpoint as read, and whether a trusted key signed it. */
export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The note body (the checkpoint text the signatures cover). */
  readonly body: string;
  readonly signature: { readonly ok: true } | { readonly ok: false; readonly reason: string };
}

/**
 * Reads a signed tree head (a C2SP signed note) and checks its signature against `keys`, named
 * `origin` or, without one, the checkpoint's own origin — what verify-full and the Receipt
 * controller both check. Throws {@link CheckpointFormatError} when the checkpoint is unreadable;
 * a bad or unknown signature is reported, with the checkpoint still returned.
 */
export function readSignedCheckpoint(
  text: string,
  keys: { readonly origin?: string; readonly ed25519: readonly { readonly publicKey: string }[] },
): SignedCheckpoint {
  const body = text.slice(0, text.lastIndexOf("\n\n") + 1);
  const checkpoint = parseCheckpoint(body);
  const name = keys.origin ?? checkpoint.origin;
  const note = verifyNote(
    text,
    keys.ed25519.map((k) => ({ name, publicKey: k.publicKey })),
  );
  return {
    checkpoint,
    body,
    signature: note.ok ? { ok: true } : { ok: false, reason: note.reason },
  };
}
