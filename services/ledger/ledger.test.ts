import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { threadId as mainThreadId } from "node:worker_threads";
import pg from "pg";
import { pino } from "pino";
import {
  startPostgres,
  type PostgresServer,
  type TestDatabase,
} from "../../test/harness/postgres.ts";
import { verifyTimeStampResponse } from "../tsa/rfc3161-verify.ts";
import { generateTsaCredentials } from "../tsa/tsa-certs.ts";
import { createTsaResponder } from "../tsa/tsa-responder.ts";
import { localTimestamper } from "../tsa/timestamper.ts";
import { fromBase64, fromHex, toHex } from "./canonical-json.ts";
import { parseCheckpoint, verifyNote } from "./checkpoint.ts";
import { fixedClock } from "./clock.ts";
import { ed25519Signer, generateEd25519 } from "./ed25519.ts";
import { Ledger, type AppendResult } from "./ledger.ts";
import { hashLeaf, rootOf } from "./merkle.ts";
import { verifyConsistency, verifyInclusion } from "./merkle-verify.ts";
import { generateOpenPgpKey, openPgpSigner, verifyOpenPgpDetached } from "./openpgp-keys.ts";
import { canonicalBytes } from "./canonical-json.ts";
import { verifyReceiptSignatures } from "./receipt.ts";
import { threadedSigner } from "./threaded-signer.ts";
import { checkpointBody } from "./tree-head.ts";

// Starting a private Postgres and generating keys can take seconds on a busy 2-core machine.
jest.setTimeout(60_000);

const logger = pino({ level: "silent" });
const signer = ed25519Signer(generateEd25519().privateKeyPem);
const clock = fixedClock("2026-04-01T00:00:00Z", 1);
const origin = "vaultmesh.test/ledger";
let server: PostgresServer;
let db: TestDatabase;
let pool: pg.Pool;
let ledger: Ledger;

beforeAll(async () => {
  server = await startPostgres();
  db = await server.createDatabase("ledger");
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on("error", () => undefined); // idle clients die with the server at teardown
  ledger = await Ledger.open({ pool, clock, logger, signer, origin });
});
afterAll(async () => {
  await pool.end();
  await server.stop();
});

const input = (n: number, type = "workload.completed"): Parameters<Ledger["append"]>[0] => ({
  type,
  subject: { kind: "GPUWorkload", namespace: "tenant-a", name: `w-${n}`, uid: `uid-${n}` },
  payload: { attempt: 1, outcome: "Succeeded", gpuSeconds: n },
});

/** Checks an append result the way an outside verifier would: only hashes and keys. */
function expectVerifiable(r: AppendResult): void {
  const note = verifyNote(r.treeHead.checkpoint, [{ name: origin, publicKey: signer.publicKey }]);
  expect(note.ok).toBe(true);
  const cp = parseCheckpoint(note.ok ? note.body : "");
  expect(cp.size).toBe(r.proof.treeSize);
  const leaf = hashLeaf(canonicalBytes(r.receipt));
  expect(toHex(leaf)).toBe(r.entry.leafHash);
  const proof = r.proof.hashes.map((h) => fromHex(h));
  expect(verifyInclusion(r.entry.logIndex, r.proof.treeSize, leaf, proof, cp.root)).toEqual({
    ok: true,
  });
}

describe("Ledger on Postgres", () => {
  it("appends a signed receipt with a proof that verifies against the signed tree head", async () => {
    const r = await ledger.append(input(1));
    expect(r.existing).toBe(false);
    expect(r.entry.logIndex).toBe(0);
    expectVerifiable(r);
    expect((await ledger.getByDigest(r.receipt.digest))?.receipt).toEqual(r.receipt);
  });

  it("is idempotent by digest: a retry returns the first entry and receipt", async () => {
    const first = await ledger.append(input(2));
    const retry = await ledger.append(input(2));
    expect(retry.existing).toBe(true);
    expect(retry.entry).toEqual(first.entry);
    expect(retry.receipt.issuedAt).toBe(first.receipt.issuedAt);
    const both = await Promise.all([ledger.append(input(3)), ledger.append(input(3))]);
    expect(both[0].entry.logIndex).toBe(both[1].entry.logIndex);
    expectVerifiable(retry);
  });

  it("group-commits concurrent appends and every proof verifies", async () => {
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => ledger.append(input(100 + i))),
    );
    const heads = new Set(results.map((r) => r.treeHead.treeSize));
    expect(heads.size).toBeLessThan(results.length); // batched, not one commit per receipt
    results.forEach(expectVerifiable);
  });

  it("never forks when two processes append at once", async () => {
    const pool2 = new pg.Pool({ connectionString: db.url, max: 2 });
    pool2.on("error", () => undefined); // idle clients die with the server at teardown
    const other = await Ledger.open({ pool: pool2, clock, logger, signer, origin, maxBatch: 7 });
    try {
      await Promise.all([
        ...Array.from({ length: 120 }, (_, i) => ledger.append(input(1000 + i))),
        ...Array.from({ length: 120 }, (_, i) => other.append(input(2000 + i))),
        ...Array.from({ length: 40 }, (_, i) => other.append(input(1000 + i))), // same facts, other writer
      ]);
    } finally {
      await pool2.end();
    }
    const { rows } = await pool.query<{ log_index: string; leaf_hash: Buffer }>(
      "SELECT log_index, leaf_hash FROM ledger_entries ORDER BY log_index",
    );
    rows.forEach((r, i) => expect(Number(r.log_index)).toBe(i));
    const head = (await ledger.latestTreeHead())!;
    expect(head.treeSize).toBe(rows.length);
    expect(toHex(rootOf(rows.map((r) => new Uint8Array(r.leaf_hash))))).toBe(head.rootHash);
    const heads = await pool.query<{ tree_size: string; root_hash: Buffer }>(
      "SELECT tree_size, root_hash FROM ledger_tree_heads ORDER BY tree_size",
    );
    for (let i = 1; i < heads.rows.length; i++) {
      const [a, b] = [heads.rows[i - 1]!, heads.rows[i]!];
      const proof = await ledger.consistencyProof(Number(a.tree_size), Number(b.tree_size));
      const res = verifyConsistency({
        size1: Number(a.tree_size),
        size2: Number(b.tree_size),
        root1: new Uint8Array(a.root_hash),
        root2: new Uint8Array(b.root_hash),
        proof: proof.map((h) => fromHex(h)),
      });
      expect(res).toEqual({ ok: true });
    }
  });

  it("serves inclusion proofs for old entries from the stored tree", async () => {
    const head = (await ledger.latestTreeHead())!;
    const root = fromHex(head.rootHash);
    for (const index of [0, 1, 7, Math.floor(head.treeSize / 2), head.treeSize - 1]) {
      const entry = (await ledger.getByIndex(index))!;
      const proof = await ledger.inclusionProof(index);
      const res = verifyInclusion(
        index,
        head.treeSize,
        fromHex(entry.leafHash),
        proof.hashes.map((h) => fromHex(h)),
        root,
      );
      expect(res).toEqual({ ok: true });
    }
  });

  it("answers the same proofs from the in-memory tree, and falls back when another writer appends", async () => {
    const cached = await Ledger.open({ pool, clock, logger, signer, origin, cacheTree: true });
    const warm = (await cached.latestTreeHead())!.treeSize;
    expect(cached.store.cache?.size).toBe(warm);
    const compare = async (size: number): Promise<void> => {
      for (const i of [0, 3, Math.floor(size / 2), size - 1]) {
        expect(await cached.inclusionProof(i, size)).toEqual(await ledger.inclusionProof(i, size));
      }
      expect(await cached.consistencyProof(5, size)).toEqual(
        await ledger.consistencyProof(5, size),
      );
    };
    await compare(warm);
    await Promise.all(Array.from({ length: 20 }, (_, i) => cached.append(input(7000 + i))));
    expect(cached.store.cache?.size).toBe(warm + 20);
    await compare(warm + 20);
    await ledger.append(input(7100)); // another writer: the cache stops growing
    await cached.append(input(7101));
    expect(cached.store.cache?.size).toBe(warm + 20);
    await compare(warm + 22);
  });

  it("signs on a worker thread when given a threaded signer", async () => {
    const pem = generateEd25519().privateKeyPem;
    const threaded = threadedSigner(pem, 1);
    try {
      const l = await Ledger.open({ pool, clock, logger, signer: threaded, origin });
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => l.append(input(8000 + i))),
      );
      const keys = new Map([[threaded.keyId, threaded.publicKey]]);
      for (const r of results) {
        expect(verifyReceiptSignatures(r.receipt, keys)).toEqual([
          { keyId: threaded.keyId, ok: true },
        ]);
        expect(toHex(hashLeaf(canonicalBytes(r.receipt)))).toBe(r.entry.leafHash);
      }
      // Each of the 30 receipt signatures was made on a worker, by the worker's own account
      // of its thread id (tree heads are signed inline, and are not counted).
      const byThread = [...threaded.signaturesByThread()];
      expect(byThread).toEqual([[expect.any(Number), 30]]);
      expect(byThread[0]?.[0]).not.toBe(mainThreadId);
    } finally {
      await threaded.close();
    }
  });

  it.each([
    ["UPDATE ledger_entries SET type = 'x' WHERE log_index = 0"],
    ["DELETE FROM ledger_nodes"],
    ["UPDATE ledger_tree_heads SET checkpoint = ''"],
    ["TRUNCATE ledger_entries CASCADE"],
  ])("refuses %s (append-only)", async (sql) => {
    await expect(pool.query(sql)).rejects.toThrow(/append-only/);
  });

  it("publishes tree heads with an OpenPGP signature and an RFC 3161 token", async () => {
    const creds = await generateTsaCredentials(clock);
    const responder = await createTsaResponder({ credentials: creds, clock });
    const keys = await generateOpenPgpKey("Ledger", "ledger@vaultmesh.invalid");
    const publishing = await Ledger.open({
      pool,
      clock,
      logger,
      signer,
      origin,
      openpgp: await openPgpSigner(keys.privateKeyArmored),
      timestamper: localTimestamper(responder),
    });
    await publishing.append(input(5000));
    const head = (await publishing.publish())!;
    const body = checkpointBody(head.checkpoint);
    expect(
      await verifyOpenPgpDetached(body, head.stamp!.openpgpSignature!, [keys.publicKeyArmored]),
    ).toMatchObject({ ok: true });
    const tsa = await verifyTimeStampResponse(fromBase64(head.stamp!.timestampToken!), {
      data: body,
      trustedPem: [creds.caCertificatePem],
    });
    expect(tsa.ok).toBe(true);
    expect((await publishing.publishedHeadCovering(0))?.treeSize).toBe(head.treeSize);
    expect((await publishing.trust()).tsa).toEqual([creds.caCertificatePem]);
  });
});
