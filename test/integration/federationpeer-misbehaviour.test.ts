// Issue 11 item 5, the controller side: a peer caught forking (the fault-injecting peer serves
// its synced size with another root) is Consistent=False Forked for good — a Warning Event, a
// FederationInconsistent receipt in our ledger with a Receipt resource on the cluster — and is
// never cosigned again, even once it serves its honest, larger log.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { createPublicKey } from "node:crypto";
import { pino } from "pino";
import type { Condition, FederationPeer, Receipt } from "../../crds/index.ts";
import { createFederationPeerController } from "../../operator/controllers/federationpeer/federationpeer-controller.ts";
import { Manager } from "../../operator/runtime/index.ts";
import { parseVerifierKey } from "../../services/ledger/checkpoint.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../../services/ledger/ed25519.ts";
import { Ledger } from "../../services/ledger/ledger.ts";
import { Resources, type KubeClient, type KubeObject } from "../../services/kube/index.ts";
import { federationPeer } from "../builders/objects.ts";
import { Fault, startFaultPeer, type FaultPeer } from "../harness/fault-peer.ts";
import { waitFor } from "../harness/kube.ts";
import { startTestLedger, testClient, type TestLedger } from "./operator-env.ts";

jest.setTimeout(120_000);

const RUN = Math.random().toString(36).slice(2, 8);
const LABEL = "vaultmesh.cloud/test-run";
const NAMESPACE = `fedbad-${RUN}`;
const NAME = `forker-${RUN}`;
// Sorts before our derived origin (vaultmesh.cloud/…): the peer would propose, we never do.
const PEER_ORIGIN = `a-peer-${RUN}.test/log`;
const ourLog = generateEd25519();
const ourWitness = ed25519Signer(generateEd25519().privateKeyPem);

let led: TestLedger;
let ledger: Ledger;
let client: KubeClient;
let mgr: Manager;
let peer: FaultPeer;

/** The SPKI PEM of a C2SP Ed25519 vkey (what FederationPeer's trustAnchor.keys holds). */
function pemOfVkey(vkey: string): string {
  const raw = Buffer.from(parseVerifierKey(vkey).publicKey);
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") },
    format: "jwk",
  })
    .export({ format: "pem", type: "spki" })
    .toString();
}

const get = (): Promise<FederationPeer | undefined> =>
  client.get<FederationPeer>(Resources.FederationPeer, NAME);
const condOf = (p: FederationPeer | undefined, type: string): Condition | undefined =>
  p?.status?.conditions?.find((c) => c.type === type);

/** Makes the next round due now (a spec change is a new generation); returns that generation. */
async function syncNow(interval: number): Promise<number | undefined> {
  const p = await client.patch<FederationPeer>(
    Resources.FederationPeer,
    { name: NAME },
    { spec: { syncIntervalSeconds: interval } },
  );
  return p.metadata.generation;
}

beforeAll(async () => {
  client = await testClient();
  led = await startTestLedger("fedbad", { signingKeyPem: ourLog.privateKeyPem });
  ledger = led.ledger;
  await ledger.append({ type: "test.seed", subject: "seed", payload: { n: 1 } });
  peer = await startFaultPeer({
    origin: PEER_ORIGIN,
    witnessed: {
      origin: ledger.origin!,
      publicKeys: [ed25519Signer(ourLog.privateKeyPem).publicKey],
    },
    ownOrigin: ledger.origin!,
  });
  await client.create(Resources.Namespace, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: NAMESPACE },
  });
  mgr = new Manager({ client, logger: pino({ level: process.env.OPERATOR_LOG ?? "silent" }) });
  createFederationPeerController(mgr, {
    clock: systemClock,
    ledger: () => Promise.resolve(ledger),
    signer: ed25519Signer(ourLog.privateKeyPem),
    witnessKey: { signer: ourWitness },
    receiptNamespace: NAMESPACE,
    peerSelector: `${LABEL}=fedbad-${RUN}`,
    roundTimeoutMs: 10_000,
  });
  await mgr.start();
});

afterAll(async () => {
  await mgr?.stop();
  await client.delete(Resources.FederationPeer, { name: NAME }).catch(() => undefined);
  await client.delete(Resources.Namespace, { name: NAMESPACE }).catch(() => undefined);
  client.close();
  await peer?.close();
  await led?.stop();
});

describe("a FederationPeer that forks", () => {
  it("is Consistent=False Forked for good, with evidence in the ledger and on the cluster", async () => {
    const spec: FederationPeer = federationPeer(NAME)
      .labels({ [LABEL]: `fedbad-${RUN}` })
      .endpoint(peer.url)
      .origin(PEER_ORIGIN)
      .logKey("peer-log", pemOfVkey(peer.logVkey))
      .witnessKey(peer.witnessVkey)
      .syncEvery(30)
      .obj();
    await client.create(Resources.FederationPeer, spec);
    const honest = await waitFor("the first (honest) sync", async () => {
      const p = await get();
      return condOf(p, "Synced")?.status === "True" ? p : undefined;
    });
    expect(honest.status?.peerTreeSize).toBe(8);
    expect(condOf(honest, "Consistent")?.status).toBe("True");

    // The peer now serves size 8 with another root: a fork, signed by its own log key.
    peer.fault = Fault.ForkSameSize;
    await syncNow(31);
    const forked = await waitFor("Consistent=False Forked", async () => {
      const p = await get();
      return condOf(p, "Consistent")?.reason === "Forked" && p?.status?.inconsistency?.receipt
        ? p
        : undefined;
    });
    expect(condOf(forked, "Consistent")?.status).toBe("False");
    expect(condOf(forked, "Synced")).toMatchObject({ status: "False", reason: "Inconsistent" });
    expect(condOf(forked, "Ready")?.status).toBe("False");
    const inc = forked.status!.inconsistency!;
    expect(inc.reason).toBe("Forked");
    // The evidence receipt: in our ledger, and shown by a Receipt resource.
    const entry = await ledger.getByDigest(inc.digest!);
    expect(entry?.receipt.type).toBe("FederationInconsistent");
    const view = await client.get<Receipt>(Resources.Receipt, inc.receipt!.name, NAMESPACE);
    expect(view?.spec.type).toBe("FederationInconsistent");
    expect(view?.spec.digest).toBe(inc.digest);
    expect(view?.status?.logIndex).toBe(entry?.logIndex);
    await waitFor("a Warning Event FederationInconsistent", async () => {
      const evs = await client.list<KubeObject & { reason?: string; type?: string }>(
        Resources.Event,
        { namespace: "default", fieldSelector: `involvedObject.name=${NAME}` },
      );
      return evs.items.some((e) => e.reason === "FederationInconsistent" && e.type === "Warning");
    });

    // Honest again and grown: still inconsistent, never cosigned again, the same evidence.
    peer.fault = Fault.Honest;
    peer.size = 10;
    const generation = await syncNow(32);
    const later = await waitFor("a round after the peer turned honest", async () => {
      const p = await get();
      return p?.status?.observedGeneration === generation ? p : undefined;
    });
    expect(condOf(later, "Consistent")).toMatchObject({ status: "False", reason: "Forked" });
    expect(condOf(later, "Synced")?.reason).toBe("Inconsistent");
    expect(later.status?.peerTreeSize).toBe(8);
    expect(later.status?.inconsistency).toEqual(inc);
  });
});
