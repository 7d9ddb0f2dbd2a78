// Issue 11: the FederationPeer reconciler writes status when a sync cannot happen or fails —
// an unreachable peer (Reachable=False Unreachable, a Warning Event, the next round scheduled),
// a trust anchor naming our own origin (InvalidTrustAnchor, no round), an operator without a
// witness key (WitnessKeyMissing), and our own ledger failing mid-reconcile (RoundFailed,
// status still written once). Real apiserver, real Postgres, the real sync round.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { createServer, type Server } from "node:net";
import pg from "pg";
import { pino } from "pino";
import type { Condition, FederationPeer } from "../../crds/index.ts";
import { createFederationPeerController } from "../../operator/controllers/federationpeer/federationpeer-controller.ts";
import { Manager } from "../../operator/runtime/index.ts";
import { COSIGNATURE_V1_ALG, verifierKey } from "../../services/ledger/checkpoint.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../../services/ledger/ed25519.ts";
import { Ledger } from "../../services/ledger/ledger.ts";
import { Resources, type KubeClient, type KubeObject } from "../../services/kube/index.ts";
import { federationPeer } from "../builders/objects.ts";
import { waitFor } from "../harness/kube.ts";
import { startTestLedger, testClient, type TestLedger } from "./operator-env.ts";

jest.setTimeout(180_000);

const run = Math.random().toString(36).slice(2, 8);
const LABEL = "vaultmesh.cloud/test-run";
const selector = `${LABEL}=fedfail-${run}`;
const PEER_ORIGIN = `peer-${run}.test/vaultmesh`;
const peerLog = generateEd25519();
const peerWitness = ed25519Signer(generateEd25519().privateKeyPem);
const ourLog = generateEd25519();
const ourWitness = ed25519Signer(generateEd25519().privateKeyPem);

let led: TestLedger;
let ledger: Ledger;
let client: KubeClient;
let closedPort: number;
const managers: Manager[] = [];

/** A port nothing listens on (bound, then released). */
async function freeClosedPort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function peerObject(name: string, origin = PEER_ORIGIN): FederationPeer {
  const witness = Buffer.from(peerWitness.publicKey, "base64");
  return federationPeer(name)
    .labels({ [LABEL]: `fedfail-${run}` })
    .endpoint(`http://127.0.0.1:${closedPort}`)
    .origin(origin)
    .logKey(peerLog.keyId, peerLog.publicKeyPem)
    .witnessKey(verifierKey(`${PEER_ORIGIN}/witness`, witness, COSIGNATURE_V1_ALG))
    .syncEvery(10)
    .obj();
}

async function startController(opts: {
  ledger: () => Promise<Ledger>;
  witness?: boolean;
}): Promise<Manager> {
  const mgr = new Manager({
    client,
    logger: pino({ level: process.env.OPERATOR_LOG ?? "silent" }),
  });
  createFederationPeerController(mgr, {
    clock: systemClock,
    ledger: opts.ledger,
    signer: ed25519Signer(ourLog.privateKeyPem),
    witnessKey: opts.witness === false ? undefined : { signer: ourWitness },
    receiptNamespace: "default",
    peerSelector: selector,
    roundTimeoutMs: 5000,
  });
  await mgr.start();
  managers.push(mgr);
  return mgr;
}

const condOf = (p: FederationPeer | undefined, type: string): Condition | undefined =>
  p?.status?.conditions?.find((c) => c.type === type);

async function waitForCondition(
  name: string,
  type: string,
  status: string,
  reason: string,
): Promise<FederationPeer> {
  return await waitFor(`FederationPeer ${name} ${type}=${status} (${reason})`, async () => {
    const p = await client.get<FederationPeer>(Resources.FederationPeer, name);
    const c = condOf(p, type);
    return c?.status === status && c.reason === reason ? p : undefined;
  });
}

beforeAll(async () => {
  closedPort = await freeClosedPort();
  client = await testClient();
  led = await startTestLedger("fedfail", { signingKeyPem: ourLog.privateKeyPem });
  ledger = led.ledger;
  await ledger.append({ type: "test.seed", subject: "seed", payload: { n: 1 } });
});

afterAll(async () => {
  for (const m of managers) await m.stop();
  const peers = await client.list<FederationPeer>(Resources.FederationPeer, {
    labelSelector: selector,
  });
  for (const p of peers.items) {
    await client
      .delete(Resources.FederationPeer, { name: p.metadata.name ?? "" })
      .catch(() => undefined);
  }
  client.close();
  await led?.stop();
});

describe("FederationPeer status when a sync fails", () => {
  it("reports an unreachable peer and a trust anchor with our own origin", async () => {
    const mgr = await startController({ ledger: () => Promise.resolve(ledger) });
    await client.create(Resources.FederationPeer, peerObject(`down-${run}`));
    await client.create(Resources.FederationPeer, peerObject(`self-${run}`, ledger.origin));

    const down = await waitForCondition(`down-${run}`, "Reachable", "False", "Unreachable");
    expect(condOf(down, "Synced")).toMatchObject({ status: "False", reason: "Unreachable" });
    expect(condOf(down, "Ready")).toMatchObject({ status: "False", reason: "Unreachable" });
    expect(condOf(down, "Consistent")?.status).toBe("Unknown");
    expect(down.status?.observedGeneration).toBe(down.metadata.generation);
    expect(down.status?.lastAttemptTime).toBeDefined();
    expect(down.status?.lastSyncTime).toBeUndefined();
    // The next round is an interval (10 s ± 10%) after the attempt.
    const gap = Date.parse(down.status!.nextSyncTime!) - Date.parse(down.status!.lastAttemptTime!);
    expect(gap).toBeGreaterThanOrEqual(8_000);
    expect(gap).toBeLessThanOrEqual(12_000);
    // One Warning Event for the transition.
    await waitFor("a Warning Event Unreachable on the peer", async () => {
      const evs = await client.list<KubeObject & { reason?: string; type?: string }>(
        Resources.Event,
        { namespace: "default", fieldSelector: `involvedObject.name=down-${run}` },
      );
      return evs.items.some((e) => e.reason === "Unreachable" && e.type === "Warning");
    });

    const self = await waitForCondition(`self-${run}`, "Synced", "False", "InvalidTrustAnchor");
    expect(condOf(self, "Synced")?.message).toContain("spec.trustAnchor.origin");
    // No round ran: nothing about reachability is claimed.
    expect(condOf(self, "Reachable")).toBeUndefined();
    await mgr.stop();
  });

  it("reports a missing witness key, and our own ledger failing mid-reconcile", async () => {
    await startController({ ledger: () => Promise.resolve(ledger), witness: false });
    await client.create(Resources.FederationPeer, peerObject(`nokey-${run}`));
    const nokey = await waitForCondition(`nokey-${run}`, "Synced", "False", "WitnessKeyMissing");
    expect(condOf(nokey, "Synced")?.message).toContain("VAULTMESH_WITNESS_KEY_FILE");
    await managers.at(-1)!.stop();

    // A ledger whose database connection is gone: the reconcile fails, status is still written.
    const brokenPool = new pg.Pool({ connectionString: led.url, max: 1 });
    brokenPool.on("error", () => undefined); // an idle client may meet the teardown's drop
    const broken = await Ledger.open({
      pool: brokenPool,
      clock: systemClock,
      logger: pino({ level: "silent" }),
    });
    await brokenPool.end();
    await startController({ ledger: () => Promise.resolve(broken) });
    await client.create(Resources.FederationPeer, peerObject(`broken-${run}`));
    const failed = await waitForCondition(`broken-${run}`, "Synced", "False", "RoundFailed");
    expect(condOf(failed, "Ready")).toMatchObject({ status: "False", reason: "RoundFailed" });
    expect(failed.status?.nextSyncTime).toBeDefined();
  });
});
