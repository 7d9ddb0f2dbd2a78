/**
 * The FederationPeer reconcile, in the runtime's fixed order: get (gone → done) → finalizer
 * (none: nothing outside the object is ours to tear down — the trusted checkpoints and receipts
 * are append-only records that outlive the peer) → scope (the pinned trust anchor, our ledger
 * and witness) → phases (one sync round when due; evidence of misbehaviour; the federation
 * receipt) → status computed by federationpeer-status.ts and written once, also when a phase
 * failed, with Events for transitions. Leader only (the runtime runs controllers on the leader);
 * a round runs every spec.syncIntervalSeconds with jitter, tracked by status.nextSyncTime so a
 * status write, a resync or a restart never starts an extra round.
 */
import type { FederationPeer } from "../../../crds/index.ts";
import { createWitness, type Witness } from "../../../services/federation/cosignature.ts";
import {
  PeerConfigError,
  PeerSyncReason,
  type PeerConfig,
  type PeerSyncDeps,
  type PeerSyncOutcome,
} from "../../../services/federation/peer-sync.ts";
import { Resources, type KubeClient, type ObjectCache } from "../../../services/kube/index.ts";
import type { Ed25519Signer } from "../../../services/ledger/ed25519.ts";
import type { Ledger } from "../../../services/ledger/ledger.ts";
import type { Receipt as LedgerReceipt } from "../../../services/ledger/receipt.ts";
import { allKeys } from "../../../services/ledger/store/pg-log-queries.ts";
import { transitions, writeStatus, type EventRecorder, type Result } from "../../runtime/index.ts";
import { peerPinning, type PinnedPeerConfig } from "./federationpeer-config.ts";
import {
  DEFAULT_FEDERATION_RETRY_MS,
  DEFAULT_FEDERATION_ROUND_TIMEOUT_MS,
} from "./federationpeer-defaults.ts";
import { roundOf } from "./federationpeer-round.ts";
import {
  computeFederationPeerStatus,
  FederationPeerReason,
  MISBEHAVIOUR_REASONS,
  msUntilDue,
  nextSyncDelayMs,
  type FederationPeerObservation,
} from "./federationpeer-status.ts";

/** This ledger's witness key: the same Ed25519 key and name as `remembrancer serve --witness-key`. */
export interface WitnessKey {
  readonly signer: Ed25519Signer;
  /** @default `<origin>/witness` */
  readonly name?: string | undefined;
}

/** A ledger receipt recorded for a peer, and where it sits in the log. */
export interface RecordedReceipt {
  readonly receipt: LedgerReceipt;
  readonly entry: { readonly logIndex: number; readonly leafHash: string };
}

/** What the receipt phases get: the peer, its pinning, our ledger and witness, the round. */
export interface RoundContext {
  readonly peer: FederationPeer;
  readonly config: PinnedPeerConfig;
  readonly ledger: Ledger;
  readonly witness: Witness;
  readonly outcome: PeerSyncOutcome;
  readonly now: Date;
}

/**
 * The ledger side of the receipts: the FederationInconsistent receipt of caught misbehaviour
 * and the FederationSynced receipt of a synced pair (proposed to the peer, or found in our
 * ledger where the peer's proposal was appended). Each returns undefined when there is none
 * (yet).
 */
export interface FederationReceipts {
  inconsistent(ctx: RoundContext): Promise<RecordedReceipt | undefined>;
  synced(ctx: RoundContext): Promise<RecordedReceipt | undefined>;
  /** Creates the Receipt view of a recorded receipt; returns its name. */
  view(
    peer: FederationPeer,
    r: RecordedReceipt,
    kind: "synced" | "inconsistent",
  ): Promise<{ name: string; namespace: string }>;
}

/** Everything the reconciler reads and writes through. */
export interface FederationPeerReconcilerDeps {
  readonly client: KubeClient;
  readonly clock: { now(): Date };
  /** Random numbers in [0, 1) for the jitter. */
  readonly random: () => number;
  readonly peers: ObjectCache<FederationPeer>;
  readonly events: EventRecorder;
  /** The open ledger; rejects while its database is away. */
  readonly ledger: () => Promise<Ledger>;
  /** Our witness key; without one, no round runs (WitnessKeyMissing). */
  readonly witnessKey?: WitnessKey | undefined;
  /** One sync round (services/federation/peer-sync.ts `syncPeer`). */
  readonly sync: (
    deps: PeerSyncDeps,
    peer: PeerConfig,
    signal?: AbortSignal,
  ) => Promise<PeerSyncOutcome>;
  readonly receipts: FederationReceipts;
  /** Deadline of one round. @default {@link DEFAULT_FEDERATION_ROUND_TIMEOUT_MS} */
  readonly roundTimeoutMs?: number;
  /**
   * Wait before a round that could not start (ledger away) or failed before its verdict is
   * tried again. @default {@link DEFAULT_FEDERATION_RETRY_MS}
   */
  readonly retryMs?: number;
}

type Observation = {
  -readonly [K in keyof FederationPeerObservation]: FederationPeerObservation[K];
};

/** Reconciles FederationPeers. */
export class FederationPeerReconciler {
  readonly #d: FederationPeerReconcilerDeps;

  constructor(deps: FederationPeerReconcilerDeps) {
    this.#d = deps;
  }

  /** Reconciles the FederationPeer `name`. */
  async reconcile(req: { name: string }): Promise<Result | void> {
    const peer = this.#d.peers.get(req.name);
    if (!peer || peer.metadata.deletionTimestamp) return;
    const start = this.#d.clock.now();
    const wait = msUntilDue(peer, start);
    if (wait > 0) return { requeueAfterMs: wait };
    const obs: Observation = {};
    let failure: unknown;
    try {
      await this.#phases(peer, obs, start);
    } catch (err) {
      failure = err;
      // A round that ran keeps its verdict; the failure after it (a receipt) is retried next round.
      if (!obs.round) {
        obs.blocked = {
          reason:
            err instanceof PeerConfigError
              ? FederationPeerReason.InvalidTrustAnchor
              : FederationPeerReason.RoundFailed,
          message: (err as Error).message.slice(0, 512),
        };
      }
      // A pinning the round refuses is the spec's to fix: reported, not retried with backoff.
      if (err instanceof PeerConfigError) failure = undefined;
    }
    const now = this.#d.clock.now();
    const interval = nextSyncDelayMs(peer.spec.syncIntervalSeconds, this.#d.random());
    const retry = obs.round
      ? interval
      : Math.min(interval, this.#d.retryMs ?? DEFAULT_FEDERATION_RETRY_MS);
    if (!peer.spec.suspended) obs.nextSyncTime = new Date(now.getTime() + retry);
    const status = computeFederationPeerStatus(peer, obs, now);
    const written = await writeStatus(this.#d.client, Resources.FederationPeer, peer, status);
    this.#announce(peer, written, obs);
    if (failure !== undefined && obs.round) {
      this.#d.events.event(
        Resources.FederationPeer,
        written,
        "Warning",
        "FederationReceiptFailed",
        `after the sync: ${(failure as Error).message}`.slice(0, 1024),
      );
    }
    // A failure is not thrown: the runtime's backoff would reconcile again within milliseconds,
    // before the informer holds the nextSyncTime just written, and start an extra round. The
    // status written above (RoundFailed, or FederationReceiptFailed after a verdict) reports
    // it; the retry comes when the written nextSyncTime is due.
    return peer.spec.suspended ? {} : { requeueAfterMs: retry };
  }

  async #phases(peer: FederationPeer, obs: Observation, now: Date): Promise<void> {
    if (peer.spec.suspended) {
      obs.blocked = {
        reason: FederationPeerReason.Suspended,
        message: "spec.suspended is true: no syncing with the peer",
      };
      return;
    }
    const scope = await this.#scope(peer, obs);
    if (!scope) return;
    const outcome = await this.#d.sync(
      {
        pool: scope.ledger.store.pool,
        ledger: scope.ledger,
        witness: scope.witness,
        clock: this.#d.clock,
      },
      scope.config,
      AbortSignal.timeout(this.#d.roundTimeoutMs ?? DEFAULT_FEDERATION_ROUND_TIMEOUT_MS),
    );
    obs.round = roundOf(outcome);
    const ctx: RoundContext = { ...scope, peer, outcome, now };
    if (outcome.quarantined || MISBEHAVIOUR_REASONS.has(outcome.reason)) {
      await this.#inconsistent(ctx, obs);
      return;
    }
    if (outcome.synced) {
      const recorded = await this.#d.receipts.synced(ctx);
      if (recorded) {
        const ref = await this.#d.receipts.view(peer, recorded, "synced");
        obs.federationReceipt = { ...ref, digest: recorded.receipt.digest };
      }
    }
  }

  /** The pinned peer, our open ledger and our witness; undefined (blocked) when one is missing. */
  async #scope(
    peer: FederationPeer,
    obs: Observation,
  ): Promise<{ config: PinnedPeerConfig; ledger: Ledger; witness: Witness } | undefined> {
    let ledger: Ledger;
    try {
      ledger = await this.#d.ledger();
    } catch (err) {
      obs.blocked = {
        reason: FederationPeerReason.LedgerUnavailable,
        message: `our ledger is unavailable: ${(err as Error).message}`.slice(0, 512),
      };
      return undefined;
    }
    const pinning = peerPinning(peer, ledger.origin);
    if (!pinning.ok) {
      obs.blocked = {
        reason: FederationPeerReason.InvalidTrustAnchor,
        message: `${pinning.field}: ${pinning.message}`,
      };
      return undefined;
    }
    const key = this.#d.witnessKey;
    if (!key || !ledger.origin) {
      obs.blocked = {
        reason: FederationPeerReason.WitnessKeyMissing,
        message: key
          ? "our ledger has no origin yet"
          : "the operator has no witness key (VAULTMESH_WITNESS_KEY_FILE): it cannot cosign the peer",
      };
      return undefined;
    }
    // The witness key may be none of the log keys it vouches for: ours and the peer's.
    const own = (await allKeys(ledger.store.pool)).filter((k) => k.kind === "ed25519");
    try {
      const witness = createWitness(key.name ?? `${ledger.origin}/witness`, key.signer, [
        ...own.map((k) => k.publicKey),
        ...pinning.logPublicKeys,
      ]);
      return { config: pinning.config, ledger, witness };
    } catch (err) {
      obs.blocked = {
        reason: FederationPeerReason.WitnessKeyMissing,
        message: (err as Error).message,
      };
      return undefined;
    }
  }

  async #inconsistent(ctx: RoundContext, obs: Observation): Promise<void> {
    const prev = ctx.peer.status?.inconsistency;
    const recorded = await this.#d.receipts.inconsistent(ctx);
    const ref = recorded
      ? await this.#d.receipts.view(ctx.peer, recorded, "inconsistent")
      : undefined;
    const kind = ctx.outcome.evidence?.kind ?? ctx.outcome.reason;
    obs.inconsistency = {
      reason: prev?.reason ?? kind,
      detectedAt: prev?.detectedAt ?? ctx.outcome.evidence?.detectedAt ?? ctx.now.toISOString(),
      ...(ref ? { receipt: ref } : prev?.receipt ? { receipt: prev.receipt } : {}),
      ...(recorded
        ? { digest: recorded.receipt.digest }
        : prev?.digest
          ? { digest: prev.digest }
          : {}),
    };
  }

  #announce(before: FederationPeer, after: FederationPeer, obs: Observation): void {
    const ev = this.#d.events;
    const caught = !before.status?.inconsistency && after.status?.inconsistency;
    if (caught) {
      const i = after.status!.inconsistency!;
      ev.event(
        Resources.FederationPeer,
        after,
        "Warning",
        "FederationInconsistent",
        `the peer's log ${i.reason === PeerSyncReason.RolledBack ? "rolled back" : "forked"}: cosigning stopped; evidence ${i.receipt ? `in Receipt ${i.receipt.namespace}/${i.receipt.name}` : "kept in the ledger"} (${i.digest ?? "no receipt yet"})`,
      );
    }
    for (const c of transitions(before.status?.conditions, after.status?.conditions)) {
      ev.event(
        Resources.FederationPeer,
        after,
        c.status === "True" ? "Normal" : "Warning",
        c.reason,
        `${c.type}: ${c.message || c.reason}`,
      );
    }
    const receipt = obs.federationReceipt;
    if (receipt && receipt.digest !== before.status?.lastFederationReceiptDigest) {
      ev.event(
        Resources.FederationPeer,
        after,
        "Normal",
        "FederationSynced",
        `federation receipt ${receipt.digest} in Receipt ${receipt.namespace}/${receipt.name}`,
      );
    }
  }
}
