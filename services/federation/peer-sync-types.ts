/**
 * The types of a federation sync round (services/federation/peer-sync.ts, ADR 0084): the
 * reason constants, what a peer is pinned to, what a round needs, what it returns, and the
 * misbehaviour evidence a fork or rollback yields. Import them from peer-sync.ts.
 */
import type pg from "pg";
import type { Clock } from "../ledger/clock.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { Witness } from "./cosignature.ts";
import type { WitnessClientOptions } from "./witness-client.ts";

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
  /**
   * Client options (deadline, byte cap, fetch, the peer's TLS roots `caBundle`) other than the
   * URL; the `crossCheck` witnesses get them without `caBundle`.
   */
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
