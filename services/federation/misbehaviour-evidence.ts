/**
 * Misbehaviour evidence of a peer log (ADR 0084), checked offline: two checkpoints signed by
 * the log that no consistency proof joins. {@link checkMisbehaviourEvidence} is what a third
 * party runs, against its own pinned copy of the log's keys; the helpers here also pin a peer's
 * keys for the sync round.
 */
import { bytesEqual, fromBase64, toBase64 } from "../ledger/canonical-json.ts";
import {
  CheckpointFormatError,
  ED25519_NOTE_ALG,
  ed25519KeyVerifier,
  NoteRefusal,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  type Checkpoint,
  type NoteKeyVerifier,
} from "../ledger/checkpoint.ts";
import type { Hash } from "../ledger/merkle.ts";
import { verifyConsistency } from "../ledger/merkle-verify.ts";
import type { MisbehaviourEvidence } from "./peer-sync-types.ts";

/** Thrown for an unusable {@link PeerConfig}: a configuration error, never something a peer did. */
export class PeerConfigError extends Error {
  override readonly name = "PeerConfigError";
}

/** The result of {@link checkMisbehaviourEvidence}. */
export type EvidenceCheck =
  | { readonly ok: true; readonly kind: MisbehaviourEvidence["kind"]; readonly message: string }
  | { readonly ok: false; readonly message: string };

/**
 * The note verifiers of a peer log's pinned vkeys: Ed25519 (type 0x01) keys named `origin`.
 * Throws {@link PeerConfigError} naming `field[i]` for a key that is not one.
 */
export function pinnedLogVerifiers(
  origin: string,
  logVkeys: readonly string[],
  field = "logVkeys",
): NoteKeyVerifier[] {
  if (logVkeys.length === 0) throw new PeerConfigError(`${field}: at least one log vkey is needed`);
  return logVkeys.map((vkey, i) => {
    const k = parseKey(vkey, `${field}[${i}]`);
    if (k.alg !== ED25519_NOTE_ALG || k.name !== origin) {
      throw new PeerConfigError(
        `${field}[${i}]: expected an Ed25519 log key (type 0x01) named ${JSON.stringify(origin)}, got type 0x0${k.alg} named ${JSON.stringify(k.name)}`,
      );
    }
    return ed25519KeyVerifier({ name: origin, publicKey: toBase64(k.publicKey) });
  });
}

/** Parses a pinned vkey; a {@link PeerConfigError} naming `field` when it is not one. */
export function parseKey(vkey: string, field: string): ReturnType<typeof parseVerifierKey> {
  try {
    return parseVerifierKey(vkey);
  } catch (err) {
    if (!(err instanceof CheckpointFormatError)) throw err;
    throw new PeerConfigError(`${field}: ${err.message}`);
  }
}

/** Opens a log-signed note under `origin`: the checkpoint, or why not. */
export function openLogNote(
  note: string,
  origin: string,
  verifiers: readonly NoteKeyVerifier[],
): { ok: true; checkpoint: Checkpoint } | { ok: false; code: NoteRefusal; message: string } {
  const opened = openNote(note, verifiers, "checkpoint");
  if (!opened.ok) return { ok: false, code: opened.code, message: opened.reason };
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(opened.body);
  } catch (err) {
    if (!(err instanceof CheckpointFormatError)) throw err;
    return { ok: false, code: NoteRefusal.Malformed, message: err.message };
  }
  if (checkpoint.origin !== origin) {
    return {
      ok: false,
      code: NoteRefusal.Malformed,
      message: `checkpoint origin ${JSON.stringify(checkpoint.origin.slice(0, 100))} is not ${JSON.stringify(origin)}`,
    };
  }
  return { ok: true, checkpoint };
}

/**
 * Checks misbehaviour evidence offline against `logVkeys` (the checker's own pinned copy, not
 * the evidence's): both notes verify under the log's origin, and they prove what `kind` says —
 * same size with different roots (Forked); different sizes with the included proof, from the
 * smaller to the larger, failing (Forked, or RolledBack when the offered one is smaller); or an
 * offered checkpoint smaller than the trusted one with no proof (RolledBack). Pure.
 */
export function checkMisbehaviourEvidence(
  evidence: MisbehaviourEvidence,
  logVkeys: readonly string[],
): EvidenceCheck {
  let verifiers: NoteKeyVerifier[];
  try {
    verifiers = pinnedLogVerifiers(evidence.origin, logVkeys);
  } catch (err) {
    if (!(err instanceof PeerConfigError)) throw err;
    return { ok: false, message: err.message };
  }
  const t = openLogNote(evidence.trustedNote, evidence.origin, verifiers);
  if (!t.ok) return { ok: false, message: `trustedNote: ${t.message}` };
  const o = openLogNote(evidence.offeredNote, evidence.origin, verifiers);
  if (!o.ok) return { ok: false, message: `offeredNote: ${o.message}` };
  const [tc, oc] = [t.checkpoint, o.checkpoint];
  if (tc.size === oc.size) {
    if (bytesEqual(tc.root, oc.root)) {
      return { ok: false, message: `both notes are size ${tc.size} with the same root: no fork` };
    }
    return evidence.kind === "Forked"
      ? { ok: true, kind: "Forked", message: `size ${tc.size} signed with two roots` }
      : { ok: false, message: "kind: two roots of one size is a fork, not a rollback" };
  }
  const rolledBack = oc.size < tc.size;
  if (evidence.kind === "RolledBack" && !rolledBack) {
    return { ok: false, message: `kind: offered size ${oc.size} is not smaller than ${tc.size}` };
  }
  if (!evidence.proof) {
    return rolledBack && evidence.kind === "RolledBack"
      ? {
          ok: true,
          kind: "RolledBack",
          message: `the log served size ${oc.size} after size ${tc.size} and proved no consistency`,
        }
      : { ok: false, message: "proof: a fork between two sizes needs the failing proof" };
  }
  const [small, large] = rolledBack ? [oc, tc] : [tc, oc];
  const p = evidence.proof;
  if (p.first !== small.size || p.second !== large.size) {
    return {
      ok: false,
      message: `proof: must be from size ${small.size} to ${large.size}, is ${p.first} to ${p.second}`,
    };
  }
  let hashes: Hash[];
  try {
    hashes = p.hashes.map((h) => fromBase64(h));
  } catch {
    return { ok: false, message: "proof.hashes: not base64" };
  }
  const v = verifyConsistency({
    size1: small.size,
    size2: large.size,
    root1: small.root,
    root2: large.root,
    proof: hashes,
  });
  if (v.ok) return { ok: false, message: "proof: the consistency proof verifies: no misbehaviour" };
  return {
    ok: true,
    kind: evidence.kind,
    message: `no consistency between sizes ${small.size} and ${large.size}: ${v.reason}`,
  };
}
