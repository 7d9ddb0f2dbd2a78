// A failure during the reconcile is reported in status and requeued for the nextSyncTime just
// written, never thrown: the runtime's backoff would reconcile again before the informer holds
// that time and start an extra round (and, after a verdict, an extra proposal).
import { describe, expect, it } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import type { FederationPeer } from "../../../crds/index.ts";
import { PeerSyncReason, type PeerSyncOutcome } from "../../../services/federation/peer-sync.ts";
import type { KubeClient, ObjectCache } from "../../../services/kube/index.ts";
import { COSIGNATURE_V1_ALG, verifierKey } from "../../../services/ledger/checkpoint.ts";
import { fixedClock } from "../../../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../../../services/ledger/ed25519.ts";
import type { Ledger } from "../../../services/ledger/ledger.ts";
import { DEFAULT_FEDERATION_RETRY_MS } from "./federationpeer-defaults.ts";
import { FederationPeerReconciler, type FederationReceipts } from "./federationpeer-reconciler.ts";

const ORIGIN = "eu.example/vaultmesh";
const NOW = new Date("2026-01-02T03:04:05Z");
const pub = () => generateKeyPairSync("ed25519").publicKey;
const witnessVkey = verifierKey(
  `${ORIGIN}/witness`,
  Buffer.from(pub().export({ format: "jwk" }).x!, "base64url"),
  COSIGNATURE_V1_ALG,
);
const peer: FederationPeer = {
  apiVersion: "vaultmesh.cloud/v1alpha1",
  kind: "FederationPeer",
  metadata: { name: "eu" },
  spec: {
    endpoint: "http://127.0.0.1:9000",
    trustAnchor: {
      origin: ORIGIN,
      keys: [
        {
          keyId: "k1",
          algorithm: "Ed25519",
          publicKey: pub().export({ format: "pem", type: "spki" }).toString(),
        },
      ],
      witnessKey: witnessVkey,
    },
    syncIntervalSeconds: 60,
    suspended: false,
  },
};
const synced: PeerSyncOutcome = {
  reachable: true,
  consistent: true,
  synced: true,
  reason: PeerSyncReason.Synced,
  message: "synced",
  quarantined: false,
  trusted: { size: 5, rootHash: "ab".repeat(32), note: "n" },
};

function setup(sync: () => Promise<PeerSyncOutcome>) {
  const written: FederationPeer[] = [];
  const events: string[] = [];
  const client = {
    replaceStatus: (_t: unknown, o: FederationPeer) => {
      written.push(o);
      return Promise.resolve(o);
    },
  } as unknown as KubeClient;
  // Our ledger as far as the round's scope reads it: an origin and no log keys of its own.
  const ledger = {
    origin: "us.example/vaultmesh",
    store: { pool: { query: () => Promise.resolve({ rows: [] }) } },
  } as unknown as Ledger;
  const receipts: FederationReceipts = {
    inconsistent: () => Promise.resolve(undefined),
    synced: () => Promise.reject(new Error("the peer refused the proposal")),
    view: () => Promise.resolve({ name: "v", namespace: "ns" }),
  };
  const r = new FederationPeerReconciler({
    client,
    clock: fixedClock(NOW),
    random: () => 0.5,
    peers: { get: () => peer } as unknown as ObjectCache<FederationPeer>,
    events: { event: (_t, _o, _e, reason) => events.push(reason) },
    ledger: () => Promise.resolve(ledger),
    witnessKey: { signer: ed25519Signer(generateEd25519().privateKeyPem) },
    sync: sync,
    receipts,
  });
  return { r, written, events };
}

describe("FederationPeerReconciler failures", () => {
  it("requeues a failed proposal for the next round instead of throwing", async () => {
    const { r, written, events } = setup(() => Promise.resolve(synced));
    const res = await r.reconcile({ name: "eu" });
    expect(written).toHaveLength(1);
    const next = Date.parse(written[0]!.status!.nextSyncTime!);
    expect(next).toBeGreaterThan(NOW.getTime());
    expect(res).toEqual({ requeueAfterMs: next - NOW.getTime() });
    expect(events).toContain("FederationReceiptFailed");
  });

  it("requeues a round that failed before its verdict after the retry wait", async () => {
    const { r, written } = setup(() => Promise.reject(new Error("boom")));
    const res = await r.reconcile({ name: "eu" });
    expect(res).toEqual({ requeueAfterMs: DEFAULT_FEDERATION_RETRY_MS });
    expect(Date.parse(written[0]!.status!.nextSyncTime!)).toBe(
      NOW.getTime() + DEFAULT_FEDERATION_RETRY_MS,
    );
  });
});
