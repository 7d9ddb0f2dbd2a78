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

/** What misbehaviour evidence shows, as {@link findConflict} recomputes it. */
export const MisbehaviourFinding = {
  /** Two checkpoints of one size with different roots, both signed by the log: a fork, proven. */
  SameSizeOtherRoot: "SameSizeOtherRoot",
  /** Two sizes whose consistency proof, as served, does not verify. */
  ProofFails: "ProofFails",
  /** A smaller checkpoint than the trusted one, with no (valid) proof that it is its prefix. */
  RolledBack: "RolledBack",
} as const;
export type MisbehaviourFinding = (typeof MisbehaviourFinding)[keyof typeof MisbehaviourFinding];

/** The result of {@link findConflict} and {@link checkMisbehaviourEvidence}. */
export type EvidenceCheck =
  | {
      readonly ok: true;
      readonly kind: MisbehaviourEvidence["kind"];
      readonly finding: MisbehaviourFinding;
      readonly message: string;
    }
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
  return findConflict(evidence.kind, t.checkpoint, o.checkpoint, evidence.proof);
}

/**
 * The misbehaviour rule (the one home of it; the receipt verifier and the sync evidence check
 * both call it): whether two checkpoints of one log — `trusted` (the one cosigned) and
 * `offered` (the conflicting one served), both already verified as signed by the log — with
 * the consistency proof served between them show what `kind` says. Forked: the same size with
 * different roots, or different sizes with the proof, from the smaller to the larger, failing.
 * RolledBack: an offered size smaller than the trusted one with the proof failing or absent.
 * A proof for other sizes, or a fork between two sizes without the failing proof, shows
 * nothing. Pure.
 */
export function findConflict(
  kind: MisbehaviourEvidence["kind"],
  trusted: Checkpoint,
  offered: Checkpoint,
  proof: MisbehaviourEvidence["proof"],
): EvidenceCheck {
  const [tc, oc] = [trusted, offered];
  if (tc.size === oc.size) {
    if (bytesEqual(tc.root, oc.root)) {
      return {
        ok: false,
        message: `both checkpoints are size ${tc.size} with the same root: no conflict`,
      };
    }
    return kind === "Forked"
      ? {
          ok: true,
          kind,
          finding: MisbehaviourFinding.SameSizeOtherRoot,
          message: `${MisbehaviourFinding.SameSizeOtherRoot}: size ${tc.size} signed with two roots — a fork, proven by the two notes alone`,
        }
      : { ok: false, message: "kind: two roots of one size is a fork, not a rollback" };
  }
  const rolledBack = oc.size < tc.size;
  if (kind === "RolledBack" && !rolledBack) {
    return { ok: false, message: `kind: offered size ${oc.size} is not smaller than ${tc.size}` };
  }
  const finding =
    kind === "RolledBack" ? MisbehaviourFinding.RolledBack : MisbehaviourFinding.ProofFails;
  const says = (what: string): string =>
    finding === MisbehaviourFinding.RolledBack
      ? `${finding}: the log served size ${oc.size} after size ${tc.size} was cosigned, and ${what}`
      : `${finding}: between the cosigned size ${tc.size} and size ${oc.size} ${what}`;
  if (!proof) {
    return kind === "RolledBack"
      ? { ok: true, kind, finding, message: says("no consistency proof was served") }
      : { ok: false, message: "proof: a fork between two sizes needs the failing proof" };
  }
  const [small, large] = rolledBack ? [oc, tc] : [tc, oc];
  if (proof.first !== small.size || proof.second !== large.size) {
    return {
      ok: false,
      message: `proof: must be from size ${small.size} to ${large.size}, is ${proof.first} to ${proof.second}`,
    };
  }
  let hashes: Hash[];
  try {
    hashes = proof.hashes.map((h) => fromBase64(h));
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
  if (v.ok) {
    return {
      ok: false,
      message: `proof: it shows size ${small.size} is a prefix of size ${large.size}: no conflict`,
    };
  }
  return {
    ok: true,
    kind,
    finding,
    message: says(`the consistency proof served does not verify (${v.reason})`),
  };
}
