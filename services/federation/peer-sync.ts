/**
 * One sync round with a federation peer (issue 11, ADR 0084):
 *
 *  1. pull — fetch the peer's checkpoint, check it against the pinned origin and log vkeys
 *     (a peer with OUR origin is refused), fetch a consistency proof from our trusted ("golden")
 *     size, and run it through the same witness decision as a pushed checkpoint
 *     (WitnessService.addCheckpoint: atomic check-then-persist in ledger_witness_checkpoints),
 *     which cosigns it with our witness key;
 *  2. push — send OUR latest checkpoint to the peer's `add-checkpoint` with a consistency proof
 *     from the size the peer last cosigned (409 `text/x.tlog.size` → retry once from the
 *     peer's size), verify the returned cosignature against the peer's pinned witness vkey and
 *     keep it (append-only `ledger_peer_cosignatures`, migration 5).
 *
 * A fork or rollback quarantines the peer (append-only `ledger_federation_misbehaviour`): it is
 * never cosigned again, by a pull or a push, until an operator acts; the round returns
 * {@link MisbehaviourEvidence} — both log-signed notes and the failing proof — which
 * {@link checkMisbehaviourEvidence} checks offline against the pinned log keys.
 */
import type pg from "pg";
import { bytesEqual, fromBase64, fromHex, toBase64, toHex } from "../ledger/canonical-json.ts";
import {
  CheckpointFormatError,
  COSIGNATURE_V1_ALG,
  ED25519_NOTE_ALG,
  ed25519KeyVerifier,
  NoteRefusal,
  openNote,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  type Checkpoint,
  type NoteKeyVerifier,
} from "../ledger/checkpoint.ts";
import type { Clock } from "../ledger/clock.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { Hash } from "../ledger/merkle.ts";
import { verifyConsistency } from "../ledger/merkle-verify.ts";
import {
  addCosignature,
  cosignatureKeyVerifier,
  cosignatureTimestamp,
  type Witness,
} from "./cosignature.ts";
import {
  keepPeerCosignature,
  latestPeerCosignature,
  misbehaviourOf,
  recordMisbehaviour,
  type KeptCosignature,
} from "./peer-store.ts";
import {
  WitnessClient,
  WitnessClientError,
  WitnessClientReason,
  type FetchedCheckpoint,
  type WitnessClientOptions,
} from "./witness-client.ts";
import { formatAddCheckpointRequest, WitnessReason } from "./witness-protocol.ts";
import { WitnessService } from "./witness-service.ts";

/** Why a round ended as it did; each maps to a condition reason of the FederationPeer. */
export const PeerSyncReason = {
  /** Pulled, checked and cosigned the peer; our checkpoint cosigned by the peer. */
  Synced: "Synced",
  /** No answer (connection refused, reset), or a 5xx. */
  Unreachable: "Unreachable",
  /** A request passed its deadline. */
  Timeout: "Timeout",
  /** The peer answered with a redirect (never followed). */
  Redirected: "Redirected",
  /** An answer over 16 KiB, a proof over 63 hashes, a note over 16 signatures. */
  Oversized: "Oversized",
  /** A tree size past 2^53 − 1. */
  SizeTooLarge: "SizeTooLarge",
  /** An answer that is not a checkpoint / proof / cosignature at all. */
  Malformed: "Malformed",
  /** A signature line of a pinned key (log or witness) does not verify. */
  BadSignature: "BadSignature",
  /** The note carries no signature of any pinned log key (e.g. an unknown key only). */
  UnknownKey: "UnknownKey",
  /** The checkpoint's origin is not the peer's pinned origin. */
  OriginMismatch: "OriginMismatch",
  /** The peer's checkpoint (or its pinned origin) is this ledger's own origin. */
  OwnOrigin: "OwnOrigin",
  /** Same size with another root, or a larger size without a valid consistency proof. */
  Forked: "Forked",
  /** A smaller checkpoint than the trusted one, not provably a prefix of it. */
  RolledBack: "RolledBack",
  /** The peer's proof API answered something that is not a usable proof (not evidence). */
  BadProof: "BadProof",
  /**
   * An old checkpoint served again (smaller than the trusted one but provably its prefix), or
   * a cosignature of us that is older than one already kept or is of another checkpoint.
   */
  Replayed: "Replayed",
  /** The peer's witness refused our checkpoint (404 unknown origin, 403, 400, 409/422). */
  Refused: "Refused",
  /** Our trusted checkpoint of the peer moved under concurrent pushes; the next round retries. */
  Contended: "Contended",
} as const;
export type PeerSyncReason = (typeof PeerSyncReason)[keyof typeof PeerSyncReason];

/** What one peer is pinned to: where it is and which keys speak for it. */
export interface PeerConfig {
  /** Base URL of the peer's proof API (`/v1/checkpoint`, `/v1/proof/consistency`, `/v1/witness/`). */
  readonly url: string;
  /** The peer log's pinned origin (never taken from what the peer sends). */
  readonly origin: string;
  /** The peer log's C2SP Ed25519 vkeys (type 0x01, key name = origin): the trust anchor. */
  readonly logVkeys: readonly string[];
  /** The peer's witness vkeys (type 0x04): checks its cosignatures of our checkpoints. */
  readonly witnessVkeys: readonly string[];
  /**
   * Other witnesses of this peer (base URLs of proof APIs serving
   * `GET /v1/witness/checkpoint?origin=`): their cosigned view of the peer is compared with
   * ours, which catches a peer answering differently to two callers. @default []
   */
  readonly crossCheck?: readonly string[];
  /** Client options (deadline, byte cap, fetch) other than the URL. */
  readonly client?: Omit<WitnessClientOptions, "url">;
}

/** What a round needs of this ledger. */
export interface PeerSyncDeps {
  /** This ledger's database: golden table, peer cosignatures, misbehaviour records. */
  readonly pool: pg.Pool;
  /** This ledger: its origin, latest checkpoint and consistency proofs for the push. */
  readonly ledger: Pick<Ledger, "origin" | "latestTreeHead" | "consistencyProof">;
  /** This ledger's witness key (never its log key; ADR 0081). */
  readonly witness: Witness;
  readonly clock: Clock;
  /** Largest cosignature time skew accepted from the peer, seconds. @default 300 */
  readonly maxSkewSeconds?: number;
}

/** A checkpoint as stored or reported: size, hex root, the note text. */
export interface CheckpointView {
  readonly size: number;
  /** Lower-case hex root hash. */
  readonly rootHash: string;
  readonly note: string;
}

/**
 * Evidence that a peer log misbehaved, checkable by anyone who pins its log key
 * ({@link checkMisbehaviourEvidence}): two checkpoints signed by the log that no consistency
 * proof joins. `Forked`: same size with different roots, or `offered` larger than `trusted`
 * with `proof` (from `trusted.size` to `offered.size`) failing. `RolledBack`: `offered`
 * smaller than `trusted`, with `proof` (from `offered.size` to `trusted.size`) failing or absent
 * (the log could not produce one).
 */
export interface MisbehaviourEvidence {
  readonly kind: "Forked" | "RolledBack";
  /** The log's origin. */
  readonly origin: string;
  /** The pinned log vkeys the notes were checked against (a checker pins its own copy). */
  readonly logVkeys: readonly string[];
  /** The checkpoint this ledger had cosigned (log signature and our cosignature). */
  readonly trustedNote: string;
  /** The conflicting checkpoint the peer served, as received (log-signed). */
  readonly offeredNote: string;
  /** The consistency proof that failed, as received; undefined when none was obtainable. */
  readonly proof?: {
    readonly first: number;
    readonly second: number;
    /** Base64 hashes, as in a tlog-witness request. */
    readonly hashes: readonly string[];
  };
  /** When this ledger detected it (ISO 8601, from the injected clock). */
  readonly detectedAt: string;
  /** One sentence: what failed. */
  readonly detail: string;
}

/** The result of one round. Never thrown for anything a peer does. */
export interface PeerSyncOutcome {
  /** The peer answered the checkpoint request (whatever it answered). */
  readonly reachable: boolean;
  /** No inconsistency known: false after a fork or rollback, now or recorded earlier. */
  readonly consistent: boolean;
  /** Both directions done: the peer cosigned by us, our checkpoint cosigned by the peer. */
  readonly synced: boolean;
  readonly reason: PeerSyncReason;
  /** One sentence naming what failed, or what was done. */
  readonly message: string;
  /** The peer is quarantined (a fork or rollback recorded, now or earlier). */
  readonly quarantined: boolean;
  /** The peer's latest checkpoint as served this round (when readable). */
  readonly peerCheckpoint?: CheckpointView;
  /** The golden checkpoint of the peer after the round, cosigned by us (when there is one). */
  readonly trusted?: CheckpointView;
  /** Our latest checkpoint carrying the peer's cosignature (the latest one kept, maybe older). */
  readonly peerCosignedUs?: CheckpointView & { readonly cosignedAt: number };
  /** Set when the peer is quarantined: both signed notes and the failing proof. */
  readonly evidence?: MisbehaviourEvidence;
}

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

function parseKey(vkey: string, field: string): ReturnType<typeof parseVerifierKey> {
  try {
    return parseVerifierKey(vkey);
  } catch (err) {
    if (!(err instanceof CheckpointFormatError)) throw err;
    throw new PeerConfigError(`${field}: ${err.message}`);
  }
}

/** Opens a log-signed note under `origin`: the checkpoint, or why not. */
function openLogNote(
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

/** Everything one round works with. */
interface Round {
  readonly deps: PeerSyncDeps;
  readonly peer: PeerConfig;
  readonly logVerifiers: readonly NoteKeyVerifier[];
  readonly witnessVerifiers: readonly NoteKeyVerifier[];
  readonly client: WitnessClient;
  readonly witness: WitnessService;
  readonly signal: AbortSignal | undefined;
}

/** The parts of an outcome a step decides; {@link finish} adds the stored views. */
type Partial = Omit<PeerSyncOutcome, "trusted" | "peerCosignedUs">;
type Pushed = Partial & { readonly fresh?: NonNullable<PeerSyncOutcome["peerCosignedUs"]> };

const view = (size: number, root: Uint8Array, note: string): CheckpointView => ({
  size,
  rootHash: toHex(root),
  note,
});

const fetchedView = (f: FetchedCheckpoint): CheckpointView =>
  view(f.checkpoint.size, f.checkpoint.root, f.note);

/** Maps a client failure to a partial outcome; anything else is rethrown. */
function clientFailure(err: unknown, what: string, peerCheckpoint?: CheckpointView): Partial {
  if (!(err instanceof WitnessClientError)) throw err;
  const R = WitnessClientReason;
  const map: Record<WitnessClientReason, [PeerSyncReason, boolean]> = {
    [R.Unreachable]: [PeerSyncReason.Unreachable, false],
    [R.Timeout]: [PeerSyncReason.Timeout, false],
    [R.HttpError]: [PeerSyncReason.Unreachable, false],
    [R.Redirected]: [PeerSyncReason.Redirected, true],
    [R.Oversized]: [PeerSyncReason.Oversized, true],
    [R.SizeTooLarge]: [PeerSyncReason.SizeTooLarge, true],
    [R.Malformed]: [PeerSyncReason.Malformed, true],
    [R.NotFound]: [PeerSyncReason.Malformed, true],
    [R.Forbidden]: [PeerSyncReason.Malformed, true],
    [R.BadRequest]: [PeerSyncReason.Malformed, true],
    [R.StaleOldSize]: [PeerSyncReason.Malformed, true],
    [R.Conflict]: [PeerSyncReason.Malformed, true],
  };
  const [reason, reachable] = map[err.reason];
  return {
    reachable,
    consistent: true,
    synced: false,
    quarantined: false,
    reason,
    message: `${what}: ${err.message}`,
    ...(peerCheckpoint ? { peerCheckpoint } : {}),
  };
}

/** The partial outcome of a quarantined peer. */
const quarantinedOutcome = (
  evidence: MisbehaviourEvidence,
  reachable: boolean,
  peerCheckpoint?: CheckpointView,
): Partial => ({
  reachable,
  consistent: false,
  synced: false,
  quarantined: true,
  reason: evidence.kind,
  message: `peer ${evidence.origin} is quarantined (${evidence.kind}, detected ${evidence.detectedAt}): ${evidence.detail}`,
  evidence,
  ...(peerCheckpoint ? { peerCheckpoint } : {}),
});

/** Records a fork or rollback (quarantining the peer) and returns its partial outcome. */
async function misbehaved(
  r: Round,
  m: {
    readonly kind: MisbehaviourEvidence["kind"];
    readonly trustedNote: string;
    readonly offered: FetchedCheckpoint;
    readonly proof: { first: number; second: number; hashes: readonly Hash[] } | undefined;
    readonly detail: string;
  },
): Promise<Partial> {
  const { kind, trustedNote, offered, proof, detail } = m;
  const evidence: MisbehaviourEvidence = {
    kind,
    origin: r.peer.origin,
    logVkeys: r.peer.logVkeys,
    trustedNote,
    offeredNote: offered.note,
    ...(proof ? { proof: { ...proof, hashes: proof.hashes.map(toBase64) } } : {}),
    detectedAt: r.deps.clock.now().toISOString(),
    detail,
  };
  const stored = await recordMisbehaviour(r.deps.pool, evidence);
  return quarantinedOutcome(stored, true, fetchedView(offered));
}

/** Checks a fetched checkpoint's origin and signatures; a partial outcome when it fails. */
function refuseOffered(r: Round, f: FetchedCheckpoint): Partial | undefined {
  const base = {
    reachable: true,
    consistent: true,
    synced: false,
    quarantined: false,
    peerCheckpoint: fetchedView(f),
  };
  const origin = f.checkpoint.origin;
  if (origin === r.deps.ledger.origin) {
    return {
      ...base,
      reason: PeerSyncReason.OwnOrigin,
      message: `the peer serves a checkpoint of this ledger's own origin ${JSON.stringify(origin)}`,
    };
  }
  if (origin !== r.peer.origin) {
    return {
      ...base,
      reason: PeerSyncReason.OriginMismatch,
      message: `the peer's checkpoint origin ${JSON.stringify(origin.slice(0, 100))} is not the pinned ${JSON.stringify(r.peer.origin)}`,
    };
  }
  const opened = openNote(f.note, r.logVerifiers, "peer checkpoint");
  if (opened.ok) return undefined;
  const reason =
    opened.code === NoteRefusal.Untrusted
      ? PeerSyncReason.UnknownKey
      : opened.code === NoteRefusal.BadSignature
        ? PeerSyncReason.BadSignature
        : PeerSyncReason.Malformed;
  return { ...base, reason, message: opened.reason };
}

const STALE = Symbol("stale");

/** A proof from the peer, or undefined when it says it has none (400/404). */
async function peerProof(r: Round, first: number, second: number): Promise<Hash[] | undefined> {
  try {
    return await r.client.consistencyProof(first, second, r.signal);
  } catch (err) {
    if (
      err instanceof WitnessClientError &&
      (err.reason === WitnessClientReason.BadRequest || err.reason === WitnessClientReason.NotFound)
    ) {
      return undefined;
    }
    throw err;
  }
}

/** A checkpoint older than the trusted one: an old one replayed, or a rollback. */
async function judgeOlder(
  r: Round,
  f: FetchedCheckpoint,
  trusted: { size: number; root: Hash; note: string },
): Promise<Partial> {
  const n = f.checkpoint.size;
  const proof = await peerProof(r, n, trusted.size);
  const check =
    proof &&
    verifyConsistency({
      size1: n,
      size2: trusted.size,
      root1: f.checkpoint.root,
      root2: trusted.root,
      proof,
    });
  if (check?.ok) {
    return {
      reachable: true,
      consistent: true,
      synced: false,
      quarantined: false,
      reason: PeerSyncReason.Replayed,
      message: `the peer served size ${n}, older than the trusted size ${trusted.size} (a prefix of it): an old checkpoint replayed`,
      peerCheckpoint: fetchedView(f),
    };
  }
  const why = check ? check.reason : "the peer has no consistency proof";
  return await misbehaved(r, {
    kind: "RolledBack",
    trustedNote: trusted.note,
    offered: f,
    proof: proof && { first: n, second: trusted.size, hashes: proof },
    detail: `the peer served size ${n} after size ${trusted.size} was cosigned, and ${why}`,
  });
}

/** Runs a fetched checkpoint through the witness decision against the golden checkpoint. */
async function judge(r: Round, f: FetchedCheckpoint): Promise<Partial | undefined | typeof STALE> {
  const golden = await r.witness.latest(r.peer.origin);
  const n = f.checkpoint.size;
  const g = golden?.size ?? 0;
  if (golden && n < g) return await judgeOlder(r, f, golden);
  let proof: Hash[] = [];
  if (golden && n > g && g > 0) {
    const p = await peerProof(r, g, n);
    if (!p) {
      return {
        reachable: true,
        consistent: true,
        synced: false,
        quarantined: false,
        reason: PeerSyncReason.BadProof,
        message: `the peer has no consistency proof from the trusted size ${g} to its size ${n}`,
        peerCheckpoint: fetchedView(f),
      };
    }
    proof = p;
  }
  const body = formatAddCheckpointRequest({ oldSize: g, proof, note: f.note });
  const res = await r.witness.addCheckpoint(new TextEncoder().encode(body));
  if (res.status === 200) return undefined;
  if (res.status === 409) return STALE;
  if (res.reason === WitnessReason.Quarantined) {
    const e = await misbehaviourOf(r.deps.pool, r.peer.origin);
    if (e) return quarantinedOutcome(e, true, fetchedView(f));
  }
  if (
    golden &&
    (res.reason === WitnessReason.SameSizeOtherRoot ||
      res.reason === WitnessReason.BadConsistencyProof)
  ) {
    return await misbehaved(r, {
      kind: "Forked",
      trustedNote: golden.note,
      offered: f,
      proof: n > g ? { first: g, second: n, hashes: proof } : undefined,
      detail: `the peer's size ${n} is not consistent with the trusted size ${g}: ${res.body.trim()}`,
    });
  }
  return {
    reachable: true,
    consistent: true,
    synced: false,
    quarantined: false,
    reason: res.status === 403 ? PeerSyncReason.BadSignature : PeerSyncReason.Malformed,
    message: `our witness refused the peer's checkpoint: ${res.body.trim()}`,
    peerCheckpoint: fetchedView(f),
  };
}

/**
 * Compares our trusted checkpoint with the one each cross-check witness cosigned for the peer;
 * a split view is a fork. Witnesses that cannot be read are skipped (they are not the peer).
 */
async function crossCheck(r: Round): Promise<Partial | undefined> {
  for (const url of r.peer.crossCheck ?? []) {
    const other = new WitnessClient({ ...r.peer.client, url });
    let seen: FetchedCheckpoint | undefined;
    try {
      seen = await other.cosigned(r.peer.origin, r.signal);
    } catch (err) {
      if (err instanceof WitnessClientError) continue;
      throw err;
    }
    if (!seen || !openLogNote(seen.note, r.peer.origin, r.logVerifiers).ok) continue;
    const trusted = await r.witness.latest(r.peer.origin);
    if (!trusted) continue;
    const s = seen.checkpoint;
    if (s.size === trusted.size) {
      if (bytesEqual(s.root, trusted.root)) continue;
      return await misbehaved(r, {
        kind: "Forked",
        trustedNote: trusted.note,
        offered: seen,
        proof: undefined,
        detail: `witness ${url} cosigned size ${s.size} of the peer with another root: a split view`,
      });
    }
    const [a, b] = s.size < trusted.size ? [s, trusted] : [trusted, s];
    const proof = await peerProof(r, a.size, b.size);
    if (!proof) {
      return {
        reachable: true,
        consistent: true,
        synced: false,
        quarantined: false,
        reason: PeerSyncReason.BadProof,
        message: `the peer has no consistency proof between size ${trusted.size} (ours) and ${s.size} (cosigned by ${url})`,
      };
    }
    const v = verifyConsistency({
      size1: a.size,
      size2: b.size,
      root1: a.root,
      root2: b.root,
      proof,
    });
    if (!v.ok) {
      return await misbehaved(r, {
        kind: "Forked",
        trustedNote: trusted.note,
        offered: seen,
        proof: { first: a.size, second: b.size, hashes: proof },
        detail: `witness ${url} cosigned size ${s.size} of the peer, not consistent with our size ${trusted.size}: a split view (${v.reason})`,
      });
    }
  }
  return undefined;
}

/** The pull half: fetch, check, cosign (and cross-check); undefined when it succeeded. */
async function pull(r: Round): Promise<Partial | undefined> {
  const recorded = await misbehaviourOf(r.deps.pool, r.peer.origin);
  let f: FetchedCheckpoint;
  try {
    f = await r.client.checkpoint(r.signal);
  } catch (err) {
    const failed = clientFailure(err, "fetching the peer's checkpoint");
    return recorded ? quarantinedOutcome(recorded, failed.reachable) : failed;
  }
  if (recorded) return quarantinedOutcome(recorded, true, fetchedView(f));
  const refused = refuseOffered(r, f);
  if (refused) return refused;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const judged = await judge(r, f);
      if (judged === undefined) return await crossCheck(r);
      if (judged !== STALE) return judged;
    }
  } catch (err) {
    return clientFailure(err, "proving the peer's checkpoint consistent", fetchedView(f));
  }
  return {
    reachable: true,
    consistent: true,
    synced: false,
    quarantined: false,
    reason: PeerSyncReason.Contended,
    message: "the trusted checkpoint moved three times during the round (concurrent pushes)",
    peerCheckpoint: fetchedView(f),
  };
}

/** A cosignature line of the peer checked against our checkpoint, or why it is refused. */
function checkCosignatures(
  r: Round,
  body: string,
  lines: readonly string[],
  kept: KeptCosignature | undefined,
):
  | { ok: true; line: string; timestamp: number }
  | { ok: false; reason: PeerSyncReason; message: string } {
  const enc = new TextEncoder();
  const keptBody = kept && parseNote(kept.note).body;
  const latest = Math.floor(r.deps.clock.now().getTime() / 1000) + (r.deps.maxSkewSeconds ?? 300);
  for (const line of lines) {
    let sig;
    try {
      sig = parseNote(`${body}\n${line}`).signatures[0]!;
    } catch (err) {
      if (!(err instanceof CheckpointFormatError)) throw err;
      return {
        ok: false,
        reason: PeerSyncReason.Malformed,
        message: `cosignature line: ${err.message}`,
      };
    }
    const v = r.witnessVerifiers.find(
      (k) => k.name === sig.name && bytesEqual(k.keyHash, sig.keyHash),
    );
    if (!v) continue;
    const timestamp = cosignatureTimestamp(sig.signature);
    if (timestamp === undefined || !v.verify(enc.encode(body), sig.signature)) {
      const replay =
        keptBody !== undefined &&
        keptBody !== body &&
        v.verify(enc.encode(keptBody), sig.signature);
      return replay
        ? {
            ok: false,
            reason: PeerSyncReason.Replayed,
            message: `the peer answered with its cosignature of our size ${kept!.size}, not of the checkpoint pushed`,
          }
        : {
            ok: false,
            reason: PeerSyncReason.BadSignature,
            message: `the cosignature by ${sig.name} does not verify over our checkpoint`,
          };
    }
    if (timestamp > latest) {
      return {
        ok: false,
        reason: PeerSyncReason.BadSignature,
        message: `the cosignature by ${sig.name} is dated ${timestamp}, after ${latest}`,
      };
    }
    if (kept && timestamp < kept.cosignedAt) {
      return {
        ok: false,
        reason: PeerSyncReason.Replayed,
        message: `the cosignature by ${sig.name} is dated ${timestamp}, before the one kept (${kept.cosignedAt})`,
      };
    }
    return { ok: true, line, timestamp };
  }
  return {
    ok: false,
    reason: PeerSyncReason.UnknownKey,
    message: "no cosignature by the peer's pinned witness key in its answer",
  };
}

/** The push half: our latest checkpoint to the peer's witness, its cosignature kept. */
async function push(r: Round, pulled: Partial): Promise<Pushed> {
  const { ledger, pool, clock } = r.deps;
  const head = await ledger.latestTreeHead();
  if (!head) {
    return { ...pulled, synced: true, message: "peer cosigned; our log is empty: nothing to push" };
  }
  const kept = await latestPeerCosignature(pool, r.peer.origin);
  const oldSize = kept && kept.size <= head.treeSize ? kept.size : 0;
  let lines: readonly string[];
  try {
    ({ cosignatures: lines } = await r.client.pushCheckpoint(
      head.checkpoint,
      head.treeSize,
      oldSize,
      async (old) => (await ledger.consistencyProof(old, head.treeSize)).map((h) => fromHex(h, 32)),
      r.signal,
    ));
  } catch (err) {
    const R = WitnessClientReason;
    if (
      err instanceof WitnessClientError &&
      (
        [R.NotFound, R.Forbidden, R.BadRequest, R.StaleOldSize, R.Conflict] as WitnessClientReason[]
      ).includes(err.reason)
    ) {
      return {
        ...pulled,
        reason: PeerSyncReason.Refused,
        message: `the peer's witness refused our checkpoint of size ${head.treeSize}: ${err.message}`,
      };
    }
    return {
      ...clientFailure(err, "pushing our checkpoint"),
      reachable: true,
      ...(pulled.peerCheckpoint ? { peerCheckpoint: pulled.peerCheckpoint } : {}),
    };
  }
  const body = parseNote(head.checkpoint).body;
  const c = checkCosignatures(r, body, lines, kept);
  if (!c.ok) return { ...pulled, reason: c.reason, message: c.message };
  const note = addCosignature(head.checkpoint, c.line);
  await keepPeerCosignature(
    pool,
    r.peer.origin,
    { size: head.treeSize, root: fromHex(head.rootHash, 32), note, cosignedAt: c.timestamp },
    clock.now(),
  );
  return {
    ...pulled,
    synced: true,
    message: `cosigned the peer's size ${pulled.peerCheckpoint?.size ?? 0}; the peer cosigned our size ${head.treeSize}`,
    fresh: { ...view(head.treeSize, fromHex(head.rootHash, 32), note), cosignedAt: c.timestamp },
  };
}

/**
 * Runs one sync round with `peer`: pull (fetch, verify against the pinned origin and log
 * vkeys, prove consistency from the golden size, cosign through the witness decision,
 * cross-check), then push (our latest checkpoint to the peer's add-checkpoint, its
 * cosignature verified and kept). Every failure a peer can cause ends in an outcome with a
 * reason, within the client deadlines; a {@link PeerConfigError} (bad pinned keys) or this
 * ledger's own database failing throws. `signal` aborts the round's requests.
 */
export async function syncPeer(
  deps: PeerSyncDeps,
  peer: PeerConfig,
  signal?: AbortSignal,
): Promise<PeerSyncOutcome> {
  const own = deps.ledger.origin;
  if (peer.origin === own) {
    // Nothing is asked of a peer pinned with our own origin: it would be indistinguishable
    // from this ledger to every witness (ADR 0081).
    return {
      reachable: false,
      consistent: true,
      synced: false,
      quarantined: false,
      reason: PeerSyncReason.OwnOrigin,
      message: `the peer's pinned origin ${JSON.stringify(own)} is this ledger's own`,
    };
  }
  const logVerifiers = pinnedLogVerifiers(peer.origin, peer.logVkeys);
  const witnessVerifiers = peer.witnessVkeys.map((vkey, i) => {
    const k = parseKey(vkey, `witnessVkeys[${i}]`);
    if (k.alg !== COSIGNATURE_V1_ALG) {
      throw new PeerConfigError(
        `witnessVkeys[${i}]: expected a cosignature/v1 key (type 0x04), got type 0x0${k.alg}`,
      );
    }
    return cosignatureKeyVerifier({ name: k.name, publicKey: toBase64(k.publicKey) });
  });
  const publicKeys = peer.logVkeys.map((k) => toBase64(parseVerifierKey(k).publicKey));
  const r: Round = {
    deps,
    peer,
    logVerifiers,
    witnessVerifiers,
    client: new WitnessClient({ ...peer.client, url: peer.url }),
    witness: new WitnessService({
      pool: deps.pool,
      witness: deps.witness,
      logs: new Map([[peer.origin, { origin: peer.origin, publicKeys }]]),
      clock: deps.clock,
    }),
    signal,
  };
  const failed = await pull(r);
  if (failed) return await finish(r, failed);
  const pulled: Partial = {
    reachable: true,
    consistent: true,
    synced: false,
    quarantined: false,
    reason: PeerSyncReason.Synced,
    message: "",
  };
  return await finish(r, await push(r, pulled));
}

/** Adds the stored golden checkpoint and the latest kept cosignature of us to an outcome. */
async function finish(r: Round, p: Pushed): Promise<PeerSyncOutcome> {
  const { fresh, ...outcome } = p;
  const trusted = await r.witness.latest(r.peer.origin);
  const kept = await latestPeerCosignature(r.deps.pool, r.peer.origin);
  const us =
    fresh ?? (kept && { ...view(kept.size, kept.root, kept.note), cosignedAt: kept.cosignedAt });
  return {
    ...outcome,
    ...(trusted ? { trusted: view(trusted.size, trusted.root, trusted.note) } : {}),
    ...(us ? { peerCosignedUs: us } : {}),
  };
}
