import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { pino } from "pino";
import { parse } from "yaml";
import { startPostgres, type PostgresServer } from "../../../test/harness/postgres.ts";
import { FederationPeerSchema } from "../../../crds/federationpeer.ts";
import { addCosignature, createWitness, type Witness } from "../../federation/cosignature.ts";
import {
  FederationReceiptService,
  proposeFederationReceipt,
  type ProposalOutcome,
} from "../../federation/federation-receipt-service.ts";
import { FEDERATION_SYNCED } from "../../federation/federation-receipt.ts";
import { buildMisbehaviourReceiptInput } from "../../federation/misbehaviour-receipt.ts";
import { keepPeerCosignature } from "../../federation/peer-store.ts";
import { WitnessService } from "../../federation/witness-service.ts";
import { fromBase64, toBase64 } from "../canonical-json.ts";
import {
  formatCheckpoint,
  parseCheckpoint,
  parseNote,
  signNote,
  verifierKey,
} from "../checkpoint.ts";
import { exportBundle } from "../bundle.ts";
import { fixedClock } from "../clock.ts";
import { ed25519Signer, type Ed25519Signer } from "../ed25519.ts";
import { Ledger } from "../ledger.ts";
import { openPgpSigner } from "../openpgp-keys.ts";
import { buildProofApi } from "../proof-api.ts";
import { httpTimestamper } from "../../tsa/timestamper.ts";
import { testCli, type TestCli } from "./cli-test-io.ts";

// Two ledgers, keys, a TSA and a private Postgres take seconds on a busy 2-core machine.
jest.setTimeout(120_000);

const ORIGIN_A = "a.example/log";
const ORIGIN_B = "b.example/log";
const clock = fixedClock("2026-06-01T10:00:00Z", 1000);
const logger = pino({ level: "silent" });

interface Side {
  readonly origin: string;
  readonly dir: string;
  readonly db: string;
  readonly pool: pg.Pool;
  readonly ledger: Ledger;
  readonly signer: Ed25519Signer;
  readonly witness: Witness;
  readonly witnessService: WitnessService;
  readonly logVkey: string;
  /** The peer logs its witness trusts (filled in once both sides exist). */
  readonly logs: Map<string, { origin: string; publicKeys: string[] }>;
}

let dir: string;
let server: PostgresServer;
let tsaUrl: string;
const stop = new AbortController();
let tsaDone: Promise<number>;
let t: TestCli;
let a: Side;
let b: Side;
let apiB: FastifyInstance;
let urlB: string;
let proposed: ProposalOutcome;
const cli = (...args: string[]): ReturnType<TestCli["run"]> => t.run(...args);

async function side(origin: string, name: string): Promise<Side> {
  const db = (await server.createDatabase(name)).url;
  expect((await cli("keygen", "--dir", name, "--origin", origin)).code).toBe(0);
  const init = await cli(
    "federation",
    "init",
    "--key-dir",
    name,
    "--db",
    db,
    "--origin",
    origin,
    "--json",
  );
  expect(init.code).toBe(0);
  const printed = JSON.parse(init.out) as { origin: string; logKey: string; witnessKey: string };
  const pool = new pg.Pool({ connectionString: db, max: 4 });
  pool.on("error", () => undefined);
  const signer = ed25519Signer(readFileSync(join(dir, name, "ed25519.key"), "utf8"));
  const ca = readFileSync(join(dir, "tsa", "tsa-ca.crt"), "utf8");
  const ledger = await Ledger.open({
    pool,
    clock,
    logger,
    signer,
    openpgp: await openPgpSigner(readFileSync(join(dir, name, "openpgp.key"), "utf8")),
    timestamper: httpTimestamper(tsaUrl, { certificatesPem: [ca] }),
  });
  const witnessSigner = ed25519Signer(readFileSync(join(dir, name, "witness.key"), "utf8"));
  const witness = createWitness(`${origin}/witness`, witnessSigner, [signer.publicKey]);
  expect(printed).toMatchObject({ origin, witnessKey: witness.vkey });
  const logs = new Map<string, { origin: string; publicKeys: string[] }>();
  return {
    origin,
    dir: name,
    db,
    pool,
    ledger,
    signer,
    witness,
    witnessService: new WitnessService({ pool, witness, logs, clock }),
    logVkey: printed.logKey,
    logs,
  };
}

/** `from`'s latest checkpoint cosigned by `by`'s witness (an add-checkpoint from size 0). */
async function cosign(from: Side, by: Side): Promise<string> {
  const head = (await from.ledger.latestTreeHead())!;
  const r = await by.witnessService.addCheckpoint(
    new TextEncoder().encode(`old 0\n\n${head.checkpoint}`),
  );
  expect(r.status).toBe(200);
  return addCosignature(head.checkpoint, r.body);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remembrancer-fed-"));
  server = await startPostgres();
  t = testCli(dir, () => ({}), stop.signal);
  const tsa = await t.start(
    ["tsa", "serve", "--port", "0", "--dir", "tsa"],
    /TSA listening on (\S+)/,
  );
  tsaUrl = tsa.match[1]!;
  tsaDone = tsa.done;
  a = await side(ORIGIN_A, "a");
  b = await side(ORIGIN_B, "b");
  a.logs.set(ORIGIN_B, { origin: ORIGIN_B, publicKeys: [b.signer.publicKey] });
  b.logs.set(ORIGIN_A, { origin: ORIGIN_A, publicKeys: [a.signer.publicKey] });
  for (const s of [a, b]) {
    for (let i = 0; i < 5; i++)
      await s.ledger.append({ type: "deploy", subject: `${s.dir}-${i}`, payload: { i } });
  }
  // The sync: each witness cosigns the other's checkpoint; A keeps B's cosignature of A.
  const ownNote = await cosign(a, b);
  await cosign(b, a);
  const peerNote = (await a.witnessService.latest(ORIGIN_B))!.note;
  const cp = parseCheckpoint(parseNote(ownNote).body);
  await keepPeerCosignature(
    a.pool,
    ORIGIN_B,
    { size: cp.size, root: cp.root, note: ownNote, cosignedAt: 1_780_000_000 },
    clock.now(),
  );
  apiB = buildProofApi({
    ledger: b.ledger,
    logger,
    witness: b.witnessService,
    federation: new FederationReceiptService({
      ledger: b.ledger,
      pool: b.pool,
      witnessKey: b.witness.vkey,
      peers: new Map([[ORIGIN_A, { origin: ORIGIN_A, logKeys: [a.logVkey] }]]),
      clock,
    }),
  });
  urlB = await apiB.listen({ port: 0, host: "127.0.0.1" });
  proposed = await proposeFederationReceipt(
    { ledger: a.ledger, pool: a.pool, witnessKey: a.witness.vkey, clock, signer: a.signer },
    urlB,
    { origin: ORIGIN_B, logKeys: [b.logVkey], witnessKey: b.witness.vkey },
    { ownNote, peerNote },
  );
});

afterAll(async () => {
  await apiB?.close();
  stop.abort();
  await tsaDone;
  await Promise.all([a?.pool.end(), b?.pool.end()]);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the federation receipt between two ledgers", () => {
  it("ends with the same digest in both ledgers, each entry signed by its own log key", async () => {
    expect(proposed).toMatchObject({ ok: true });
    if (!proposed.ok) return;
    const inA = (await a.ledger.getByDigest(proposed.digest))!;
    const inB = (await b.ledger.getByDigest(proposed.digest))!;
    expect(inA.receipt.type).toBe(FEDERATION_SYNCED);
    expect(inA.receipt.signatures.map((s) => s.keyId)).toEqual([a.signer.keyId]);
    expect(inB.receipt.signatures.map((s) => s.keyId)).toEqual([b.signer.keyId]);
    expect(inA.receipt.payload).toEqual(inB.receipt.payload);
    expect(proposed.peer).toEqual({ logIndex: inB.logIndex, leafHash: inB.leafHash });
  });

  it("proposing the same pair again appends nothing new on either side", async () => {
    const sizes = async (): Promise<number[]> =>
      Promise.all([a, b].map(async (s) => (await s.ledger.latestTreeHead())!.treeSize));
    const before = await sizes();
    const again = await proposeFederationReceipt(
      { ledger: a.ledger, pool: a.pool, witnessKey: a.witness.vkey, clock, signer: a.signer },
      urlB,
      { origin: ORIGIN_B, logKeys: [b.logVkey], witnessKey: b.witness.vkey },
      {
        ownNote: (await b.witnessService.latest(ORIGIN_A))!.note,
        peerNote: (await a.witnessService.latest(ORIGIN_B))!.note,
      },
    );
    expect(again.ok && proposed.ok && again.digest === proposed.digest).toBe(true);
    expect(await sizes()).toEqual(before);
  });

  it.each<[string, string | Buffer, number, string, string]>([
    ["a body that is not JSON", "{", 400, "Malformed", "body"],
    ["a JSON value that is not a proposal", "[]", 400, "Malformed", "proposal"],
    ["a body over 64 KiB", Buffer.alloc(65 * 1024, 0x20), 413, "Malformed", "body"],
  ])(
    "the endpoint answers %s with a problem naming the field",
    async (_, body, wantStatus, wantReason, wantField) => {
      const res = await apiB.inject({
        method: "POST",
        url: "/v1/federation/receipts",
        headers: { "content-type": "application/json" },
        payload: body,
      });
      expect(res.statusCode).toBe(wantStatus);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({
        status: wantStatus,
        reason: wantReason,
        field: wantField,
      });
    },
  );

  it("the endpoint refuses a proposal signed by a key it does not pin (403) and appends nothing", async () => {
    const before = (await b.ledger.latestTreeHead())!.treeSize;
    const entry = (await a.ledger.getByDigest(proposed.ok ? proposed.digest : ""))!;
    const forged = {
      ...entry.receipt,
      signatures: [{ ...entry.receipt.signatures[0]!, keyId: b.signer.keyId }],
    };
    const res = await apiB.inject({
      method: "POST",
      url: "/v1/federation/receipts",
      payload: { format: "vaultmesh.cloud/federation-proposal/v1", receipt: forged },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({
      reason: "BadReceiptSignature",
      field: "receipt.signatures",
    });
    expect((await b.ledger.latestTreeHead())!.treeSize).toBe(before);
  });
});

describe("proposing when the peer does not agree", () => {
  const propose = (url: string, ownNote: string): Promise<ProposalOutcome> =>
    proposeFederationReceipt(
      {
        ledger: a.ledger,
        pool: a.pool,
        witnessKey: a.witness.vkey,
        clock,
        signer: a.signer,
        timeoutMs: 5000,
      },
      url,
      { origin: ORIGIN_B, logKeys: [b.logVkey], witnessKey: b.witness.vkey },
      { ownNote, peerNote: peerRow },
    );
  let peerRow: string;
  let stored: string;
  beforeAll(async () => {
    peerRow = (await a.witnessService.latest(ORIGIN_B))!.note;
    stored = (await b.witnessService.latest(ORIGIN_A))!.note;
  });

  it("a peer that redirects is not followed", async () => {
    const { createServer } = await import("node:http");
    const srv = createServer((_req, res) => res.writeHead(307, { location: urlB }).end());
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as { port: number }).port;
    try {
      expect(await propose(`http://127.0.0.1:${port}`, stored)).toMatchObject({
        ok: false,
        reason: "Redirected",
        status: 307,
      });
    } finally {
      srv.close();
    }
  });

  it("an unreachable peer is reported, not thrown", async () => {
    expect(await propose("http://127.0.0.1:1", stored)).toMatchObject({
      ok: false,
      reason: "Unreachable",
    });
  });

  it("a checkpoint of ours the peer's witness never stored is refused by the peer (409 NotWitnessed)", async () => {
    await a.ledger.append({ type: "deploy", subject: "a-late", payload: { late: true } });
    const head = (await a.ledger.latestTreeHead())!;
    // Cosigned by B's witness key, but never through B's endpoint: B holds no row of that size.
    const ownNote = addCosignature(
      head.checkpoint,
      b.witness.cosign(parseNote(head.checkpoint).body, 1_780_000_000),
    );
    const before = (await b.ledger.latestTreeHead())!.treeSize;
    expect(await propose(urlB, ownNote)).toMatchObject({
      ok: false,
      reason: "Refused",
      status: 409,
      peerReason: "NotWitnessed",
      field: "receipt.payload.sides[0].checkpoint",
    });
    expect((await b.ledger.latestTreeHead())!.treeSize).toBe(before);
  });
});

describe("remembrancer federation", () => {
  it("init keeps an existing witness key and never uses the log key", async () => {
    const again = await cli("federation", "init", "--key-dir", "a", "--db", a.db);
    expect(again.code).toBe(0);
    expect(again.out).toContain(
      `origin ${ORIGIN_A}\nlog-key ${a.logVkey}\nwitness-key ${a.witness.vkey}\n`,
    );
    expect(again.out).toMatch(/kept the witness key/);
    const kept = readFileSync(join(dir, "a", "witness.key"));
    writeFileSync(join(dir, "a", "witness.key"), readFileSync(join(dir, "a", "ed25519.key")));
    const same = await cli("federation", "init", "--key-dir", "a", "--db", a.db);
    writeFileSync(join(dir, "a", "witness.key"), kept);
    expect(same).toMatchObject({
      code: 2,
      err: expect.stringMatching(/witness\.key: .*is a log signing key/),
    });
  });

  it("join writes a FederationPeer the API accepts, pinning origin, log key and witness key", async () => {
    const r = await cli(
      "federation",
      "join",
      "--peer",
      urlB,
      "--trust-anchor",
      b.logVkey,
      "--trust-anchor",
      b.witness.vkey,
      "--key-dir",
      "a",
    );
    expect(r.code).toBe(0);
    const peer = FederationPeerSchema.parse(parse(r.out));
    expect(peer.metadata.name).toBe("b-example-log");
    expect(peer.spec.trustAnchor).toMatchObject({ origin: ORIGIN_B, witnessKey: b.witness.vkey });
    expect(peer.spec.trustAnchor.keys[0]!.keyId).toBe(b.signer.keyId);
  });

  it.each<[string, string[], RegExp]>([
    [
      "a peer URL that is not http(s)",
      ["--peer", "ftp://b.example", "--trust-anchor", "LOG", "--trust-anchor", "WIT"],
      /^remembrancer: --peer: /,
    ],
    ["no trust anchor", ["--peer", "http://b.example"], /^remembrancer: --trust-anchor: required/],
    [
      "a malformed trust anchor",
      ["--peer", "http://b.example", "--trust-anchor", "b.example/log+00000000+AAAA"],
      /^remembrancer: --trust-anchor: /,
    ],
    [
      "no witness key",
      ["--peer", "http://b.example", "--trust-anchor", "LOG"],
      /^remembrancer: --trust-anchor: expected exactly one witness key/,
    ],
    [
      "our own origin",
      [
        "--peer",
        "http://a.example",
        "--trust-anchor",
        "OWN",
        "--trust-anchor",
        "WIT",
        "--key-dir",
        "a",
      ],
      /^remembrancer: --trust-anchor: origin a\.example\/log is this ledger's own/,
    ],
    [
      "a sync interval under 10 s",
      [
        "--peer",
        "http://b.example",
        "--trust-anchor",
        "LOG",
        "--trust-anchor",
        "WIT",
        "--sync-interval",
        "5",
      ],
      /^remembrancer: --sync-interval: /,
    ],
    [
      "a name that is not a DNS name",
      [
        "--peer",
        "http://b.example",
        "--trust-anchor",
        "LOG",
        "--trust-anchor",
        "WIT",
        "--name",
        "B_Peer",
      ],
      /^remembrancer: --name: /,
    ],
  ])("join refuses %s, naming the option", async (_, args, want) => {
    const sub = (x: string): string =>
      x === "LOG" ? b.logVkey : x === "WIT" ? b.witness.vkey : x === "OWN" ? a.logVkey : x;
    const r = await cli("federation", "join", ...args.map(sub));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(want);
  });

  it("status shows each peer's trusted checkpoint and our checkpoint it cosigned", async () => {
    const r = await cli("federation", "status", "--db", a.db);
    expect(r.code).toBe(0);
    const headB = (await b.ledger.treeHead(5))!;
    expect(r.out).toContain(
      `${ORIGIN_B}\n  trusted      size 5 root ${headB.rootHash} cosigned by us`,
    );
    expect(r.out).toMatch(/ {2}cosigned us {2}size 5 root [0-9a-f]{64} at 2026-05-28T/);
  });

  let exported: string;
  it("export writes both ledgers' bundles of the receipt, and verify passes offline", async () => {
    const r = await cli(
      "federation",
      "export",
      "--db",
      a.db,
      "--key-dir",
      "a",
      "--tsa",
      tsaUrl,
      "--peer",
      urlB,
      "--out",
      "fed.json",
    );
    expect(r).toMatchObject({ code: 0, out: expect.stringMatching(/^wrote fed\.json: sha256:/) });
    exported = readFileSync(join(dir, "fed.json"), "utf8");
    const v = await cli(
      "federation",
      "verify",
      "fed.json",
      "--trust",
      "a/trust.json",
      "--trust",
      "b/trust.json",
      "--trust",
      "tsa/tsa-ca.crt",
    );
    expect(v.out).toContain("✅ Federation sync verified");
    expect(v.out).not.toContain("keys were taken from the file");
    expect(v.code).toBe(0);
    // Unpinned, it still verifies, and says the keys came from the file.
    const u = await cli("federation", "verify", "fed.json");
    expect(u.code).toBe(0);
    expect(u.out).toContain("! keys were taken from the file itself");
  });

  interface Json {
    mergedRoot: string;
    digest: string;
    bundles: {
      receipt: { payload: { merge: { root: string } }; signatures: { value: string }[] };
      inclusionProof: { hashes: string[] };
    }[];
  }
  const flipB64 = (s: string): string => {
    const x = fromBase64(s);
    x[5]! ^= 1;
    return toBase64(x);
  };
  it.each<[string, (x: Json) => void, string]>([
    ["the stated merged root", (x) => (x.mergedRoot = "0".repeat(64)), "stated merged root"],
    [
      "the merged root inside A's receipt",
      (x) => (x.bundles[0]!.receipt.payload.merge.root = "0".repeat(64)),
      `${ORIGIN_A}: receipt digest`,
    ],
    [
      "B's receipt signature",
      (x) =>
        (x.bundles[1]!.receipt.signatures[0]!.value = flipB64(
          x.bundles[1]!.receipt.signatures[0]!.value,
        )),
      `${ORIGIN_B}: receipt signature`,
    ],
    [
      "B's inclusion proof",
      (x) => (x.bundles[1]!.inclusionProof.hashes[0] = "0".repeat(64)),
      `${ORIGIN_B}: inclusion proof`,
    ],
    ["a bundle of another ledger", (x) => (x.bundles[1] = x.bundles[0]!), `${ORIGIN_B}: ledger`],
    ["the file's digest", (x) => (x.digest = `sha256:${"1".repeat(64)}`), "same receipt digest"],
  ])("verify fails on a tampered %s, naming the link (exit 1)", async (_, tamper, wantLink) => {
    const x = JSON.parse(exported) as Json;
    tamper(x);
    writeFileSync(join(dir, "tampered.json"), JSON.stringify(x));
    const v = await cli(
      "federation",
      "verify",
      "tampered.json",
      "--trust",
      "a/trust.json",
      "--trust",
      "b/trust.json",
      "--trust",
      "tsa/tsa-ca.crt",
    );
    expect(v.code).toBe(1);
    expect(v.out).toMatch(
      new RegExp(
        `❌ Federation sync NOT verified: failing link "${wantLink.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`,
      ),
    );
  });

  it("serve with a witness and a signing key takes proposals at /v1/federation/receipts", async () => {
    writeFileSync(join(dir, "a-trust.txt"), `${b.logVkey}\n`);
    const stopServe = new AbortController();
    const served = await testCli(dir, () => ({}), stopServe.signal).start(
      [
        "serve",
        "--port",
        "0",
        "--db",
        a.db,
        "--key-dir",
        "a",
        "--witness-trust",
        "a-trust.txt",
        "--witness-key",
        "a/witness.key",
      ],
      /proof API listening on (http:\/\/[0-9.:]+)/,
    );
    try {
      const res = await fetch(`${served.match[1]!}/v1/federation/receipts`, {
        method: "POST",
        body: "{",
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ reason: "Malformed", field: "body" });
    } finally {
      stopServe.abort();
      expect(await served.done).toBe(0);
    }
  });

  it("verify checks a FederationInconsistent bundle: the recording ledger's proofs and the evidence", async () => {
    // B caught A's log with two roots for one size: the note B's witness cosigned, and another.
    const trusted = (await b.witnessService.latest(ORIGIN_A))!.note;
    const cp = parseCheckpoint(parseNote(trusted).body);
    const forkBody = formatCheckpoint({ ...cp, root: new Uint8Array(32).fill(7) });
    const evidence = {
      kind: "Forked" as const,
      origin: ORIGIN_A,
      logVkeys: [a.logVkey],
      trustedNote: trusted,
      offeredNote: signNote(forkBody, ORIGIN_A, a.signer),
      detectedAt: clock.now().toISOString(),
      detail: "same size, another root",
    };
    const appended = await b.ledger.append(buildMisbehaviourReceiptInput(evidence, b.witness.vkey));
    const bundle = await exportBundle(b.ledger, { digest: appended.receipt.digest });
    writeFileSync(join(dir, "evidence.json"), JSON.stringify(bundle));
    const pins = ["--trust", "b/trust.json", "--trust", "tsa/tsa-ca.crt"];
    const ok = await cli(
      "federation",
      "verify",
      "evidence.json",
      ...pins,
      "--trust-anchor",
      a.logVkey,
    );
    expect(ok.out).toContain(
      `✅ Misbehaviour evidence verified: SameSizeOtherRoot, ${appended.receipt.digest}`,
    );
    expect(ok.code).toBe(0);
    const wrongKey = await cli(
      "federation",
      "verify",
      "evidence.json",
      ...pins,
      "--trust-anchor",
      verifierKey(ORIGIN_A, fromBase64(b.signer.publicKey)),
    );
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.out).toContain(
      '❌ Misbehaviour evidence NOT verified: failing link "trusted checkpoint log signature"',
    );
    const edited = {
      ...bundle,
      receipt: {
        ...bundle.receipt,
        payload: { ...(bundle.receipt.payload as object), kind: "RolledBack" },
      },
    };
    writeFileSync(join(dir, "evidence-edited.json"), JSON.stringify(edited));
    const tamperedRun = await cli(
      "federation",
      "verify",
      "evidence-edited.json",
      ...pins,
      "--trust-anchor",
      a.logVkey,
    );
    expect(tamperedRun.code).toBe(1);
    expect(tamperedRun.out).toContain('failing link "recording ledger: receipt digest"');
  });

  it.each<[string, string[], RegExp]>([
    ["a missing file", ["verify", "nope.json"], /<file>: no such file nope\.json/],
    ["a file that is not JSON", ["verify", "a/ed25519.pub"], /is not valid JSON/],
    [
      "a file of another format",
      ["verify", "a/trust.json"],
      /: format: expected vaultmesh\.cloud\/federation-receipt-export\/v1/,
    ],
    [
      "a malformed digest",
      ["export", "--db", "postgres://x", "--peer", "http://b", "--digest", "abc"],
      /--digest: expected sha256:<64 hex>/,
    ],
    [
      "both --peer and --peer-bundle",
      ["export", "--peer", "http://b", "--peer-bundle", "x.json"],
      /--peer URL or --peer-bundle FILE/,
    ],
  ])("%s is an input error naming it (exit 2)", async (_, args, want) => {
    const r = await cli("federation", ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(want);
  });
});
