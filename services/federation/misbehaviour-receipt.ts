/**
 * The `FederationInconsistent` receipt (issue 11 item 5, ADR 0089): the evidence that a peer
 * log forked or rolled back, appended to this ledger when a sync round catches it. Its payload
 * holds both checkpoint notes signed by the peer's log — the one this ledger's witness had
 * cosigned and the conflicting one the peer served — the peer's pinned log keys, and the failing
 * consistency proof as received, so a third party holding the receipt (or only its payload) can
 * check offline, with its own copy of the peer's key, that the peer's log signed two views no
 * consistency proof joins ({@link verifyMisbehaviourPayload}).
 *
 * The payload is built from fed-sync's {@link MisbehaviourEvidence} (services/federation/
 * peer-sync.ts) and carries only what the evidence *is*, not when it was seen: detecting the
 * same pair again (a retry, another replica, a restart) yields the same digest, so the ledger's
 * idempotent append keeps one receipt per conflict. The detection time is the receipt's
 * `issuedAt`.
 */
import { API_VERSION } from "../../crds/constants.ts";
import { sha256, toBase64, toHex, type JsonValue } from "../ledger/canonical-json.ts";
import {
  CheckpointFormatError,
  COSIGNATURE_V1_ALG,
  openNote,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  type Checkpoint,
  type NoteKeyVerifier,
} from "../ledger/checkpoint.ts";
import type { ProofBundle } from "../ledger/bundle.ts";
import type { ReceiptInput } from "../ledger/receipt.ts";
import type { TrustBundle } from "../ledger/trust-bundle.ts";
import { verifyBundle } from "../ledger/verify-bundle.ts";
import { fail, pass, report, type Check, type VerifyReport } from "../ledger/verify-report.ts";
import { cosignatureKeyVerifier } from "./cosignature.ts";
import {
  findConflict,
  MisbehaviourFinding,
  openLogNote,
  PeerConfigError,
  pinnedLogVerifiers,
} from "./misbehaviour-evidence.ts";
import type { MisbehaviourEvidence } from "./peer-sync.ts";

/** Receipt type of evidence of a peer's misbehaviour (crds RECEIPT_TYPES). */
export const FEDERATION_INCONSISTENT = "FederationInconsistent";
/** Format tag of a {@link FederationInconsistentPayload}. */
export const FEDERATION_INCONSISTENT_FORMAT = "vaultmesh.cloud/federation-inconsistent/v1";

/** What the evidence shows, as recomputed by {@link verifyMisbehaviourPayload}. */
export { MisbehaviourFinding };

/** One checkpoint of the evidence: the signed note and, for readers, its size and root. */
export interface EvidenceCheckpoint {
  readonly treeSize: number;
  /** Lowercase hex. */
  readonly rootHash: string;
  /** The note as signed by the peer's log (the trusted one also carries our cosignature). */
  readonly note: string;
}

/** The payload of a `FederationInconsistent` receipt. */
export interface FederationInconsistentPayload {
  readonly format: typeof FEDERATION_INCONSISTENT_FORMAT;
  /** Forked or RolledBack, as the detecting ledger classified it. */
  readonly kind: MisbehaviourEvidence["kind"];
  /** The misbehaving log's origin. */
  readonly origin: string;
  /** The peer's pinned C2SP log vkeys (type 0x01, named `origin`) both notes were checked with. */
  readonly logKeys: readonly string[];
  /** C2SP vkey (type 0x04) of this ledger's witness, whose cosignature `trusted` carries. */
  readonly witnessKey: string;
  /** The checkpoint this ledger's witness had cosigned. */
  readonly trusted: EvidenceCheckpoint;
  /** The conflicting checkpoint the peer served. */
  readonly offered: EvidenceCheckpoint;
  /** The consistency proof that failed, as received (base64 hashes); absent when none was given. */
  readonly proof?: {
    readonly first: number;
    readonly second: number;
    readonly hashes: readonly string[];
  };
}

/**
 * The subject of a `FederationInconsistent` receipt: an object reference (what a Receipt
 * resource shows) to the misbehaving log — `log-` and 24 hex digits of SHA-256(origin).
 */
export interface FederationInconsistentSubject {
  readonly [key: string]: string;
  readonly apiVersion: typeof API_VERSION;
  readonly kind: "FederationLog";
  readonly name: string;
}

/** Thrown for evidence or a payload that is not shaped like one; the message names the field. */
export class MisbehaviourFormatError extends Error {
  override readonly name = "MisbehaviourFormatError";
}

/** The receipt input of a `FederationInconsistent` receipt. */
export type MisbehaviourReceiptInput = ReceiptInput & {
  readonly type: typeof FEDERATION_INCONSISTENT;
  readonly subject: FederationInconsistentSubject;
  readonly payload: JsonValue;
};

const MAX_NOTE_CHARS = 16 * 1024;
const MAX_PROOF_HASHES = 63;

function readCheckpoint(note: string, field: string): EvidenceCheckpoint {
  if (typeof note !== "string" || note.length > MAX_NOTE_CHARS) {
    throw new MisbehaviourFormatError(
      `${field}: expected a signed note of at most ${MAX_NOTE_CHARS} characters`,
    );
  }
  try {
    const cp = parseCheckpoint(parseNote(note).body);
    return { treeSize: cp.size, rootHash: toHex(cp.root), note };
  } catch (err) {
    if (err instanceof CheckpointFormatError)
      throw new MisbehaviourFormatError(`${field}: ${err.message}`);
    throw err;
  }
}

/**
 * Builds the receipt input of `evidence` (fed-sync's MisbehaviourEvidence): type
 * `FederationInconsistent`, subject a reference to the log, the payload above. `witnessKey` is this
 * ledger's witness vkey. The detection time and the detail sentence are left out of the
 * payload (the receipt's issuedAt records the time; the verifier recomputes what failed), so
 * the same conflict always has the same digest. Throws {@link MisbehaviourFormatError} naming
 * the field when the evidence's notes or proof are unreadable.
 */
export function buildMisbehaviourReceiptInput(
  evidence: MisbehaviourEvidence,
  witnessKey: string,
): MisbehaviourReceiptInput {
  const payload: FederationInconsistentPayload = {
    format: FEDERATION_INCONSISTENT_FORMAT,
    kind: evidence.kind,
    origin: evidence.origin,
    logKeys: [...evidence.logVkeys],
    witnessKey,
    trusted: readCheckpoint(evidence.trustedNote, "trustedNote"),
    offered: readCheckpoint(evidence.offeredNote, "offeredNote"),
    ...(evidence.proof
      ? {
          proof: {
            first: evidence.proof.first,
            second: evidence.proof.second,
            hashes: [...evidence.proof.hashes],
          },
        }
      : {}),
  };
  // The same shape rules as a payload read back, so what we append is what a verifier reads.
  parseMisbehaviourPayload(payload);
  return {
    type: FEDERATION_INCONSISTENT,
    subject: {
      apiVersion: API_VERSION,
      kind: "FederationLog",
      name: `log-${toHex(sha256(evidence.origin)).slice(0, 24)}`,
    },
    payload: payload as unknown as JsonValue,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nonEmpty(v: unknown, field: string, max: number): string {
  if (typeof v !== "string" || v === "" || v.length > max) {
    throw new MisbehaviourFormatError(
      `${field}: expected a non-empty string of at most ${max} characters`,
    );
  }
  return v;
}

function evidenceCheckpoint(v: unknown, field: string): EvidenceCheckpoint {
  if (!isRecord(v)) throw new MisbehaviourFormatError(`${field}: expected an object`);
  const cp = readCheckpoint(nonEmpty(v.note, `${field}.note`, MAX_NOTE_CHARS), `${field}.note`);
  if (v.treeSize !== cp.treeSize)
    throw new MisbehaviourFormatError(
      `${field}.treeSize: expected ${cp.treeSize}, the note's size`,
    );
  if (v.rootHash !== cp.rootHash)
    throw new MisbehaviourFormatError(`${field}.rootHash: expected the note's root ${cp.rootHash}`);
  return cp;
}

function parseProof(v: unknown): FederationInconsistentPayload["proof"] {
  if (v === undefined) return undefined;
  if (!isRecord(v)) throw new MisbehaviourFormatError("payload.proof: expected an object");
  const size = (x: unknown, f: string): number => {
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0)
      throw new MisbehaviourFormatError(`payload.proof.${f}: expected an integer ≥ 0`);
    return x;
  };
  const first = size(v.first, "first");
  const second = size(v.second, "second");
  const hashes = v.hashes;
  if (
    !Array.isArray(hashes) ||
    hashes.length > MAX_PROOF_HASHES ||
    hashes.some((h) => typeof h !== "string" || !/^[A-Za-z0-9+/]{43}=$/.test(h))
  ) {
    throw new MisbehaviourFormatError(
      `payload.proof.hashes: expected at most ${MAX_PROOF_HASHES} base64 32-byte hashes`,
    );
  }
  return { first, second, hashes: hashes as string[] };
}

/** Validates an untrusted value as a {@link FederationInconsistentPayload} (shape only). */
export function parseMisbehaviourPayload(value: unknown): FederationInconsistentPayload {
  if (!isRecord(value)) throw new MisbehaviourFormatError("payload: expected an object");
  const known = [
    "format",
    "kind",
    "origin",
    "logKeys",
    "witnessKey",
    "trusted",
    "offered",
    "proof",
  ];
  const extra = Object.keys(value).find((k) => !known.includes(k));
  if (extra) throw new MisbehaviourFormatError(`payload.${extra}: unexpected field`);
  if (value.format !== FEDERATION_INCONSISTENT_FORMAT) {
    throw new MisbehaviourFormatError(`payload.format: expected ${FEDERATION_INCONSISTENT_FORMAT}`);
  }
  if (value.kind !== "Forked" && value.kind !== "RolledBack") {
    throw new MisbehaviourFormatError("payload.kind: expected Forked or RolledBack");
  }
  const logKeys = value.logKeys;
  if (!Array.isArray(logKeys) || logKeys.length === 0 || logKeys.length > 8) {
    throw new MisbehaviourFormatError("payload.logKeys: expected 1 to 8 C2SP log vkeys");
  }
  const proof = parseProof(value.proof);
  return {
    format: FEDERATION_INCONSISTENT_FORMAT,
    kind: value.kind,
    origin: nonEmpty(value.origin, "payload.origin", 1024),
    logKeys: logKeys.map((k, i) => nonEmpty(k, `payload.logKeys[${i}]`, 2048)),
    witnessKey: nonEmpty(value.witnessKey, "payload.witnessKey", 2048),
    trusted: evidenceCheckpoint(value.trusted, "payload.trusted"),
    offered: evidenceCheckpoint(value.offered, "payload.offered"),
    ...(proof ? { proof } : {}),
  };
}

/** The log verifiers of `vkeys` under `origin`; a failing check when one is not a log key of it. */
function logVerifiers(vkeys: readonly string[], origin: string): NoteKeyVerifier[] | Check {
  try {
    return pinnedLogVerifiers(origin, vkeys, "log keys");
  } catch (err) {
    if (!(err instanceof PeerConfigError)) throw err;
    return fail("log keys", err.message);
  }
}

function noteCheck(
  link: string,
  note: string,
  origin: string,
  verifiers: NoteKeyVerifier[],
): { check: Check; cp?: Checkpoint } {
  const opened = openLogNote(note, origin, verifiers);
  if (!opened.ok) return { check: fail(link, opened.message) };
  return {
    check: pass(link, `size ${opened.checkpoint.size} signed by ${origin}`),
    cp: opened.checkpoint,
  };
}

function cosignatureCheck(p: FederationInconsistentPayload): Check {
  const link = "trusted checkpoint cosignature";
  try {
    const k = parseVerifierKey(p.witnessKey);
    if (k.alg !== COSIGNATURE_V1_ALG)
      return fail(link, "witnessKey is not a type 0x04 cosignature/v1 key");
    const v = cosignatureKeyVerifier({ name: k.name, publicKey: toBase64(k.publicKey) });
    const opened = openNote(p.trusted.note, [v], link);
    return opened.ok ? pass(link, `cosigned by ${k.name}`) : fail(link, opened.reason);
  } catch (err) {
    return fail(link, (err as Error).message);
  }
}

/** The result of {@link verifyMisbehaviourPayload}: the links, and what the conflict is. */
export interface MisbehaviourReport extends VerifyReport {
  /** What the evidence shows, when the conflict link holds. */
  readonly finding?: MisbehaviourFinding;
}

/**
 * Checks the evidence offline: both notes open with the log keys (`pinnedLogKeys` when given,
 * else the payload's own, reported unpinned) under the origin, the trusted note carries a valid
 * cosignature by `witnessKey`, and the conflict holds — the same size with another root (a
 * proof of a fork by itself), or a consistency proof that is absent or does not verify between
 * the two sizes (evidence that the log could not show one view extends the other), by the
 * rule of {@link findConflict}. Each link is one check of the report; `finding` says what the
 * conflict is when it holds.
 */
export function verifyMisbehaviourPayload(
  payload: FederationInconsistentPayload,
  pinnedLogKeys?: readonly string[],
): MisbehaviourReport {
  const verifiers = logVerifiers(pinnedLogKeys ?? payload.logKeys, payload.origin);
  if (!Array.isArray(verifiers)) return report([verifiers], pinnedLogKeys !== undefined);
  const trusted = noteCheck(
    "trusted checkpoint log signature",
    payload.trusted.note,
    payload.origin,
    verifiers,
  );
  const offered = noteCheck(
    "offered checkpoint log signature",
    payload.offered.note,
    payload.origin,
    verifiers,
  );
  const checks = [trusted.check, cosignatureCheck(payload), offered.check];
  if (!trusted.cp || !offered.cp) {
    checks.push(fail("conflict", "needs both checkpoints verified"));
    return report(checks, pinnedLogKeys !== undefined);
  }
  // The one misbehaviour rule, shared with the sync round's evidence check.
  const c = findConflict(payload.kind, trusted.cp, offered.cp, payload.proof);
  checks.push(c.ok ? pass("conflict", c.message) : fail("conflict", c.message));
  return {
    ...report(checks, pinnedLogKeys !== undefined),
    ...(c.ok ? { finding: c.finding } : {}),
  };
}

/**
 * Verifies a proof bundle of a `FederationInconsistent` receipt offline: every link of the
 * bundle (verify-full, against `trust` — the recording ledger's pinned bundle — or the keys it
 * carries), then the evidence ({@link verifyMisbehaviourPayload}, pinned to `peerLogKeys` when
 * given). Links of the bundle are prefixed `recording ledger: `.
 */
export async function verifyMisbehaviourBundle(
  bundle: ProofBundle,
  opts: { readonly trust?: TrustBundle; readonly peerLogKeys?: readonly string[] } = {},
): Promise<MisbehaviourReport> {
  const ledger = await verifyBundle(bundle, opts.trust);
  const checks: Check[] = ledger.checks.map((c) => ({ ...c, link: `recording ledger: ${c.link}` }));
  if (bundle.receipt.type !== FEDERATION_INCONSISTENT) {
    return report(
      [...checks, fail("receipt type", `${bundle.receipt.type}, not ${FEDERATION_INCONSISTENT}`)],
      false,
    );
  }
  let payload: FederationInconsistentPayload;
  try {
    payload = parseMisbehaviourPayload(bundle.receipt.payload);
  } catch (err) {
    if (!(err instanceof MisbehaviourFormatError)) throw err;
    return report([...checks, fail("evidence", err.message)], false);
  }
  const evidence = verifyMisbehaviourPayload(payload, opts.peerLogKeys);
  const r = report([...checks, ...evidence.checks], ledger.pinned && evidence.pinned);
  return evidence.finding ? { ...r, finding: evidence.finding } : r;
}
