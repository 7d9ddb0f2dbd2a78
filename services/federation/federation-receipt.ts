/**
 * The `FederationSynced` receipt (issue 11, ADR 0088): what two federated ledgers both append
 * after a sync. Its payload holds both checkpoints — each signed by its log and cosigned by the
 * other side's witness — the two sides' public identities (origin, log vkey, witness vkey) and
 * the merged root with the rule and leaf hashes that recompute it (ADR 0082). The payload is
 * symmetric (sides ordered by origin, no proposer in it) and each side's note is the one the
 * *other* side's witness stored when it first cosigned that size, so whichever side proposes,
 * both ledgers append the same type, subject and payload: the same receipt digest, each entry
 * signed by its own node's log key.
 *
 * Flow: one side builds a signed proposal ({@link buildFederationProposal}) and POSTs it to the
 * other's `/v1/federation/receipts`; the other checks every part (`checkFederationProposal`)
 * and appends; the proposer checks the acceptor's signed receipt (`checkFederationAcceptance`)
 * and appends the same input. Here: the payload, its parsing and its building. The checks are
 * in federation-receipt-check.ts. Everything in both is pure (no I/O, no clock reads); the
 * endpoint and the database lookups are in federation-receipt-service.ts, the export file and
 * its offline check in federation-export.ts.
 */
import { API_VERSION } from "../../crds/constants.ts";
import { sha256, toHex, type JsonValue } from "../ledger/canonical-json.ts";
import {
  CheckpointFormatError,
  parseCheckpoint,
  parseNote,
  type Checkpoint,
} from "../ledger/checkpoint.ts";
import type { Clock } from "../ledger/clock.ts";
import type { Ed25519Signer } from "../ledger/ed25519.ts";
import { hashLeaf } from "../ledger/merkle.ts";
import {
  parseReceipt,
  ReceiptFormatError,
  signReceipt,
  type Receipt,
  type ReceiptInput,
} from "../ledger/receipt.ts";
import { mergedRoot, MergeError } from "./merged-root.ts";

/** Receipt type of a federation sync (crds RECEIPT_TYPES). */
export const FEDERATION_SYNCED = "FederationSynced";
/** Format tag of a {@link FederationSyncedPayload}. */
export const FEDERATION_SYNCED_FORMAT = "vaultmesh.cloud/federation-synced/v1";
/** Format tag of a {@link FederationProposal} (the body of `POST /v1/federation/receipts`). */
export const FEDERATION_PROPOSAL_FORMAT = "vaultmesh.cloud/federation-proposal/v1";
/** Format tag of a {@link FederationAcceptance} (the 200 answer to a proposal). */
export const FEDERATION_ACCEPTANCE_FORMAT = "vaultmesh.cloud/federation-acceptance/v1";
/** The merge rule named in every payload: RFC 6962 over the two bodies ordered by origin. */
export const MERGE_RULE = "rfc6962-sha256/checkpoint-bodies-by-origin";
/** Largest proposal body the endpoint reads: two 16 KiB notes, their keys and a receipt. */
export const FEDERATION_MAX_PROPOSAL_BYTES = 64 * 1024;
/** Default tolerance for cosignature times in the future (seconds), as the witness uses. */
export const DEFAULT_MAX_SKEW_SECONDS = 300;

/** Why a proposal or an acceptance was refused; each names one failing part. */
export const FederationReceiptReason = {
  /** Not shaped like a proposal / payload; `field` names what is wrong. */
  Malformed: "Malformed",
  /** Neither side of the payload is this ledger, or the other side is not a pinned peer. */
  UnknownPeer: "UnknownPeer",
  /** The payload's log or witness key of a side is not the one pinned for that origin. */
  KeyMismatch: "KeyMismatch",
  /** The proposer's (or acceptor's) receipt signature is missing or does not verify. */
  BadReceiptSignature: "BadReceiptSignature",
  /** A checkpoint is not validly signed by its pinned log key under its origin. */
  BadLogSignature: "BadLogSignature",
  /** A checkpoint lacks a valid cosignature of the other side's witness. */
  BadCosignature: "BadCosignature",
  /** A cosignature is dated further in the future than the allowed skew. */
  FutureTimestamp: "FutureTimestamp",
  /** The peer's checkpoint is not one this ledger's witness cosigned (no row with that size and root). */
  NotWitnessed: "NotWitnessed",
  /** This ledger's checkpoint in the payload is not a tree head it issued (size or root differ). */
  NotOurCheckpoint: "NotOurCheckpoint",
  /** The stated merged root, leaf hashes, sizes or roots are not what the notes give. */
  MergedRootMismatch: "MergedRootMismatch",
  /** The acceptor's receipt is not the receipt of the checked payload (digest or type). */
  DigestMismatch: "DigestMismatch",
} as const;
export type FederationReceiptReason =
  (typeof FederationReceiptReason)[keyof typeof FederationReceiptReason];

/** Thrown for a proposal, acceptance or payload that is not shaped like one; names the field. */
export class FederationReceiptFormatError extends Error {
  override readonly name = "FederationReceiptFormatError";
  /** JSON path of the field at fault. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** One ledger's part of a federation receipt. */
export interface FederationSide {
  /** The log's origin (checkpoint first line, log key name). */
  readonly origin: string;
  /** C2SP vkey (type 0x01) of the log key that signed `checkpoint`; its name is `origin`. */
  readonly logKey: string;
  /** C2SP vkey (type 0x04) of this side's witness, which cosigned the *other* side's checkpoint. */
  readonly witnessKey: string;
  /** Tree size of `checkpoint` (for readers; checked against the note). */
  readonly treeSize: number;
  /** Root hash of `checkpoint`, lowercase hex (for readers; checked against the note). */
  readonly rootHash: string;
  /**
   * The checkpoint note: signed by this side's log and cosigned by the other side's witness —
   * the note as the other side's witness stored it when it first cosigned this size.
   */
  readonly checkpoint: string;
}

/** The payload of a `FederationSynced` receipt; identical in both ledgers. */
export interface FederationSyncedPayload {
  readonly format: typeof FEDERATION_SYNCED_FORMAT;
  /** The two sides ordered by origin, byte-wise: leaf 0 and leaf 1 of the merged root. */
  readonly sides: readonly [FederationSide, FederationSide];
  /** The proof of deterministic merge: everything needed to recompute the merged root. */
  readonly merge: {
    readonly rule: typeof MERGE_RULE;
    /** RFC 6962 leaf hashes (hex) of the two checkpoint bodies, in side order. */
    readonly leafHashes: readonly [string, string];
    /** The merged root, lowercase hex. */
    readonly root: string;
  };
}

/**
 * The subject of a `FederationSynced` receipt: an object reference (what a Receipt resource
 * shows) to the pair of logs, the same on both sides — `pair-` and 24 hex digits of
 * SHA-256(first origin || "\n" || second origin); the origins themselves are in the payload.
 */
export interface FederationSubject {
  readonly [key: string]: string;
  readonly apiVersion: typeof API_VERSION;
  readonly kind: "FederationPair";
  readonly name: string;
}

/** A ledger's identity as a party to a federation: what a peer pins. */
export interface FederationIdentity {
  readonly origin: string;
  /** C2SP vkeys (type 0x01, named `origin`) of the log keys it signs checkpoints and receipts with. */
  readonly logKeys: readonly string[];
  /** C2SP vkey (type 0x04) of its witness key; undefined when not pinned (then taken from the payload). */
  readonly witnessKey?: string;
}

/** The inputs to build a receipt from: this ledger and the peer, and the two cosigned notes. */
export interface FederationPairInput {
  /** This ledger: its origin, the vkey of the log key that signed `ownNote`, its witness vkey. */
  readonly self: { readonly origin: string; readonly logKey: string; readonly witnessKey: string };
  /** The peer, as pinned: origin, log vkey that signed `peerNote`, witness vkey. */
  readonly peer: { readonly origin: string; readonly logKey: string; readonly witnessKey: string };
  /** This ledger's checkpoint with the peer's cosignature (the peer's 200 to add-checkpoint). */
  readonly ownNote: string;
  /** The peer's checkpoint as this ledger's witness stored it (its row in ledger_witness_checkpoints). */
  readonly peerNote: string;
}

/** A signed proposal: the proposer's `FederationSynced` receipt, signed by its log key. */
export interface FederationProposal {
  readonly format: typeof FEDERATION_PROPOSAL_FORMAT;
  readonly receipt: Receipt;
}

/** The acceptor's answer: its own signed receipt of the (canonical) payload and where it is logged. */
export interface FederationAcceptance {
  readonly format: typeof FEDERATION_ACCEPTANCE_FORMAT;
  readonly receipt: Receipt;
  readonly entry: { readonly logIndex: number; readonly leafHash: string };
}

/** What the checking ledger knows, gathered by the caller before the pure check. */
export interface FederationCheckView {
  /** This ledger: origin, log vkeys, witness vkey. */
  readonly self: FederationIdentity & { readonly witnessKey: string };
  /** The pinned peer of that origin, or undefined when the other origin is not a peer. */
  readonly peer: FederationIdentity | undefined;
  /**
   * The peer checkpoint this ledger's witness cosigned at the payload's peer size (the note of
   * its ledger_witness_checkpoints row), or undefined when it cosigned none of that size.
   */
  readonly witnessed:
    { readonly size: number; readonly rootHash: string; readonly note: string } | undefined;
  /** This ledger's tree head of the payload's own size (hex root), or undefined when none. */
  readonly ownTreeHead: { readonly treeSize: number; readonly rootHash: string } | undefined;
  /** The current time (cosignatures may be at most `maxSkewSeconds` after it). */
  readonly now: Date;
  readonly maxSkewSeconds?: number;
}

/** A refusal: the reason constant, the payload field at fault and a sentence. */
export interface FederationRefusal {
  readonly ok: false;
  readonly reason: FederationReceiptReason;
  /** JSON path of the part that failed, e.g. `receipt.payload.sides[1].checkpoint`. */
  readonly field: string;
  readonly message: string;
}

/** A passed check: the canonical receipt input to append (same on both sides). */
export interface FederationAccepted {
  readonly ok: true;
  readonly input: ReceiptInput & {
    readonly type: typeof FEDERATION_SYNCED;
    readonly subject: FederationSubject;
  };
  readonly payload: FederationSyncedPayload;
}

/** The result of {@link checkFederationProposal} and {@link checkFederationAcceptance}. */
export type FederationCheck = FederationAccepted | FederationRefusal;

/** One verified part of a payload: a named link, the field it covers, and the outcome. */
export interface PayloadPart {
  /** Human name of the link, e.g. `checkpoint a.example/log cosignature by b.example/witness`. */
  readonly link: string;
  readonly field: string;
  readonly ok: boolean;
  readonly detail: string;
  /** Set when `ok` is false. */
  readonly reason?: FederationReceiptReason;
}

const encoder = new TextEncoder();

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: Record<string, unknown>, key: string, where: string, max = 20_000): string {
  const x = v[key];
  if (typeof x !== "string" || x === "" || x.length > max) {
    throw new FederationReceiptFormatError(
      `${where}.${key}`,
      `expected a non-empty string of at most ${max} characters`,
    );
  }
  return x;
}

function onlyKeys(v: Record<string, unknown>, keys: readonly string[], where: string): void {
  const extra = Object.keys(v).find((k) => !keys.includes(k));
  if (extra !== undefined)
    throw new FederationReceiptFormatError(`${where}.${extra}`, "unexpected field");
}

function parseSide(value: unknown, where: string): FederationSide {
  if (!isRecord(value)) throw new FederationReceiptFormatError(where, "expected an object");
  onlyKeys(value, ["origin", "logKey", "witnessKey", "treeSize", "rootHash", "checkpoint"], where);
  const treeSize = value.treeSize;
  if (typeof treeSize !== "number" || !Number.isSafeInteger(treeSize) || treeSize < 0) {
    throw new FederationReceiptFormatError(
      `${where}.treeSize`,
      "expected an integer from 0 to 2^53 - 1",
    );
  }
  const rootHash = str(value, "rootHash", where, 64);
  if (!/^[0-9a-f]{64}$/.test(rootHash)) {
    throw new FederationReceiptFormatError(`${where}.rootHash`, "expected 64 lowercase hex digits");
  }
  return {
    origin: str(value, "origin", where, 1024),
    logKey: str(value, "logKey", where, 2048),
    witnessKey: str(value, "witnessKey", where, 2048),
    treeSize,
    rootHash,
    checkpoint: str(value, "checkpoint", where, 16 * 1024),
  };
}

/** Validates an untrusted value as a {@link FederationSyncedPayload} (shape only); `where` prefixes fields. */
export function parseFederationPayload(value: unknown, where = "payload"): FederationSyncedPayload {
  if (!isRecord(value)) throw new FederationReceiptFormatError(where, "expected an object");
  onlyKeys(value, ["format", "sides", "merge"], where);
  if (value.format !== FEDERATION_SYNCED_FORMAT) {
    throw new FederationReceiptFormatError(
      `${where}.format`,
      `expected ${FEDERATION_SYNCED_FORMAT}`,
    );
  }
  if (!Array.isArray(value.sides) || value.sides.length !== 2) {
    throw new FederationReceiptFormatError(`${where}.sides`, "expected exactly two sides");
  }
  const sides = [
    parseSide(value.sides[0], `${where}.sides[0]`),
    parseSide(value.sides[1], `${where}.sides[1]`),
  ] as const;
  const m = value.merge;
  if (!isRecord(m)) throw new FederationReceiptFormatError(`${where}.merge`, "expected an object");
  onlyKeys(m, ["rule", "leafHashes", "root"], `${where}.merge`);
  if (m.rule !== MERGE_RULE)
    throw new FederationReceiptFormatError(`${where}.merge.rule`, `expected ${MERGE_RULE}`);
  const hex = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
  if (!Array.isArray(m.leafHashes) || m.leafHashes.length !== 2 || !m.leafHashes.every(hex)) {
    throw new FederationReceiptFormatError(
      `${where}.merge.leafHashes`,
      "expected two 64-digit hex hashes",
    );
  }
  if (!hex(m.root))
    throw new FederationReceiptFormatError(
      `${where}.merge.root`,
      "expected 64 lowercase hex digits",
    );
  return {
    format: FEDERATION_SYNCED_FORMAT,
    sides,
    merge: {
      rule: MERGE_RULE,
      leafHashes: [m.leafHashes[0] as string, m.leafHashes[1] as string],
      root: m.root,
    },
  };
}

/** The body (signed text) of a note; throws {@link FederationReceiptFormatError} naming `field`. */
export function noteBody(note: string, field: string): string {
  try {
    return parseNote(note).body;
  } catch (err) {
    if (err instanceof CheckpointFormatError)
      throw new FederationReceiptFormatError(field, err.message);
    throw err;
  }
}

function sideOf(
  party: { readonly origin: string; readonly logKey: string; readonly witnessKey: string },
  note: string,
  field: string,
): FederationSide {
  let cp: Checkpoint;
  try {
    cp = parseCheckpoint(noteBody(note, field));
  } catch (err) {
    if (err instanceof CheckpointFormatError)
      throw new FederationReceiptFormatError(field, err.message);
    throw err;
  }
  if (cp.origin !== party.origin) {
    throw new FederationReceiptFormatError(
      field,
      `checkpoint origin ${JSON.stringify(cp.origin)} is not ${JSON.stringify(party.origin)}`,
    );
  }
  return { ...party, treeSize: cp.size, rootHash: toHex(cp.root), checkpoint: note };
}

/** Assembles the canonical payload from two sides (any order): sorted by origin, merge proof computed. */
export function assemblePayload(a: FederationSide, b: FederationSide): FederationSyncedPayload {
  let merged;
  try {
    merged = mergedRoot(
      noteBody(a.checkpoint, "sides[0].checkpoint"),
      noteBody(b.checkpoint, "sides[1].checkpoint"),
    );
  } catch (err) {
    if (err instanceof MergeError) throw new FederationReceiptFormatError("sides", err.message);
    throw err;
  }
  const sides = merged.checkpoints[0].origin === a.origin ? ([a, b] as const) : ([b, a] as const);
  return {
    format: FEDERATION_SYNCED_FORMAT,
    sides,
    merge: {
      rule: MERGE_RULE,
      leafHashes: [
        toHex(hashLeaf(encoder.encode(merged.leaves[0]))),
        toHex(hashLeaf(encoder.encode(merged.leaves[1]))),
      ],
      root: toHex(merged.root),
    },
  };
}

/** The receipt input of a payload: type, subject (the two origins) and the payload. */
export function federationReceiptInput(
  payload: FederationSyncedPayload,
): FederationAccepted["input"] {
  return {
    type: FEDERATION_SYNCED,
    subject: {
      apiVersion: API_VERSION,
      kind: "FederationPair",
      name: `pair-${toHex(sha256(`${payload.sides[0].origin}\n${payload.sides[1].origin}`)).slice(0, 24)}`,
    },
    payload: payload as unknown as JsonValue,
  };
}

/**
 * Builds the `FederationSynced` receipt input of a sync from this ledger's and the peer's
 * identities and the two cosigned notes. Throws {@link FederationReceiptFormatError} naming the
 * input at fault (an unreadable note, a note of another origin, both origins equal).
 */
export function buildFederationReceiptInput(
  pair: FederationPairInput,
): FederationAccepted["input"] {
  const own = sideOf(pair.self, pair.ownNote, "ownNote");
  const peer = sideOf(pair.peer, pair.peerNote, "peerNote");
  return federationReceiptInput(assemblePayload(own, peer));
}

/**
 * Builds the signed proposal the proposer POSTs to the peer: its `FederationSynced` receipt of
 * the pair, signed with `signer` (its log key) at `clock`'s time. The proposer appends the
 * same input to its own ledger only after the peer accepted ({@link checkFederationAcceptance}).
 */
export function buildFederationProposal(
  pair: FederationPairInput,
  signer: Ed25519Signer,
  clock: Clock,
): FederationProposal {
  return {
    format: FEDERATION_PROPOSAL_FORMAT,
    receipt: signReceipt(buildFederationReceiptInput(pair), signer, clock).receipt,
  };
}

function parseSignedReceipt(value: unknown, where: string): Receipt {
  let receipt: Receipt;
  try {
    receipt = parseReceipt(value);
  } catch (err) {
    if (err instanceof ReceiptFormatError) {
      const [field, ...rest] = err.message.split(": ");
      throw new FederationReceiptFormatError(`${where}.${field}`, rest.join(": ") || err.message);
    }
    throw err;
  }
  if (receipt.type !== FEDERATION_SYNCED) {
    throw new FederationReceiptFormatError(`${where}.type`, `expected ${FEDERATION_SYNCED}`);
  }
  parseFederationPayload(receipt.payload, `${where}.payload`);
  return receipt;
}

/** Validates an untrusted value as a {@link FederationProposal} (shape only). */
export function parseFederationProposal(value: unknown): FederationProposal {
  if (!isRecord(value))
    throw new FederationReceiptFormatError("proposal", "expected a JSON object");
  onlyKeys(value, ["format", "receipt"], "proposal");
  if (value.format !== FEDERATION_PROPOSAL_FORMAT) {
    throw new FederationReceiptFormatError("format", `expected ${FEDERATION_PROPOSAL_FORMAT}`);
  }
  return {
    format: FEDERATION_PROPOSAL_FORMAT,
    receipt: parseSignedReceipt(value.receipt, "receipt"),
  };
}

/** Validates an untrusted value as a {@link FederationAcceptance} (shape only). */
export function parseFederationAcceptance(value: unknown): FederationAcceptance {
  if (!isRecord(value))
    throw new FederationReceiptFormatError("acceptance", "expected a JSON object");
  if (value.format !== FEDERATION_ACCEPTANCE_FORMAT) {
    throw new FederationReceiptFormatError("format", `expected ${FEDERATION_ACCEPTANCE_FORMAT}`);
  }
  const e = value.entry;
  if (
    !isRecord(e) ||
    !Number.isSafeInteger(e.logIndex) ||
    (e.logIndex as number) < 0 ||
    typeof e.leafHash !== "string" ||
    !/^[0-9a-f]{64}$/.test(e.leafHash)
  ) {
    throw new FederationReceiptFormatError(
      "entry",
      "expected {logIndex: integer ≥ 0, leafHash: 64 hex}",
    );
  }
  return {
    format: FEDERATION_ACCEPTANCE_FORMAT,
    receipt: parseSignedReceipt(value.receipt, "receipt"),
    entry: { logIndex: e.logIndex as number, leafHash: e.leafHash },
  };
}
