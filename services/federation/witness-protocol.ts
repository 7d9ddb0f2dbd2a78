/**
 * The decision core of a c2sp.org/tlog-witness `add-checkpoint` witness, as pure functions:
 * parsing a request body (old size, at most 63 proof lines, a blank line, a signed checkpoint),
 * and deciding — from the pinned log, the latest checkpoint this witness cosigned for that
 * origin and the request — whether to cosign, with the HTTP status the spec prescribes:
 *
 *   404 unknown origin · 403 no valid signature of a trusted log key, or a failing one ·
 *   400 malformed, or old size > new size · 409 old size is not the latest cosigned size
 *   (body: that size, text/x.tlog.size) · 422 empty tree with another root, a proof from size 0,
 *   a consistency proof that does not verify, or the same size with another root · 200 the
 *   cosignature line(s).
 *
 * The caller reads the trusted checkpoint and persists the new one in one transaction locked
 * on the origin (check-then-persist is atomic, as the spec requires); nothing here does I/O or
 * reads a clock.
 */
import { bytesEqual, fromBase64, toBase64 } from "../ledger/canonical-json.ts";
import {
  CheckpointFormatError,
  ed25519KeyVerifier,
  NoteRefusal,
  openNote,
  parseCheckpoint,
  parseTreeSize,
  type Checkpoint,
} from "../ledger/checkpoint.ts";
import { EMPTY_ROOT, type Hash } from "../ledger/merkle.ts";
import { verifyConsistency } from "../ledger/merkle-verify.ts";
import { addCosignature, type Witness } from "./cosignature.ts";

/** Largest request body a witness reads (the transparency-dev witness's cap). */
export const WITNESS_MAX_BODY_BYTES = 16 * 1024;
/** Most consistency proof lines a request may carry (tlog-witness). */
export const WITNESS_MAX_PROOF_HASHES = 63;
/** Content type of a 409 answer: the latest cosigned size and a newline. */
export const TLOG_SIZE_CONTENT_TYPE = "text/x.tlog.size";

/** Why a witness refused a checkpoint; each maps to one HTTP status. */
export const WitnessReason = {
  UnknownOrigin: "UnknownOrigin",
  BadSignature: "BadSignature",
  Malformed: "Malformed",
  OldSizeAfterNew: "OldSizeAfterNew",
  StaleOldSize: "StaleOldSize",
  BadEmptyTree: "BadEmptyTree",
  ProofFromEmptyTree: "ProofFromEmptyTree",
  BadConsistencyProof: "BadConsistencyProof",
  SameSizeOtherRoot: "SameSizeOtherRoot",
  /** The origin is quarantined: a fork or rollback of it was recorded (ADR 0084). */
  Quarantined: "Quarantined",
} as const;
export type WitnessReason = (typeof WitnessReason)[keyof typeof WitnessReason];

const STATUS: Record<WitnessReason, 400 | 403 | 404 | 409 | 422> = {
  UnknownOrigin: 404,
  BadSignature: 403,
  Malformed: 400,
  OldSizeAfterNew: 400,
  StaleOldSize: 409,
  BadEmptyTree: 422,
  ProofFromEmptyTree: 422,
  BadConsistencyProof: 422,
  SameSizeOtherRoot: 422,
  Quarantined: 403,
};

/** A parsed add-checkpoint request. */
export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly Hash[];
  /** The signed checkpoint note, as sent. */
  readonly note: string;
}

/** A refusal: the status, the reason constant and a message naming the value at fault. */
export interface WitnessRefusal {
  readonly ok: false;
  readonly status: 400 | 403 | 404 | 409 | 422;
  readonly reason: WitnessReason;
  readonly message: string;
  /** For 409: the response body (`<size>\n`, {@link TLOG_SIZE_CONTENT_TYPE}). */
  readonly body?: string;
  /**
   * Set when a validly signed checkpoint of a known origin fails a consistency check against
   * what this witness cosigned: possible evidence of log misbehaviour (a fork, or a bad proof),
   * which tlog-witness lets a witness keep.
   */
  readonly evidence?: { readonly trustedNote: string; readonly offeredNote: string };
}

const refuse = (
  reason: WitnessReason,
  message: string,
  extra: Partial<Pick<WitnessRefusal, "body" | "evidence">> = {},
): WitnessRefusal => ({ ok: false, status: STATUS[reason], reason, message, ...extra });

/** Formats an add-checkpoint request body (the client side). */
export function formatAddCheckpointRequest(r: AddCheckpointRequest): string {
  if (r.proof.length > WITNESS_MAX_PROOF_HASHES) {
    throw new RangeError(`a consistency proof of ${r.proof.length} hashes is over the 63 allowed`);
  }
  return `old ${r.oldSize}\n${r.proof.map((h) => `${toBase64(h)}\n`).join("")}\n${r.note}`;
}

/** Parses an add-checkpoint request body; a refusal is always a 400. */
export function parseAddCheckpointRequest(
  body: Uint8Array,
): { readonly ok: true; readonly request: AddCheckpointRequest } | WitnessRefusal {
  if (body.length > WITNESS_MAX_BODY_BYTES) {
    return refuse(
      WitnessReason.Malformed,
      `request body of ${body.length} bytes is over the ${WITNESS_MAX_BODY_BYTES} accepted`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return refuse(WitnessReason.Malformed, "request body is not UTF-8");
  }
  const split = text.indexOf("\n\n");
  if (split < 0) {
    return refuse(WitnessReason.Malformed, "request body has no blank line before the checkpoint");
  }
  const [oldLine, ...proofLines] = text.slice(0, split).split("\n");
  const m = /^old (\S+)$/.exec(oldLine ?? "");
  if (!m) return refuse(WitnessReason.Malformed, 'request must start with "old <size>"');
  let oldSize: number;
  try {
    oldSize = parseTreeSize(m[1]!);
  } catch (err) {
    return refuse(WitnessReason.Malformed, `old size: ${(err as Error).message}`);
  }
  if (proofLines.length > WITNESS_MAX_PROOF_HASHES) {
    return refuse(
      WitnessReason.Malformed,
      `${proofLines.length} consistency proof lines, more than the ${WITNESS_MAX_PROOF_HASHES} allowed`,
    );
  }
  const proof: Hash[] = [];
  for (const [i, l] of proofLines.entries()) {
    let h: Uint8Array;
    try {
      h = fromBase64(l);
    } catch {
      return refuse(WitnessReason.Malformed, `consistency proof line ${i + 1} is not base64`);
    }
    if (h.length !== 32) {
      return refuse(
        WitnessReason.Malformed,
        `consistency proof line ${i + 1} is not a 32-byte hash`,
      );
    }
    proof.push(h);
  }
  return { ok: true, request: { oldSize, proof, note: text.slice(split + 2) } };
}

/** The origin line of a checkpoint note, read without verifying (to find the pinned log). */
export function noteOrigin(note: string): string {
  return note.slice(0, Math.max(0, note.indexOf("\n")));
}

/** The log a witness serves: its origin and the Ed25519 keys it signs with. */
export interface WitnessedLog {
  readonly origin: string;
  /** Raw public keys, base64. */
  readonly publicKeys: readonly string[];
}

/** The latest checkpoint this witness cosigned for an origin (its "golden" checkpoint). */
export interface TrustedCheckpoint {
  readonly size: number;
  readonly root: Hash;
  /** The note as cosigned (log signature and this witness's cosignature). */
  readonly note: string;
}

/** The decision to cosign: the response line and the new trusted checkpoint to persist. */
export interface WitnessAcceptance {
  readonly ok: true;
  readonly status: 200;
  readonly checkpoint: Checkpoint;
  /** The response body: this witness's cosignature line. */
  readonly cosignature: string;
  /** What to persist as the new trusted checkpoint (only if the stored size is still `oldSize`). */
  readonly trusted: TrustedCheckpoint;
}

/** Origin, signature and format checks: the verified checkpoint, or a 404/403/400. */
function readOffered(
  req: AddCheckpointRequest,
  log: WitnessedLog | undefined,
): { readonly checkpoint: Checkpoint; readonly body: string } | WitnessRefusal {
  if (!log || noteOrigin(req.note) !== log.origin) {
    return refuse(
      WitnessReason.UnknownOrigin,
      `unknown log origin ${JSON.stringify(noteOrigin(req.note).slice(0, 100))}`,
    );
  }
  const opened = openNote(
    req.note,
    log.publicKeys.map((publicKey) => ed25519KeyVerifier({ name: log.origin, publicKey })),
    "checkpoint",
  );
  if (!opened.ok) {
    return opened.code === NoteRefusal.Malformed
      ? refuse(WitnessReason.Malformed, opened.reason)
      : refuse(WitnessReason.BadSignature, opened.reason);
  }
  try {
    return { checkpoint: parseCheckpoint(opened.body), body: opened.body };
  } catch (err) {
    if (!(err instanceof CheckpointFormatError)) throw err;
    return refuse(WitnessReason.Malformed, err.message);
  }
}

/** Size and consistency checks against the trusted checkpoint: undefined when they pass. */
function consistencyRefusal(
  req: AddCheckpointRequest,
  cp: Checkpoint,
  trusted: TrustedCheckpoint | undefined,
): WitnessRefusal | undefined {
  if (req.oldSize > cp.size) {
    return refuse(
      WitnessReason.OldSizeAfterNew,
      `old size ${req.oldSize} is larger than the checkpoint's size ${cp.size}`,
    );
  }
  const latest = trusted?.size ?? 0;
  if (req.oldSize !== latest) {
    return refuse(
      WitnessReason.StaleOldSize,
      `old size ${req.oldSize} is not the latest cosigned size ${latest}`,
      { body: `${latest}\n` },
    );
  }
  if (cp.size === 0 && !bytesEqual(cp.root, EMPTY_ROOT)) {
    return refuse(WitnessReason.BadEmptyTree, "a checkpoint of size 0 must have the empty root");
  }
  if (req.oldSize === 0 && req.proof.length > 0) {
    return refuse(WitnessReason.ProofFromEmptyTree, "a proof from size 0 must be empty");
  }
  if (!trusted) return undefined;
  const evidence = { trustedNote: trusted.note, offeredNote: req.note };
  if (cp.size === trusted.size) {
    return bytesEqual(cp.root, trusted.root)
      ? undefined
      : refuse(
          WitnessReason.SameSizeOtherRoot,
          `size ${cp.size} was cosigned with another root: the log forked`,
          { evidence },
        );
  }
  const proof = verifyConsistency({
    size1: trusted.size,
    size2: cp.size,
    root1: trusted.root,
    root2: cp.root,
    proof: req.proof,
  });
  return proof.ok
    ? undefined
    : refuse(
        WitnessReason.BadConsistencyProof,
        `no consistency from the cosigned size ${trusted.size} to ${cp.size}: ${proof.reason}`,
        { evidence },
      );
}

/**
 * Decides an add-checkpoint request for a witness. `log` is the pinned log of the request's
 * origin (undefined when the witness does not know it), `trusted` the latest checkpoint it
 * cosigned for that origin (undefined when none), `timestamp` the cosignature time (seconds).
 */
export function decideAddCheckpoint(
  req: AddCheckpointRequest,
  log: WitnessedLog | undefined,
  trusted: TrustedCheckpoint | undefined,
  witness: Witness,
  timestamp: number,
): WitnessAcceptance | WitnessRefusal {
  const offered = readOffered(req, log);
  if ("ok" in offered) return offered;
  const cp = offered.checkpoint;
  const refusal = consistencyRefusal(req, cp, trusted);
  if (refusal) return refusal;
  const cosignature = witness.cosign(offered.body, timestamp);
  let note: string;
  try {
    note = addCosignature(req.note, cosignature);
  } catch (err) {
    if (!(err instanceof CheckpointFormatError)) throw err;
    return refuse(WitnessReason.Malformed, `cannot add a cosignature: ${err.message}`);
  }
  return {
    ok: true,
    status: 200,
    checkpoint: cp,
    cosignature,
    trusted: { size: cp.size, root: cp.root, note },
  };
}

/** Reads a 409 answer's body (`<size>\n`): the size the witness last cosigned. */
export function parseTlogSize(body: string): number {
  if (!body.endsWith("\n") || body.indexOf("\n") !== body.length - 1) {
    throw new CheckpointFormatError(`${TLOG_SIZE_CONTENT_TYPE} body must be one line`);
  }
  return parseTreeSize(body.slice(0, -1));
}
