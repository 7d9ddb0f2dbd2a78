/**
 * The witness trust follows the FederationPeers (ADR 0094): whenever a FederationPeer is added,
 * changed or deleted (and at start and every resync), the leader records the pinned origin and
 * Ed25519 log keys of every usable peer in the ledger database (`ledger_witness_trust`, source
 * `FederationPeers`), which `remembrancer serve --witness-trust-db` reads per request. So the
 * endpoint the peers push to trusts exactly the peers this operator syncs, with no trust file
 * kept in step by hand.
 *
 * Every reconcile writes the whole set from the informer's cache (level-based: a missed delete
 * event, a restart or a new leader still ends in the right rows); the write is one transaction
 * and a no-op when nothing changed.
 */
import type { FederationPeer } from "../../../crds/index.ts";
import {
  FEDERATION_PEERS_TRUST_SOURCE,
  replaceWitnessTrust,
  type WitnessTrustChange,
  type WitnessTrustPin,
} from "../../../services/federation/witness-trust-store.ts";
import type { Informer, Logger } from "../../../services/kube/index.ts";
import { silentLogger } from "../../../services/kube/index.ts";
import type { Ledger } from "../../../services/ledger/ledger.ts";
import { Controller, type Runnable } from "../../runtime/index.ts";
import { peerPinning } from "./federationpeer-config.ts";

/** The pins of `peers` for a ledger of origin `ownOrigin`, and the peers left out (pure). */
export function witnessTrustOfPeers(
  peers: readonly FederationPeer[],
  ownOrigin: string | undefined,
): {
  readonly pins: WitnessTrustPin[];
  readonly skipped: { readonly peer: string; readonly field: string; readonly message: string }[];
} {
  const pins: WitnessTrustPin[] = [];
  const skipped: { peer: string; field: string; message: string }[] = [];
  const seen = new Set<string>();
  // Code-unit order, the same on every machine whatever its locale.
  const sorted = [...peers].sort((a, b) => {
    const x = a.metadata?.name ?? "";
    const y = b.metadata?.name ?? "";
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (const peer of sorted) {
    const name = peer.metadata?.name ?? "";
    // A suspended peer is not synced, and not cosigned when it pushes either.
    if (!name || peer.metadata?.deletionTimestamp || peer.spec.suspended) continue;
    // The same rule as the sync round: a peer the controller refuses is not trusted either.
    const pinning = peerPinning(peer, ownOrigin);
    if (!pinning.ok) {
      skipped.push({ peer: name, field: pinning.field, message: pinning.message });
      continue;
    }
    for (const publicKey of pinning.logPublicKeys) {
      const key = `${pinning.config.origin}\n${publicKey}`;
      if (seen.has(key)) continue; // two peers pinning one key: the first by name records it
      seen.add(key);
      pins.push({ origin: pinning.config.origin, publicKey, peer: name });
    }
  }
  return { pins, skipped };
}

/** Dependencies of {@link createWitnessTrustSync}. */
export interface WitnessTrustSyncDeps {
  readonly peers: Pick<Informer<FederationPeer>, "list" | "on">;
  /** The open ledger; rejects while its database is away (the reconcile is retried). */
  readonly ledger: () => Promise<Pick<Ledger, "origin" | "store">>;
  readonly clock: { now(): Date };
  /**
   * The rows' source: {@link FEDERATION_PEERS_TRUST_SOURCE}, suffixed with the label selector
   * when the operator watches only some FederationPeers, so shards never erase each other's.
   */
  readonly source?: string;
  readonly logger?: Logger;
  readonly resyncMs?: number;
}

/** The trust rows' source of an operator watching the FederationPeers matching `selector`. */
export function witnessTrustSource(selector: string | undefined): string {
  return selector ? `${FEDERATION_PEERS_TRUST_SOURCE}:${selector}` : FEDERATION_PEERS_TRUST_SOURCE;
}

/** Writes the trust of the cached FederationPeers into the ledger once. */
export async function syncWitnessTrust(deps: WitnessTrustSyncDeps): Promise<WitnessTrustChange> {
  const ledger = await deps.ledger();
  const { pins, skipped } = witnessTrustOfPeers(deps.peers.list(), ledger.origin);
  const change = await replaceWitnessTrust(
    ledger.store.pool,
    deps.source ?? FEDERATION_PEERS_TRUST_SOURCE,
    pins,
    deps.clock.now(),
  );
  const log = deps.logger ?? silentLogger;
  if (change.added.length > 0 || change.removed.length > 0) {
    log.info(
      {
        added: change.added.map((p) => `${p.peer}:${p.origin}`),
        removed: change.removed.map((p) => `${p.peer}:${p.origin}`),
        skipped: skipped.map((s) => s.peer),
      },
      "witness trust updated from FederationPeers",
    );
  }
  return change;
}

/** The key the start enqueues, so an empty cluster still clears what an earlier run left. */
const ALL_PEERS_KEY = "witness-trust";

/**
 * A leader-only controller keeping the witness trust in step with the FederationPeers: every
 * peer change enqueues a reconcile that rewrites the whole set (one worker, so writes never
 * interleave), and its start enqueues one more so a cluster whose last peer was deleted while
 * no operator ran is cleared too.
 */
export function createWitnessTrustSync(
  peers: Informer<FederationPeer>,
  deps: Omit<WitnessTrustSyncDeps, "peers">,
): Runnable {
  const controller = new Controller<FederationPeer>({
    name: "federationpeer-trust",
    for: peers,
    workers: 1,
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.resyncMs !== undefined ? { resyncMs: deps.resyncMs } : {}),
    reconcile: async () => {
      await syncWitnessTrust({ ...deps, peers });
    },
  });
  return {
    name: controller.name,
    start: () => {
      controller.start();
      controller.enqueue(ALL_PEERS_KEY);
    },
    stop: () => controller.stop(),
  };
}
