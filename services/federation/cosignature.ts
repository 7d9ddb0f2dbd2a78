/**
 * Witness cosignatures of checkpoints per c2sp.org/tlog-cosignature (cosignature/v1, Ed25519):
 * a note signature line whose key hash is SHA-256(name || "\n" || 0x04 || public key)[:4] and
 * whose signature is u64 big-endian timestamp || Ed25519 over
 *
 *   cosignature/v1\n
 *   time <timestamp>\n
 *   <the whole checkpoint body>
 *
 * The signed message does not name the cosigner, so a witness key must be its own Ed25519 key,
 * never the log's signing key (docs/adr/0081-witness-key-and-cosignatures.md). Go's
 * transparency-dev/formats verifies what these functions make, and they verify what it makes
 * (hack/tlog-verifiers/tlog-interop.test.ts).
 */
import { bytesEqual, fromBase64 } from "../ledger/canonical-json.ts";
import {
  COSIGNATURE_V1_ALG,
  ed25519KeyVerifier,
  isValidKeyName,
  NoteRefusal,
  openNote,
  parseCheckpoint,
  parseNote,
  signatureLine,
  typedKeyHash,
  verifierKey,
  type Checkpoint,
  type NoteKeyVerifier,
} from "../ledger/checkpoint.ts";
import { ed25519Verify, type Ed25519Signer } from "../ledger/ed25519.ts";

/** Largest cosignature timestamp tlog-cosignature allows (2^63 - 1), as a bigint. */
const MAX_TIMESTAMP = (1n << 63n) - 1n;
const TIMESTAMP_BYTES = 8;
const ED25519_SIG_BYTES = 64;
const encoder = new TextEncoder();

/** Why a cosignature or a cosigned checkpoint was refused. */
export const CosignatureReason = {
  /** The note or checkpoint cannot be read. */
  Malformed: "Malformed",
  /** No valid signature by the pinned log key under the pinned origin. */
  BadLogSignature: "BadLogSignature",
  /** A signature line of a trusted witness does not verify. */
  BadCosignature: "BadCosignature",
  /** A trusted witness's timestamp lies further in the future than the allowed skew. */
  FutureTimestamp: "FutureTimestamp",
} as const;
export type CosignatureReason = (typeof CosignatureReason)[keyof typeof CosignatureReason];

/** Thrown when a witness is set up with an unusable key or name. */
export class WitnessKeyError extends Error {
  override readonly name = "WitnessKeyError";
}

/** The exact bytes a cosignature/v1 signs for checkpoint `body` at `timestamp` (seconds). */
export function cosignatureMessage(body: string | Uint8Array, timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError(`cosignature timestamp ${timestamp} must be a non-negative integer`);
  }
  const b = typeof body === "string" ? encoder.encode(body) : body;
  if (b.at(-1) !== 0x0a) throw new RangeError("checkpoint body must end with a newline");
  const head = encoder.encode(`cosignature/v1\ntime ${timestamp}\n`);
  const out = new Uint8Array(head.length + b.length);
  out.set(head, 0);
  out.set(b, head.length);
  return out;
}

/** A witness: its key name, cosignature/v1 verifier key and a signer for checkpoint bodies. */
export interface Witness {
  readonly name: string;
  /** `<name>+<key hash>+<base64(0x04 || key)>`, what a log or client pins. */
  readonly vkey: string;
  /** Raw 32-byte Ed25519 public key, base64. */
  readonly publicKey: string;
  /** The cosignature line for checkpoint `body` at `timestamp` (POSIX seconds). */
  cosign(body: string, timestamp: number): string;
}

/**
 * Sets up a witness named `name` on `signer`, refusing a signer whose key is one of
 * `logPublicKeys` (base64 raw keys of the log(s) it serves): cosignature/v1 does not sign the
 * cosigner's name, so reusing a log key would let one signature stand for both roles.
 */
export function createWitness(
  name: string,
  signer: Ed25519Signer,
  logPublicKeys: readonly string[],
): Witness {
  if (!isValidKeyName(name)) {
    throw new WitnessKeyError(
      `witness name ${JSON.stringify(name)} must be non-empty, without spaces or plus signs`,
    );
  }
  if (logPublicKeys.includes(signer.publicKey)) {
    throw new WitnessKeyError(
      `the witness key ${signer.keyId.slice(0, 16)} is a log signing key: a witness needs its own Ed25519 key`,
    );
  }
  const raw = fromBase64(signer.publicKey);
  const keyHash = typedKeyHash(name, COSIGNATURE_V1_ALG, raw);
  return {
    name,
    vkey: verifierKey(name, raw, COSIGNATURE_V1_ALG),
    publicKey: signer.publicKey,
    cosign(body, timestamp) {
      const sig = new Uint8Array(TIMESTAMP_BYTES + ED25519_SIG_BYTES);
      new DataView(sig.buffer).setBigUint64(0, BigInt(timestamp));
      sig.set(signer.sign(cosignatureMessage(body, timestamp)), TIMESTAMP_BYTES);
      return signatureLine(name, keyHash, sig);
    },
  };
}

/**
 * Adds a cosignature line (as {@link Witness.cosign} returns it) to a signed note, replacing an
 * earlier line with the same name and key hash: a witness keeps one cosignature per checkpoint,
 * its latest. Throws CheckpointFormatError for a malformed note or line, or too many lines.
 */
export function addCosignature(note: string, line: string): string {
  const { body, signatures } = parseNote(note);
  const added = parseNote(`${body}\n${line}`).signatures[0]!;
  const kept = note
    .slice(body.length + 1, -1)
    .split("\n")
    .filter(
      (_, i) =>
        !(signatures[i]!.name === added.name && bytesEqual(signatures[i]!.keyHash, added.keyHash)),
    );
  const out = `${body}\n${[...kept, line.trimEnd()].join("\n")}\n`;
  parseNote(out);
  return out;
}

/** The timestamp of a cosignature/v1 signature, or undefined when it is not one. */
export function cosignatureTimestamp(signature: Uint8Array): number | undefined {
  if (signature.length !== TIMESTAMP_BYTES + ED25519_SIG_BYTES) return undefined;
  const t = new DataView(signature.buffer, signature.byteOffset).getBigUint64(0);
  return t > MAX_TIMESTAMP || t > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(t);
}

/** A trusted witness: its name and raw Ed25519 public key (base64). */
export interface TrustedWitness {
  readonly name: string;
  readonly publicKey: string;
}

/** The {@link NoteKeyVerifier} of a cosignature/v1 key, for {@link openNote}. */
export function cosignatureKeyVerifier(w: TrustedWitness): NoteKeyVerifier {
  return {
    name: w.name,
    keyHash: typedKeyHash(w.name, COSIGNATURE_V1_ALG, fromBase64(w.publicKey)),
    kind: "cosignature/v1",
    verify(body, signature) {
      const t = cosignatureTimestamp(signature);
      if (t === undefined) return false;
      const message = cosignatureMessage(body, t);
      return ed25519Verify(w.publicKey, message, signature.subarray(TIMESTAMP_BYTES));
    },
  };
}

/** One verified cosignature. */
export interface Cosignature {
  readonly name: string;
  /** POSIX seconds. */
  readonly timestamp: number;
}

/** The result of {@link verifyCosignedCheckpoint}. */
export type CosignedCheckpoint =
  | {
      readonly ok: true;
      readonly checkpoint: Checkpoint;
      readonly body: string;
      /** Cosignatures by trusted witnesses, in note order (possibly none). */
      readonly cosignatures: readonly Cosignature[];
    }
  | { readonly ok: false; readonly reason: CosignatureReason; readonly message: string };

/**
 * Verifies a checkpoint note against a pinned log (origin and Ed25519 keys) and trusted
 * witnesses: the log must sign it under its origin, the checkpoint must carry that origin, every
 * line of a trusted key (log or witness) must verify, and no trusted cosignature may be dated
 * more than `maxSkewSeconds` after `now` (tlog-cosignature lets verifiers refuse those).
 */
export function verifyCosignedCheckpoint(
  note: string,
  log: { readonly origin: string; readonly publicKeys: readonly string[] },
  witnesses: readonly TrustedWitness[],
  now: Date,
  maxSkewSeconds = 300,
): CosignedCheckpoint {
  const logVerifiers = log.publicKeys.map((publicKey) =>
    ed25519KeyVerifier({ name: log.origin, publicKey }),
  );
  const witnessVerifiers = witnesses.map(cosignatureKeyVerifier);
  const opened = openNote(note, [...logVerifiers, ...witnessVerifiers], "checkpoint");
  if (!opened.ok) {
    const reason =
      opened.code === NoteRefusal.Malformed
        ? CosignatureReason.Malformed
        : opened.failed && witnessVerifiers.includes(opened.failed)
          ? CosignatureReason.BadCosignature
          : CosignatureReason.BadLogSignature;
    return { ok: false, reason, message: opened.reason };
  }
  if (!opened.verified.some((v) => logVerifiers.includes(v.verifier))) {
    return {
      ok: false,
      reason: CosignatureReason.BadLogSignature,
      message: `checkpoint is not signed by the log key of ${log.origin}`,
    };
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(opened.body);
  } catch (err) {
    return { ok: false, reason: CosignatureReason.Malformed, message: (err as Error).message };
  }
  if (checkpoint.origin !== log.origin) {
    return {
      ok: false,
      reason: CosignatureReason.BadLogSignature,
      message: `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not the pinned origin ${JSON.stringify(log.origin)}`,
    };
  }
  const latest = Math.floor(now.getTime() / 1000) + maxSkewSeconds;
  const cosignatures: Cosignature[] = [];
  for (const v of opened.verified) {
    if (!witnessVerifiers.includes(v.verifier)) continue;
    const timestamp = cosignatureTimestamp(v.signature)!;
    if (timestamp > latest) {
      return {
        ok: false,
        reason: CosignatureReason.FutureTimestamp,
        message: `cosignature by ${v.verifier.name} is dated ${timestamp}, after ${latest} (now + ${maxSkewSeconds}s)`,
      };
    }
    cosignatures.push({ name: v.verifier.name, timestamp });
  }
  return { ok: true, checkpoint, body: opened.body, cosignatures };
}
