import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { pino } from "pino";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import type { ProofBundle } from "./bundle.ts";
import { fromHex } from "./canonical-json.ts";
import { parseCheckpoint, parseNote } from "./checkpoint.ts";
import { fixedClock } from "./clock.ts";
import { ed25519Signer, generateEd25519 } from "./ed25519.ts";
import { Ledger, type InclusionProof, type LedgerEntry } from "./ledger.ts";
import { rootOf } from "./merkle.ts";
import { verifyConsistency, verifyInclusion } from "./merkle-verify.ts";
import { buildProofApi } from "./proof-api.ts";
import type { SignedTreeHead } from "./tree-head.ts";
import { verifyBundle } from "./verify-bundle.ts";

// Starting a private Postgres can take seconds on a busy 2-core machine.
jest.setTimeout(60_000);

let server: PostgresServer;
let pool: pg.Pool;
let ledger: Ledger;
let app: FastifyInstance;

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: (await server.createDatabase("api")).url, max: 3 });
  pool.on("error", () => undefined);
  const signer = ed25519Signer(generateEd25519().privateKeyPem);
  ledger = await Ledger.open({
    pool,
    clock: fixedClock("2026-07-01T00:00:00Z", 1),
    logger: pino({ level: "silent" }),
    signer,
  });
  app = buildProofApi({ ledger });
});
afterAll(async () => {
  await app.close();
  await pool.end();
  await server.stop();
});

const get = async <T>(url: string): Promise<{ status: number; body: T; type: string }> => {
  const r = await app.inject({ method: "GET", url });
  return {
    status: r.statusCode,
    body: (r.headers["content-type"]?.includes("json") ? r.json() : r.body) as T,
    type: String(r.headers["content-type"]),
  };
};

describe("proof API", () => {
  it("answers 404 while the log is empty", async () => {
    expect((await get("/v1/tree-head")).status).toBe(404);
  });

  it("serves the tree head, checkpoint, entries and verifiable proofs", async () => {
    for (let i = 0; i < 7; i++)
      await ledger.append({ type: "t", subject: `s-${i}`, payload: { i } });
    const head = (await get<SignedTreeHead>("/v1/tree-head")).body;
    expect(head.treeSize).toBe(7);
    const cp = await get<string>("/v1/checkpoint");
    expect(cp.type).toMatch(/text\/plain/);
    expect(parseCheckpoint(parseNote(cp.body).body).size).toBe(7);

    const { entries } = (await get<{ entries: LedgerEntry[] }>("/v1/entries?start=0&end=7")).body;
    expect(entries.map((e) => e.logIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const leaves = entries.map((e) => fromHex(e.leafHash));

    const proof = (
      await get<InclusionProof>(`/v1/proof/inclusion?leafHash=${entries[3]!.leafHash}`)
    ).body;
    expect(
      verifyInclusion(
        3,
        7,
        leaves[3]!,
        proof.hashes.map((h) => fromHex(h)),
        fromHex(head.rootHash),
      ),
    ).toEqual({ ok: true });
    const older = (
      await get<InclusionProof>(`/v1/proof/inclusion?leafHash=${entries[3]!.leafHash}&treeSize=5`)
    ).body;
    expect(
      verifyInclusion(
        3,
        5,
        leaves[3]!,
        older.hashes.map((h) => fromHex(h)),
        rootOf(leaves.slice(0, 5)),
      ).ok,
    ).toBe(true);

    const cons = (await get<{ hashes: string[] }>("/v1/proof/consistency?first=3&second=7")).body;
    const res = verifyConsistency({
      size1: 3,
      size2: 7,
      root1: rootOf(leaves.slice(0, 3)),
      root2: fromHex(head.rootHash),
      proof: cons.hashes.map((h) => fromHex(h)),
    });
    expect(res).toEqual({ ok: true });

    const receipt = await get<LedgerEntry>(`/v1/receipts/${entries[2]!.receipt.digest}`);
    expect(receipt.body.logIndex).toBe(2);
    const bundle = (await get<ProofBundle>(`/v1/bundles/${entries[2]!.receipt.digest}`)).body;
    const report = await verifyBundle(bundle);
    expect(report.checks.filter((c) => c.ok).map((c) => c.link)).toEqual(
      expect.arrayContaining(["log entry", "inclusion proof", "tree head signature"]),
    );
  });

  it.each([
    ["/v1/entries?start=3&end=3", 400, /greater than start/],
    ["/v1/entries?start=0&end=5000", 400, /at most 1000/],
    ["/v1/entries?start=-1&end=2", 400, /start/],
    ["/v1/proof/inclusion?leafHash=xyz", 400, /leafHash/],
    [`/v1/proof/inclusion?leafHash=${"0".repeat(64)}`, 404, /no entry/],
    ["/v1/proof/consistency?first=5&second=3", 400, /first ≤ second/],
    ["/v1/proof/consistency?first=1&second=99", 400, /≤ 7/],
    [`/v1/receipts/sha256:${"0".repeat(64)}`, 404, /no receipt/],
    ["/v1/receipts/not-a-digest", 400, /digest/],
  ])("GET %s → %i", async (url, wantStatus, wantMessage) => {
    const r = await get<{ error?: string; message?: string }>(url);
    expect(r.status).toBe(wantStatus);
    expect(r.body.error ?? r.body.message).toMatch(wantMessage);
  });
});
