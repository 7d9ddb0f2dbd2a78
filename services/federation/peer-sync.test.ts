// Peer sync between two real ledgers (two databases, two proof APIs with witness endpoints on
// loopback) syncing both ways while both append; and the pure misbehaviour-evidence checker.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { pino } from "pino";
import { merkleLog } from "../../test/builders/merkle-log.ts";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import { fromBase64, toBase64 } from "../ledger/canonical-json.ts";
import { formatCheckpoint, signNote, verifierKey } from "../ledger/checkpoint.ts";
import { systemClock } from "../ledger/clock.ts";
import { ed25519Signer, generateEd25519, type Ed25519Signer } from "../ledger/ed25519.ts";
import { Ledger } from "../ledger/ledger.ts";
import type { Hash } from "../ledger/merkle.ts";
import { buildProofApi } from "../ledger/proof-api.ts";
import { createWitness, verifyCosignedCheckpoint, type Witness } from "./cosignature.ts";
import {
  checkMisbehaviourEvidence,
  PeerSyncReason,
  syncPeer,
  type MisbehaviourEvidence,
  type PeerConfig,
  type PeerSyncDeps,
} from "./peer-sync.ts";
import { parseWitnessTrust, WitnessService } from "./witness-service.ts";

jest.setTimeout(120_000);

interface Node {
  readonly origin: string;
  readonly key: Ed25519Signer;
  readonly witness: Witness;
  readonly pool: pg.Pool;
  readonly ledger: Ledger;
  readonly api: FastifyInstance;
  readonly url: string;
  readonly deps: PeerSyncDeps;
  readonly vkey: string;
}

let server: PostgresServer;
let a: Node;
let b: Node;

async function node(origin: string, peerVkey: () => string, entries = 3): Promise<Node> {
  const pool = new pg.Pool({ connectionString: (await server.createDatabase("fed")).url, max: 8 });
  pool.on("error", () => undefined);
  const key = ed25519Signer(generateEd25519().privateKeyPem);
  const witness = createWitness(
    `${origin}/witness`,
    ed25519Signer(generateEd25519().privateKeyPem),
    [key.publicKey],
  );
  const ledger = await Ledger.open({
    pool,
    clock: systemClock,
    logger: pino({ level: "silent" }),
    signer: key,
    origin,
  });
  await append(ledger, entries);
  // The witness endpoint's trust is read lazily: both nodes' keys exist only after both start.
  const service = {
    addCheckpoint: (body: Uint8Array) =>
      new WitnessService({
        pool,
        witness,
        logs: parseWitnessTrust(`${peerVkey()}\n`, origin),
        clock: systemClock,
      }).addCheckpoint(body),
    latest: (o: string) =>
      new WitnessService({ pool, witness, logs: new Map(), clock: systemClock }).latest(o),
  };
  const api = buildProofApi({ ledger, witness: service });
  const url = await api.listen({ host: "127.0.0.1", port: 0 });
  return {
    origin,
    key,
    witness,
    pool,
    ledger,
    api,
    url,
    deps: { pool, ledger, witness, clock: systemClock },
    vkey: verifierKey(origin, fromBase64(key.publicKey)),
  };
}

async function append(l: Ledger, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await l.append({ type: "t", subject: `s-${Math.random()}`, payload: { i } });
  }
  await l.flush();
}

const peerOf = (n: Node): PeerConfig => ({
  url: n.url,
  origin: n.origin,
  logVkeys: [n.vkey],
  witnessVkeys: [n.witness.vkey],
  client: { timeoutMs: 5000 },
});

beforeAll(async () => {
  server = await startPostgres();
  a = await node("a.test/ledger", () => b.vkey);
  b = await node("b.test/ledger", () => a.vkey);
});
afterAll(async () => {
  for (const n of [a, b]) {
    await n.api.close();
    await n.pool.end();
  }
  await server.stop();
});

const size = async (n: Node): Promise<number> => (await n.ledger.latestTreeHead())!.treeSize;

describe("peer sync between two ledgers", () => {
  it("syncs both ways: each cosigns the other, each keeps the other's cosignature of itself", async () => {
    const ab = await syncPeer(a.deps, peerOf(b));
    expect(ab).toMatchObject({ reason: PeerSyncReason.Synced, synced: true, consistent: true });
    expect(ab.trusted?.size).toBe(await size(b));
    expect(ab.peerCosignedUs?.size).toBe(await size(a));
    // A's checkpoint carries B's witness cosignature, which verifies under B's pinned key.
    const cosigned = verifyCosignedCheckpoint(
      ab.peerCosignedUs!.note,
      { origin: a.origin, publicKeys: [a.key.publicKey] },
      [{ name: b.witness.name, publicKey: b.witness.publicKey }],
      new Date(),
    );
    expect(cosigned).toMatchObject({ ok: true, cosignatures: [{ name: b.witness.name }] });
    // A's golden checkpoint of B carries A's cosignature.
    const golden = verifyCosignedCheckpoint(
      ab.trusted!.note,
      { origin: b.origin, publicKeys: [b.key.publicKey] },
      [{ name: a.witness.name, publicKey: a.witness.publicKey }],
      new Date(),
    );
    expect(golden).toMatchObject({ ok: true, cosignatures: [{ name: a.witness.name }] });

    const ba = await syncPeer(b.deps, peerOf(a));
    expect(ba).toMatchObject({ reason: PeerSyncReason.Synced, synced: true });
    expect(ba.trusted?.size).toBe(await size(a));
    expect(ba.peerCosignedUs?.size).toBe(await size(b));
  });

  it("a peer whose log is still empty is not cosigned, and still cosigns us", async () => {
    const c = await node("c.test/ledger", () => a.vkey, 0);
    try {
      const ac = await syncPeer(a.deps, peerOf(c));
      expect(ac).toMatchObject({ reason: PeerSyncReason.Synced, synced: true });
      expect(ac.trusted).toBeUndefined();
      expect(ac.peerCosignedUs?.size).toBe(await size(a));
    } finally {
      await c.api.close();
      await c.pool.end();
    }
  });

  it("keeps syncing while both append, rounds of both sides running at the same time", async () => {
    for (let round = 0; round < 8; round++) {
      const [ab, ba] = await Promise.all([
        syncPeer(a.deps, peerOf(b)),
        syncPeer(b.deps, peerOf(a)),
        append(a.ledger, 2),
        append(b.ledger, 3),
      ]);
      // Each side's reason and message, so that a failure prints why.
      expect([ab, ba].map((o) => `${o.reason}: ${o.message}`)).toEqual([
        expect.stringMatching(new RegExp(`^${PeerSyncReason.Synced}: `)),
        expect.stringMatching(new RegExp(`^${PeerSyncReason.Synced}: `)),
      ]);
    }
    // Quiet now: one more round each and both views are the other's latest.
    const ab = await syncPeer(a.deps, peerOf(b));
    const ba = await syncPeer(b.deps, peerOf(a));
    expect([ab.trusted?.size, ba.trusted?.size]).toEqual([await size(b), await size(a)]);
    expect([ab.peerCosignedUs?.size, ba.peerCosignedUs?.size]).toEqual([
      await size(a),
      await size(b),
    ]);
    // Append-only history: golden sizes only grow, per origin.
    const { rows } = await a.pool.query<{ tree_size: string }>(
      "SELECT tree_size::text FROM ledger_witness_checkpoints WHERE origin = $1 ORDER BY seq",
      [b.origin],
    );
    const sizes = rows.map((r) => Number(r.tree_size));
    expect(sizes).toEqual([...sizes].sort((x, y) => x - y));
    expect(new Set(sizes).size).toBe(sizes.length);
  });

  it("pushes again when the peer's witness moves twice during one push (the peer pulls meanwhile)", async () => {
    // In step: B's golden size of A is the size A kept B's cosignature of.
    expect(await syncPeer(a.deps, peerOf(b))).toMatchObject({ reason: PeerSyncReason.Synced });
    // B pulls a newer A: B's golden size of A is now ahead of the size A kept.
    await append(a.ledger, 2);
    expect(await syncPeer(b.deps, peerOf(a))).toMatchObject({ reason: PeerSyncReason.Synced });
    await append(a.ledger, 2);
    // A pushes from its kept size (409: B's size) and again from B's size, but B pulls A's
    // newest before that second request arrives, so it is answered 409 too: both are legitimate.
    let posts = 0;
    const racing: typeof fetch = async (input, init) => {
      if (init?.method === "POST" && ++posts === 2) {
        expect(await syncPeer(b.deps, peerOf(a))).toMatchObject({
          reason: PeerSyncReason.Synced,
        });
      }
      return await fetch(input, init);
    };
    const ab = await syncPeer(a.deps, { ...peerOf(b), client: { timeoutMs: 5000, fetch: racing } });
    expect(`${ab.reason}: ${ab.message}`).toMatch(new RegExp(`^${PeerSyncReason.Synced}: `));
    expect(posts).toBe(3);
    expect(ab.peerCosignedUs?.size).toBe(await size(a));
  });
});

// --- the evidence checker (pure) ---

const ORIGIN = "log.test/x";
const logKey = ed25519Signer(generateEd25519().privateKeyPem);
const otherKey = ed25519Signer(generateEd25519().privateKeyPem);
const vkey = verifierKey(ORIGIN, fromBase64(logKey.publicKey));

const tree = (
  leaf: (i: number) => string,
): { root: (n: number) => Hash; proof: (m: number, n: number) => string[] } => {
  const log = merkleLog(leaf, 32);
  return { root: (n) => log.root(n), proof: (m, n) => log.proof(m, n).map(toBase64) };
};
const main = tree((i) => `e${i}`);
const fork = tree((i) => (i < 3 ? `e${i}` : `f${i}`));
const note = (t: typeof main, n: number, key = logKey): string =>
  signNote(
    formatCheckpoint({ origin: ORIGIN, size: n, root: t.root(n), extensions: [] }),
    ORIGIN,
    key,
  );

const ev = (e: Partial<MisbehaviourEvidence>): MisbehaviourEvidence => ({
  kind: "Forked",
  origin: ORIGIN,
  logVkeys: [vkey],
  trustedNote: note(main, 8),
  offeredNote: note(fork, 8),
  detectedAt: "2026-12-03T00:00:00.000Z",
  detail: "test",
  ...e,
});

describe("checkMisbehaviourEvidence", () => {
  it.each<[string, MisbehaviourEvidence, boolean]>([
    ["same size, two roots", ev({}), true],
    ["same size, same root", ev({ offeredNote: note(main, 8) }), false],
    [
      "larger, failing proof",
      ev({
        offeredNote: note(fork, 12),
        proof: { first: 8, second: 12, hashes: fork.proof(8, 12) },
      }),
      true,
    ],
    [
      "larger, valid proof",
      ev({
        offeredNote: note(main, 12),
        proof: { first: 8, second: 12, hashes: main.proof(8, 12) },
      }),
      false,
    ],
    ["larger, no proof", ev({ offeredNote: note(fork, 12) }), false],
    [
      "proof for other sizes",
      ev({
        offeredNote: note(fork, 12),
        proof: { first: 4, second: 12, hashes: fork.proof(4, 12) },
      }),
      false,
    ],
    ["rolled back, no proof", ev({ kind: "RolledBack", offeredNote: note(main, 5) }), true],
    [
      "rolled back, valid proof (a replay)",
      ev({
        kind: "RolledBack",
        offeredNote: note(main, 5),
        proof: { first: 5, second: 8, hashes: main.proof(5, 8) },
      }),
      false,
    ],
    ["rolled back but larger", ev({ kind: "RolledBack", offeredNote: note(main, 12) }), false],
    ["offered note by another key", ev({ offeredNote: note(fork, 8, otherKey) }), false],
    ["the fork kind for a same-size rollback", ev({ kind: "RolledBack" }), false],
  ])("%s", (_name, evidence, wantOk) => {
    expect(checkMisbehaviourEvidence(evidence, [vkey]).ok).toBe(wantOk);
  });

  it("checks against the checker's own pinned key, not the evidence's", () => {
    const forged = ev({
      logVkeys: [verifierKey(ORIGIN, fromBase64(otherKey.publicKey))],
      trustedNote: note(main, 8, otherKey),
      offeredNote: note(fork, 8, otherKey),
    });
    expect(checkMisbehaviourEvidence(forged, [vkey]).ok).toBe(false);
    expect(checkMisbehaviourEvidence(forged, forged.logVkeys).ok).toBe(true);
  });
});
