/**
 * Wiring of the FederationPeer controller: the FederationPeer informer (cluster-scoped; its own
 * changes enqueue it), the reconciler with the ledger, the witness key, the sync round of
 * services/federation/peer-sync.ts and the ledger receipts. Like every controller it runs only on
 * the leader. A round per peer runs every spec.syncIntervalSeconds with jitter (status
 * .nextSyncTime), whatever enqueued the key. Beside it, on the same informer, the witness trust
 * sync records the peers' pins in the ledger database for `serve --witness-trust-db` (ADR 0094).
 */
import type { FederationPeer } from "../../../crds/index.ts";
import { syncPeer } from "../../../services/federation/peer-sync.ts";
import { Resources } from "../../../services/kube/index.ts";
import type { Ed25519Signer } from "../../../services/ledger/ed25519.ts";
import type { Ledger } from "../../../services/ledger/ledger.ts";
import type { Controller, Manager } from "../../runtime/index.ts";
import { LedgerFederationReceipts } from "./federationpeer-ledger-receipts.ts";
import { createWitnessTrustSync, witnessTrustSource } from "./federationpeer-trust.ts";
import {
  FederationPeerReconciler,
  type FederationPeerReconcilerDeps,
  type WitnessKey,
} from "./federationpeer-reconciler.ts";

/** Dependencies of the FederationPeer controller. */
export interface FederationPeerControllerDeps {
  readonly clock: { now(): Date };
  /** @default Math.random */
  readonly random?: () => number;
  /** The open ledger (LedgerConnection.ready); rejects while its database is away. */
  readonly ledger: () => Promise<Ledger>;
  /** Our log signing key: signs federation receipt proposals (the ledger signs appends). */
  readonly signer: Ed25519Signer;
  /** Our witness key; without it no round runs (WitnessKeyMissing). */
  readonly witnessKey?: WitnessKey | undefined;
  /** Namespace of the Receipt resources of federation receipts. @default vaultmesh-system */
  readonly receiptNamespace?: string;
  /** Only FederationPeers matching this label selector (tests, shards); all when omitted. */
  readonly peerSelector?: string | undefined;
  /** The sync round (tests may wrap it). @default syncPeer */
  readonly sync?: FederationPeerReconcilerDeps["sync"];
  /** Deadline of one round. @default DEFAULT_FEDERATION_ROUND_TIMEOUT_MS (federationpeer-defaults.ts) */
  readonly roundTimeoutMs?: number;
  /** @default 2 */
  readonly workers?: number;
  readonly resyncMs?: number;
}

/** Creates the FederationPeer controller and registers it with `mgr`. */
export function createFederationPeerController(
  mgr: Manager,
  deps: FederationPeerControllerDeps,
): Controller<FederationPeer> {
  const peers = mgr.informer<FederationPeer>(
    Resources.FederationPeer,
    deps.peerSelector ? { labelSelector: deps.peerSelector } : {},
  );
  const reconciler = new FederationPeerReconciler({
    client: mgr.client,
    clock: deps.clock,
    random: deps.random ?? Math.random,
    peers,
    events: mgr.events,
    ledger: deps.ledger,
    witnessKey: deps.witnessKey,
    sync: deps.sync ?? syncPeer,
    receipts: new LedgerFederationReceipts({
      client: mgr.client,
      clock: deps.clock,
      signer: deps.signer,
      namespace: deps.receiptNamespace ?? "vaultmesh-system",
    }),
    ...(deps.roundTimeoutMs !== undefined ? { roundTimeoutMs: deps.roundTimeoutMs } : {}),
  });
  // The witness endpoint of our `remembrancer serve --witness-trust-db` trusts these peers (ADR 0094).
  mgr.add(
    createWitnessTrustSync(peers, {
      ledger: deps.ledger,
      clock: deps.clock,
      source: witnessTrustSource(deps.peerSelector),
      logger: mgr.log,
      ...(deps.resyncMs !== undefined ? { resyncMs: deps.resyncMs } : {}),
    }),
  );
  return mgr.controller<FederationPeer>({
    name: "federationpeer",
    for: peers,
    workers: deps.workers ?? 2,
    ...(deps.resyncMs !== undefined ? { resyncMs: deps.resyncMs } : {}),
    reconcile: (req) => reconciler.reconcile(req),
  });
}
