import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import pg from "pg";
import { pino } from "pino";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import { generateTsaCredentials } from "../tsa/tsa-certs.ts";
import { createTsaResponder } from "../tsa/tsa-responder.ts";
import { localTimestamper } from "../tsa/timestamper.ts";
import { exportBundle, type ProofBundle } from "./bundle.ts";
import { fromBase64, toBase64 } from "./canonical-json.ts";
import { fixedClock } from "./clock.ts";
import { ed25519Signer, generateEd25519 } from "./ed25519.ts";
import { Ledger } from "./ledger.ts";
import { generateOpenPgpKey, openPgpSigner } from "./openpgp-keys.ts";
import { emptyTrust, type TrustBundle } from "./trust-bundle.ts";
import { auditLedger } from "./verify-audit.ts";
import { verifyBundle } from "./verify-bundle.ts";

// Starting a private Postgres and generating keys can take seconds on a busy 2-core machine.
jest.setTimeout(60_000);

const logger = pino({ level: "silent" });
const clock = fixedClock("2026-05-01T00:00:00Z", 1000);
const signer = ed25519Signer(generateEd25519().privateKeyPem);
let server: PostgresServer;
let trust: TrustBundle;
let ledgerFor: (name: string) => Promise<{ ledger: Ledger; pool: pg.Pool; url: string }>;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  server = await startPostgres();
  const creds = await generateTsaCredentials(clock);
  const timestamper = localTimestamper(await createTsaResponder({ credentials: creds, clock }));
  const openpgp = await openPgpSigner(
    (await generateOpenPgpKey("T", "t@vaultmesh.invalid")).privateKeyArmored,
  );
  ledgerFor = async (name) => {
    const db = await server.createDatabase(name);
    const pool = new pg.Pool({ connectionString: db.url, max: 3 });
    pool.on("error", () => undefined); // idle clients die with the server at teardown
    pools.push(pool);
    const ledger = await Ledger.open({
      pool,
      clock,
      logger,
      signer,
      openpgp,
      timestamper,
      origin: "vaultmesh.test/tamper",
    });
    return { ledger, pool, url: db.url };
  };
  const { ledger } = await ledgerFor("trust");
  trust = await ledger.trust();
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server.stop();
});

async function filledLedger(name: string, n = 12): Promise<{ ledger: Ledger; pool: pg.Pool }> {
  const l = await ledgerFor(name);
  for (let batch = 0; batch < 3; batch++) {
    await Promise.all(
      Array.from({ length: n / 3 }, (_, i) =>
        l.ledger.append({
          type: "deploy",
          subject: `svc-${batch}-${i}`,
          payload: { version: `v${batch}.${i}` },
        }),
      ),
    );
  }
  await l.ledger.publish();
  return l;
}

function flipB64(b64: string, at = 10): string {
  const bytes = fromBase64(b64);
  bytes[((at % bytes.length) + bytes.length) % bytes.length]! ^= 0x01;
  return toBase64(bytes);
}

describe("verify-full on a proof bundle", () => {
  let bundle: ProofBundle;
  beforeAll(async () => {
    const { ledger } = await filledLedger("bundle");
    bundle = await exportBundle(ledger, { logIndex: 5 });
  });

  it("passes every link of an untouched bundle", async () => {
    const r = await verifyBundle(bundle, trust);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.checks.map((c) => c.link)).toEqual([
      "receipt digest",
      `receipt signature (Ed25519 ${signer.keyId.slice(0, 16)})`,
      "log entry",
      "inclusion proof",
      "tree head signature",
      "tree head OpenPGP signature",
      "RFC 3161 timestamp",
    ]);
    expect(r.ok).toBe(true);
  });

  const sigPrefix = "receipt signature";
  it.each<[string, (b: ProofBundle) => ProofBundle, string]>([
    [
      "the payload",
      (b) => ({ ...b, receipt: { ...b.receipt, payload: { version: "evil" } } }),
      "receipt digest",
    ],
    [
      "the receipt signature",
      (b) => ({
        ...b,
        receipt: {
          ...b.receipt,
          signatures: b.receipt.signatures.map((s) => ({ ...s, value: flipB64(s.value) })),
        },
      }),
      sigPrefix,
    ],
    [
      "the issue time",
      (b) => ({ ...b, receipt: { ...b.receipt, issuedAt: "2020-01-01T00:00:00.000Z" } }),
      sigPrefix,
    ],
    [
      "the leaf hash",
      (b) => ({ ...b, entry: { ...b.entry, leafHash: "00".repeat(32) } }),
      "log entry",
    ],
    [
      "the log index",
      (b) => ({ ...b, entry: { ...b.entry, logIndex: b.entry.logIndex + 1 } }),
      "inclusion proof",
    ],
    [
      "a proof hash",
      (b) => ({
        ...b,
        inclusionProof: {
          ...b.inclusionProof,
          // change the first character whatever it is (a hash that already began with f went
          // through unchanged and the test failed one run in sixteen)
          hashes: b.inclusionProof.hashes.map((h, i) =>
            i === 0 ? `${h.startsWith("f") ? "e" : "f"}${h.slice(1)}` : h,
          ),
        },
      }),
      "inclusion proof",
    ],
    [
      "the tree-head signature",
      (b) => ({
        ...b,
        treeHead: {
          ...b.treeHead,
          checkpoint: b.treeHead.checkpoint.replace(
            / (\S+)\n$/,
            (_m, s: string) => ` ${flipB64(s, 20)}\n`,
          ),
        },
      }),
      "tree head signature",
    ],
    [
      "the checkpoint's size",
      (b) => ({
        ...b,
        treeHead: { ...b.treeHead, checkpoint: b.treeHead.checkpoint.replace(/\n12\n/, "\n13\n") },
      }),
      "tree head signature",
    ],
    [
      "the OpenPGP signature",
      (b) => ({
        ...b,
        treeHead: {
          ...b.treeHead,
          openpgpSignature: b.treeHead.openpgpSignature!.replace(
            /\n([A-Za-z0-9+/]{20})/,
            "\nAAAAAAAAAAAAAAAAAAAA",
          ),
        },
      }),
      "tree head OpenPGP signature",
    ],
    [
      "the TSA token",
      (b) => ({
        ...b,
        treeHead: { ...b.treeHead, timestampToken: flipB64(b.treeHead.timestampToken!, -40) },
      }),
      "RFC 3161 timestamp",
    ],
    [
      "a missing TSA token",
      (b) => ({
        ...b,
        treeHead: {
          checkpoint: b.treeHead.checkpoint,
          openpgpSignature: b.treeHead.openpgpSignature!,
        },
      }),
      "RFC 3161 timestamp",
    ],
  ])("fails when %s is tampered with, naming the link", async (_what, mutate, wantLink) => {
    const r = await verifyBundle(mutate(bundle), trust);
    expect(r.ok).toBe(false);
    const failed = r.checks.filter((c) => !c.ok).map((c) => c.link);
    expect(failed.some((l) => l.startsWith(wantLink))).toBe(true);
  });

  it("fails every signature link against someone else's keys", async () => {
    const stranger = {
      ...emptyTrust(),
      ed25519: [{ keyId: "x".repeat(64), publicKey: toBase64(new Uint8Array(32)) }],
    };
    const r = await verifyBundle(bundle, stranger);
    const failed = r.checks.filter((c) => !c.ok).map((c) => c.link);
    expect(failed).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^receipt signature/),
        "tree head signature",
        "tree head OpenPGP signature",
        "RFC 3161 timestamp",
      ]),
    );
  });
});

describe("verify-audit", () => {
  it("verifies an untouched ledger", async () => {
    const { pool } = await filledLedger("audit-ok");
    const r = await auditLedger({ pool, trust, signatures: true });
    expect(r).toMatchObject({ ok: true, treeSize: 12 });
  });

  // A superuser can bypass the append-only triggers; the audit must still notice.
  const bypass = async (pool: pg.Pool, sql: string): Promise<void> => {
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      await c.query("SET LOCAL session_replication_role = replica");
      await c.query(sql);
      await c.query("COMMIT");
    } finally {
      c.release();
    }
  };

  it.each<[string, string, number, RegExp]>([
    [
      "a changed receipt",
      "UPDATE ledger_entries SET receipt = convert_to(replace(convert_from(receipt, 'UTF8'), 'v1.2', 'v9.9'), 'UTF8') WHERE log_index = 6",
      6,
      /entry 6: leaf hash/,
    ],
    [
      "a receipt and leaf hash changed together",
      "UPDATE ledger_entries SET leaf_hash = sha256('\\x00'::bytea || convert_to(replace(convert_from(receipt, 'UTF8'), 'v1.2', 'v9.9'), 'UTF8')), receipt = convert_to(replace(convert_from(receipt, 'UTF8'), 'v1.2', 'v9.9'), 'UTF8') WHERE log_index = 6",
      6,
      /entry 6: receipt digest/,
    ],
    ["a deleted entry", "DELETE FROM ledger_entries WHERE log_index = 3", 3, /entry 3 is missing/],
    [
      "a rewritten tree node",
      "UPDATE ledger_nodes SET hash = sha256(hash) WHERE level = 1 AND idx = 2",
      4,
      /tree node \(level 1, index 2\)/,
    ],
    [
      "a forged tree head root",
      "UPDATE ledger_tree_heads SET root_hash = sha256(root_hash) WHERE tree_size = 8",
      5,
      /tree head 8/,
    ],
  ])("reports %s with the first bad entry", async (name, sql, wantIndex, wantReason) => {
    const { pool } = await filledLedger(`audit-${name.replace(/\W+/g, "-")}`);
    await bypass(pool, sql);
    const r = await auditLedger({ pool, trust });
    expect(r.ok).toBe(false);
    expect(r.firstBadIndex).toBe(wantIndex);
    expect(r.checks.at(-1)?.detail).toMatch(wantReason);
  });
});
