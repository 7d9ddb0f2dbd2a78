// Peer sync against a misbehaving peer (issue 11, "Bad input and attacks"): one test per attack,
// each against a real HTTP fault peer (test/harness/fault-peer.ts) and this ledger's real
// Postgres golden table. Every round ends in its reason within the client deadline, leaves the
// trusted checkpoint untouched, and the next round still runs (nothing crashed).
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { pino } from "pino";
import { Fault, startFaultPeer, type FaultPeer } from "../../test/harness/fault-peer.ts";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import { toBase64 } from "../ledger/canonical-json.ts";
import { parseVerifierKey } from "../ledger/checkpoint.ts";
import { systemClock } from "../ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../ledger/ed25519.ts";
import { Ledger } from "../ledger/ledger.ts";
import { buildProofApi } from "../ledger/proof-api.ts";
import { createWitness, type Witness } from "./cosignature.ts";
import {
  checkMisbehaviourEvidence,
  PeerSyncReason,
  syncPeer,
  type PeerConfig,
  type PeerSyncDeps,
  type PeerSyncOutcome,
} from "./peer-sync.ts";
import { WitnessClient } from "./witness-client.ts";
import { formatAddCheckpointRequest, WitnessReason } from "./witness-protocol.ts";
import { WitnessService } from "./witness-service.ts";

jest.setTimeout(120_000);

const OWN = "own.test/log";
const ownKey = ed25519Signer(generateEd25519().privateKeyPem);
const witness: Witness = createWitness(
  "own.test/witness",
  ed25519Signer(generateEd25519().privateKeyPem),
  [ownKey.publicKey],
);
const ownLog = { origin: OWN, publicKeys: [ownKey.publicKey] };

let server: PostgresServer;
let pool: pg.Pool;
let ledger: Ledger;
let deps: PeerSyncDeps;
const peers: FaultPeer[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: (await server.createDatabase("peersync")).url, max: 8 });
  pool.on("error", () => undefined);
  ledger = await Ledger.open({
    pool,
    clock: systemClock,
    logger: pino({ level: "silent" }),
    signer: ownKey,
    origin: OWN,
  });
  await appendReceipts(ledger, 5);
  deps = { pool, ledger, witness, clock: systemClock };
});
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  for (const c of closers) await c();
  await pool.end();
  await server.stop();
});

async function appendReceipts(l: Ledger, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await l.append({ type: "t", subject: `s-${Math.random()}`, payload: { i } });
  }
  await l.flush();
}

const golden = async (origin: string): Promise<unknown[]> =>
  (
    await pool.query<Record<string, string>>(
      `SELECT seq::text, tree_size::text, encode(root_hash, 'hex') AS root, note
         FROM ledger_witness_checkpoints WHERE origin = $1 ORDER BY seq`,
      [origin],
    )
  ).rows;

let n = 0;
/** A fault peer this ledger has synced with once, honestly: a trusted checkpoint exists. */
async function establish(
  client: PeerConfig["client"] = { timeoutMs: 3000 },
): Promise<{ peer: FaultPeer; cfg: PeerConfig; before: unknown[] }> {
  n += 1;
  const peer = await startFaultPeer({
    origin: `peer${n}.test/log`,
    witnessed: ownLog,
    ownOrigin: OWN,
  });
  peers.push(peer);
  const cfg: PeerConfig = {
    url: peer.url,
    origin: peer.origin,
    logVkeys: [peer.logVkey],
    witnessVkeys: [peer.witnessVkey],
    client,
  };
  const first = await syncPeer(deps, cfg);
  expect(first).toMatchObject({ reason: PeerSyncReason.Synced, synced: true });
  const before = await golden(peer.origin);
  expect(before).toHaveLength(1);
  return { peer, cfg, before };
}

/** The attack's outcome, after checking the golden table did not move. */
async function attack(
  peer: FaultPeer,
  cfg: PeerConfig,
  before: unknown[],
  fault: Fault,
): Promise<PeerSyncOutcome> {
  peer.fault = fault;
  const outcome = await syncPeer(deps, cfg);
  expect(await golden(peer.origin)).toEqual(before);
  expect(outcome.synced).toBe(false);
  return outcome;
}

/** After the attack stops, the next round runs normally (nothing crashed or stuck). */
async function recovers(peer: FaultPeer, cfg: PeerConfig): Promise<void> {
  peer.fault = Fault.Honest;
  peer.size += 2;
  const next = await syncPeer(deps, cfg);
  expect(next).toMatchObject({ reason: PeerSyncReason.Synced, synced: true });
  expect(next.trusted?.size).toBe(peer.size);
}

/** A quarantined peer stays so: honest again, it is still refused, pulled or pushed. */
async function staysQuarantined(
  peer: FaultPeer,
  cfg: PeerConfig,
  kind: "Forked" | "RolledBack",
): Promise<void> {
  peer.fault = Fault.Honest;
  peer.size += 2;
  const next = await syncPeer(deps, cfg);
  expect(next).toMatchObject({ reason: kind, quarantined: true, consistent: false });
  // The witness endpoint refuses the peer's pushes too: a validly signed, consistent push.
  const client = new WitnessClient({ url: peer.url });
  const trusted = next.trusted!;
  const { note, checkpoint } = await client.checkpoint();
  const proof = await client.consistencyProof(trusted.size, checkpoint.size);
  const service = new WitnessService({
    pool,
    witness,
    logs: new Map([
      [
        peer.origin,
        { origin: peer.origin, publicKeys: [toBase64(parseVerifierKey(peer.logVkey).publicKey)] },
      ],
    ]),
    clock: systemClock,
  });
  const res = await service.addCheckpoint(
    new TextEncoder().encode(formatAddCheckpointRequest({ oldSize: trusted.size, proof, note })),
  );
  expect(res.status).toBe(403);
  expect(res.reason).toBe(WitnessReason.Quarantined);
}

describe("peer sync attacks", () => {
  it("a fork at the same size (another root) quarantines the peer with checkable evidence", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.ForkSameSize);
    expect(out).toMatchObject({
      reason: PeerSyncReason.Forked,
      consistent: false,
      quarantined: true,
    });
    expect(checkMisbehaviourEvidence(out.evidence!, [peer.logVkey])).toMatchObject({
      ok: true,
      kind: "Forked",
    });
    // A third party pinning another key does not accept it.
    const other = await startFaultPeer({ origin: peer.origin });
    peers.push(other);
    expect(checkMisbehaviourEvidence(out.evidence!, [other.logVkey]).ok).toBe(false);
    await staysQuarantined(peer, cfg, "Forked");
  });

  it("a fork at a larger size (no valid consistency proof) is Forked with the failing proof", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.ForkLarger);
    expect(out).toMatchObject({ reason: PeerSyncReason.Forked, quarantined: true });
    expect(out.evidence?.proof).toMatchObject({ first: peer.size, second: peer.size + 4 });
    expect(checkMisbehaviourEvidence(out.evidence!, [peer.logVkey])).toMatchObject({ ok: true });
    await staysQuarantined(peer, cfg, "Forked");
  });

  it("a rolled-back log is RolledBack, quarantined, with evidence", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.RollBack);
    expect(out).toMatchObject({ reason: PeerSyncReason.RolledBack, quarantined: true });
    expect(checkMisbehaviourEvidence(out.evidence!, [peer.logVkey])).toMatchObject({
      ok: true,
      kind: "RolledBack",
    });
    await staysQuarantined(peer, cfg, "RolledBack");
  });

  it("a replayed old checkpoint is Replayed, not cosigned, and not held against the peer", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.ReplayCheckpoint);
    expect(out).toMatchObject({ reason: PeerSyncReason.Replayed, quarantined: false });
    await recovers(peer, cfg);
  });

  it("a flipped bit in the log signature is BadSignature", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.FlipSignatureBit);
    expect(out.reason).toBe(PeerSyncReason.BadSignature);
    await recovers(peer, cfg);
  });

  it("a note signed by an unknown key only is UnknownKey", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.UnknownKeyOnly);
    expect(out.reason).toBe(PeerSyncReason.UnknownKey);
    await recovers(peer, cfg);
  });

  it("a replayed cosignature (of our earlier checkpoint) is Replayed and not kept", async () => {
    const { peer, cfg, before } = await establish();
    const keptBefore = (await syncPeer(deps, cfg)).peerCosignedUs;
    await appendReceipts(ledger, 3);
    const out = await attack(peer, cfg, before, Fault.ReplayCosignature);
    expect(out.reason).toBe(PeerSyncReason.Replayed);
    // What is kept of us is still the earlier checkpoint (its first cosignature).
    expect(out.peerCosignedUs).toMatchObject({
      size: keptBefore!.size,
      rootHash: keptBefore!.rootHash,
    });
    expect(out.peerCosignedUs!.size).toBeLessThan((await ledger.latestTreeHead())!.treeSize);
    // The peer did store our newer checkpoint: the next push gets a 409 and retries from it.
    await recovers(peer, cfg);
  });

  it("a peer answering two callers differently (a split view) is Forked by the cross-check", async () => {
    const { peer, cfg, before } = await establish();
    // A second ledger (its own database and proof API with a witness) reaches the peer
    // through the other listener, and sees the other view.
    const db2 = await server.createDatabase("peersync2");
    const pool2 = new pg.Pool({ connectionString: db2.url, max: 4 });
    pool2.on("error", () => undefined);
    const key2 = ed25519Signer(generateEd25519().privateKeyPem);
    const ledger2 = await Ledger.open({
      pool: pool2,
      clock: systemClock,
      logger: pino({ level: "silent" }),
      signer: key2,
      origin: "own2.test/log",
    });
    const witness2 = createWitness(
      "own2.test/witness",
      ed25519Signer(generateEd25519().privateKeyPem),
      [key2.publicKey],
    );
    const api2: FastifyInstance = buildProofApi({
      ledger: ledger2,
      witness: new WitnessService({
        pool: pool2,
        witness: witness2,
        logs: new Map(),
        clock: systemClock,
      }),
    });
    const url2 = await api2.listen({ host: "127.0.0.1", port: 0 });
    closers.push(async () => {
      await api2.close();
      await pool2.end();
    });
    peer.fault = Fault.SplitView;
    const seenByOther = await syncPeer(
      { pool: pool2, ledger: ledger2, witness: witness2, clock: systemClock },
      { ...cfg, url: peer.urlB },
    );
    // It cosigned its view (its push is refused: the peer does not witness it).
    expect(seenByOther.trusted?.size).toBe(peer.size + 2);
    const out = await syncPeer(deps, { ...cfg, crossCheck: [url2] });
    expect(out).toMatchObject({ reason: PeerSyncReason.Forked, quarantined: true });
    expect(checkMisbehaviourEvidence(out.evidence!, [peer.logVkey])).toMatchObject({ ok: true });
    // Our own view was consistent and cosigned before the cross-check caught the split.
    expect((await golden(peer.origin)).length).toBe(before.length + 1);
  });

  it("a peer serving our own origin is OwnOrigin, and so is a peer pinned with it", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.OwnOrigin);
    expect(out.reason).toBe(PeerSyncReason.OwnOrigin);
    const asked = peer.requests.get("/v1/checkpoint");
    const pinned = await syncPeer(deps, { ...cfg, origin: OWN });
    expect(pinned).toMatchObject({ reason: PeerSyncReason.OwnOrigin, reachable: false });
    expect(peer.requests.get("/v1/checkpoint")).toBe(asked); // refused before any request
    await recovers(peer, cfg);
  });

  it("an oversized (chunked, over 16 KiB) answer is Oversized", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.Oversized);
    expect(out.reason).toBe(PeerSyncReason.Oversized);
    await recovers(peer, cfg);
  });

  it("a peer that never answers ends in Timeout at the deadline", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, { ...cfg, client: { timeoutMs: 300 } }, before, Fault.Slow);
    expect(out).toMatchObject({ reason: PeerSyncReason.Timeout, reachable: false });
    await recovers(peer, cfg);
  });

  it("a redirect is not followed: Redirected", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.Redirect);
    expect(out.reason).toBe(PeerSyncReason.Redirected);
    expect(peer.requests.get("/v1/checkpoint")).toBe(2); // the first sync and this one, once
    await recovers(peer, cfg);
  });

  it("a size past 2^53 is SizeTooLarge, never rounded", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.SizePast2p53);
    expect(out.reason).toBe(PeerSyncReason.SizeTooLarge);
    await recovers(peer, cfg);
  });

  it("a proof of more than 63 hashes is Oversized", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.TooManyProofHashes);
    expect(out.reason).toBe(PeerSyncReason.Oversized);
    await recovers(peer, cfg);
  });

  it("a note with more than 16 signatures is Oversized", async () => {
    const { peer, cfg, before } = await establish();
    const out = await attack(peer, cfg, before, Fault.TooManySignatures);
    expect(out.reason).toBe(PeerSyncReason.Oversized);
    await recovers(peer, cfg);
  });
});
