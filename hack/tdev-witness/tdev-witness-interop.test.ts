// Interop with the transparency-dev witness (github.com/transparency-dev/witness, built from the
// Go module proxy at the versions in hack/tdev-witness/versions.env), both directions of
// c2sp.org/tlog-witness on loopback:
//   (a) its HTTP client — what its feeders push with — sends a Go-signed log's checkpoints to
//       OUR witness endpoint (`remembrancer serve --witness-trust --witness-key`, Postgres), and
//       formats' cosignature/v1 verifier checks what we cosign;
//   (b) OUR client (services/federation/witness-client.ts) pushes a real ledger's checkpoints
//       to THEIR witness (its Update logic and HTTP handler over its in-memory persistence),
//       and its cosignatures verify with our code and with formats.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { pino } from "pino";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import { fromBase64, fromHex, toBase64 } from "../../services/ledger/canonical-json.ts";
import {
  formatCheckpoint,
  parseVerifierKey,
  signNote,
  verifierKey,
} from "../../services/ledger/checkpoint.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../../services/ledger/ed25519.ts";
import { Ledger } from "../../services/ledger/ledger.ts";
import {
  consistencyRanges,
  EMPTY_ROOT,
  Frontier,
  hashLeaf,
  mapLookup,
  nodeKey,
  resolveProof,
  type Hash,
} from "../../services/ledger/merkle.ts";
import { testCli } from "../../services/ledger/cli/cli-test-io.ts";
import { addCosignature, verifyCosignedCheckpoint } from "../../services/federation/cosignature.ts";
import {
  WitnessClient,
  WitnessClientError,
  WitnessClientReason,
} from "../../services/federation/witness-client.ts";
import type { AddCheckpointRequest } from "../../services/federation/witness-protocol.ts";

// Building the tool cold and starting a private Postgres take a while on a busy 2-core machine.
jest.setTimeout(120_000);

const root = fileURLToPath(new URL("../..", import.meta.url));
let tool = "";
let server: PostgresServer;
const stop = new AbortController();
const dirs: string[] = [];

interface GoResult {
  ok: boolean;
  error?: string;
  refusal?: string;
  size?: string;
  root?: string;
  cosignature?: string;
  sigs?: { name: string; keyHash: string; timestamp?: number }[];
  skey?: string;
  vkey?: string;
  signedNote?: string;
}

/** Runs a batch of requests through the Go tool (asynchronously: our servers answer meanwhile). */
async function go(requests: readonly Record<string, unknown>[]): Promise<GoResult[]> {
  const child = spawn(tool, [], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdin.end(JSON.stringify(requests));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`tdev-witness exited ${code}: ${err}`);
  const results = JSON.parse(out) as GoResult[];
  expect(results).toHaveLength(requests.length);
  return results;
}

beforeAll(async () => {
  const built = spawnSync("bash", [path.join(root, "hack/tdev-witness/build.sh")], {
    encoding: "utf8",
    timeout: 600_000,
  });
  if (built.status !== 0) throw new Error(`hack/tdev-witness/build.sh failed:\n${built.stderr}`);
  tool = built.stdout.trim();
  server = await startPostgres();
}, 600_000);

afterAll(async () => {
  stop.abort();
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A log of `n` leaves kept whole in memory: its roots by size and consistency proofs. */
function memoryLog(n: number): { root(size: number): Hash; proof(m: number, k: number): Hash[] } {
  const nodes = new Map<string, Hash>();
  const roots: Hash[] = [EMPTY_ROOT];
  const f = new Frontier();
  for (let i = 0; i < n; i++) {
    for (const node of f.append(hashLeaf(new TextEncoder().encode(`leaf ${i}`)))) {
      nodes.set(nodeKey(node), node.hash);
    }
    roots.push(f.root());
  }
  return {
    root: (size) => roots[size]!,
    proof: (m, k) => resolveProof(consistencyRanges(m, k), mapLookup(nodes)),
  };
}

const body = (origin: string, size: number, rootHash: Hash): string =>
  formatCheckpoint({ origin, size, root: rootHash, extensions: [] });

/** Flips one bit of the note's first signature. */
function flipFirstSignature(note: string): string {
  const lines = note.split("\n");
  const at = lines.indexOf("") + 1;
  const [dash, name, b64] = lines[at]!.split(" ");
  const blob = fromBase64(b64!);
  blob[10]! ^= 0x01;
  lines[at] = `${dash} ${name} ${toBase64(blob)}`;
  return lines.join("\n");
}

describe("(a) the transparency-dev witness client pushes to our witness endpoint", () => {
  // Go-made log keys: each test witnesses its own log; "unknown" is not in the trust file.
  const logs = ["go.test/growing", "go.test/refused", "go.test/unknown", "go.test/feeder"];
  const keys: Record<string, { skey: string; vkey: string }> = {};
  const tree = memoryLog(80);
  let endpoint = "";
  let witnessVkey = "";

  beforeAll(async () => {
    for (const [i, r] of (await go(logs.map((name) => ({ kind: "keygen", name })))).entries()) {
      keys[logs[i]!] = { skey: r.skey!, vkey: r.vkey! };
    }
    const dir = mkdtempSync(path.join(tmpdir(), "tdev-witness-"));
    dirs.push(dir);
    writeFileSync(
      path.join(dir, "trust.txt"),
      [logs[0]!, logs[1]!, logs[3]!].map((l) => `${keys[l]!.vkey}\n`).join(""),
    );
    writeFileSync(path.join(dir, "witness.pem"), generateEd25519().privateKeyPem);
    const dbUrl = (await server.createDatabase("tdev_ours")).url;
    const cli = testCli(dir, () => ({ DATABASE_URL: dbUrl }), stop.signal);
    const { match } = await cli.start(
      [
        "serve",
        ...["--port", "0", "--witness-trust", "trust.txt", "--witness-key", "witness.pem"],
        ...["--witness-name", "vaultmesh.test/witness"],
      ],
      /witness (vaultmesh\.test\/witness\+\S+) at (\S+)\/add-checkpoint/,
    );
    witnessVkey = match[1]!;
    endpoint = match[2]!; // …/v1/witness: the client appends /add-checkpoint
  });

  /** Go signs the checkpoint of `origin` at `size` (with `rootHash`, default the tree's). */
  async function signed(origin: string, size: number, rootHash = tree.root(size)): Promise<string> {
    const [r] = await go([
      { kind: "sign", skey: keys[origin]!.skey, text: body(origin, size, rootHash) },
    ]);
    expect(r).toMatchObject({ ok: true });
    return r!.signedNote!;
  }

  const push = (origin: string, note: string, oldSize: number, proof: Hash[] = []) => ({
    kind: "push",
    url: endpoint,
    oldSize: String(oldSize),
    note,
    proof: proof.map(toBase64),
    vkey: keys[origin]?.vkey ?? keys[logs[0]!]!.vkey,
    cosigners: [witnessVkey],
  });

  it("cosigns a growing log; formats verifies every cosignature and the one served to monitors", async () => {
    const o = logs[0]!;
    const results = await go([
      push(o, await signed(o, 0), 0),
      push(o, await signed(o, 5), 0),
      push(o, await signed(o, 70), 5, tree.proof(5, 70)),
      push(o, await signed(o, 70), 70), // the same checkpoint again: cosigned afresh
    ]);
    const witnessName = parseVerifierKey(witnessVkey).name;
    expect(results.map((r) => ({ ok: r.ok, size: r.size, error: r.error }))).toEqual(
      ["0", "5", "70", "70"].map((size) => ({ ok: true, size, error: undefined })),
    );
    for (const r of results) {
      expect(r.refusal).toBeUndefined();
      expect(r.cosignature).toMatch(/^— vaultmesh\.test\/witness \S+\n$/);
      expect(r.sigs).toEqual([
        { name: o, keyHash: expect.any(String) },
        { name: witnessName, keyHash: expect.any(String), timestamp: expect.any(Number) },
      ]);
    }

    const served = await fetch(`${endpoint}/checkpoint?origin=${encodeURIComponent(o)}`);
    expect(served.status).toBe(200);
    const [checked] = await go([
      { kind: "verify", note: await served.text(), vkey: keys[o]!.vkey, cosigners: [witnessVkey] },
    ]);
    expect(checked).toMatchObject({ ok: true, size: "70", root: toBase64(tree.root(70)) });
  });

  it("a feeder's long run: 15 checkpoints, each pushed from the last, are all cosigned", async () => {
    const o = logs[3]!;
    const sizes = Array.from({ length: 15 }, (_, i) => 5 * (i + 1));
    const notes = await go(
      sizes.map((size) => ({
        kind: "sign",
        skey: keys[o]!.skey,
        text: body(o, size, tree.root(size)),
      })),
    );
    const results = await go(
      sizes.map((size, i) => {
        const old = i === 0 ? 0 : sizes[i - 1]!;
        return push(o, notes[i]!.signedNote!, old, old === 0 ? [] : tree.proof(old, size));
      }),
    );
    expect(results.map((r) => [r.size, r.refusal ?? r.error ?? "cosigned"])).toEqual(
      sizes.map((size) => [String(size), "cosigned"]),
    );
  });

  it("each refusal reaches the client as its own error, and the trusted checkpoint stays", async () => {
    const o = logs[1]!;
    const [first, second] = await go([
      push(o, await signed(o, 5), 0),
      push(o, await signed(o, 70), 5, tree.proof(5, 70)),
    ]);
    expect([first!.ok, second!.ok, second!.size]).toEqual([true, true, "70"]);

    const tampered = tree.proof(70, 80);
    tampered[0] = new Uint8Array(32).fill(7);
    const unknownKey = (await go([{ kind: "keygen", name: o }]))[0]!;
    const [byUnknown] = await go([
      { kind: "sign", skey: unknownKey.skey, text: body(o, 80, tree.root(80)) },
    ]);
    const cases: [string, Record<string, unknown>, { refusal: string; size?: string }][] = [
      [
        "a stale old size (409 text/x.tlog.size)",
        push(o, await signed(o, 80), 5, tree.proof(5, 80)),
        { refusal: "ErrCheckpointStale", size: "70" },
      ],
      [
        "a consistency proof that does not verify (422)",
        push(o, await signed(o, 80), 70, tampered),
        { refusal: "ErrInvalidProof" },
      ],
      [
        "the same size with another root (422)",
        push(o, await signed(o, 70, tree.root(69)), 70),
        { refusal: "ErrInvalidProof" },
      ],
      [
        "old size after the new one (400)",
        push(o, await signed(o, 60), 70),
        { refusal: "ErrOldSizeInvalid" },
      ],
      [
        "a flipped bit in the log signature (403)",
        push(o, flipFirstSignature(await signed(o, 80)), 70, tree.proof(70, 80)),
        { refusal: "ErrNoValidSignature" },
      ],
      [
        "a note by an unknown key only (403)",
        push(o, byUnknown!.signedNote!, 70, tree.proof(70, 80)),
        { refusal: "ErrNoValidSignature" },
      ],
      [
        "an origin we do not witness (404)",
        push(logs[2]!, await signed(logs[2]!, 3), 0),
        { refusal: "ErrUnknownLog" },
      ],
    ];
    const results = await go(cases.map(([, req]) => req));
    expect(results.map((r, i) => [cases[i]![0], r])).toEqual(
      cases.map(([name, , want]) => [name, expect.objectContaining({ ok: true, ...want })]),
    );
    for (const r of results) expect(r.cosignature).toBeUndefined();

    const served = await (
      await fetch(`${endpoint}/checkpoint?origin=${encodeURIComponent(o)}`)
    ).text();
    const [checked] = await go([
      { kind: "verify", note: served, vkey: keys[o]!.vkey, cosigners: [witnessVkey] },
    ]);
    expect(checked).toMatchObject({ ok: true, size: "70" });
  });
});

describe("(b) our witness client pushes a ledger's checkpoints to the transparency-dev witness", () => {
  const ORIGIN = "vaultmesh.test/interop-ledger";
  const signer = ed25519Signer(generateEd25519().privateKeyPem);
  const logVkey = verifierKey(ORIGIN, fromBase64(signer.publicKey));
  let witnessProcess: ChildProcess;
  let client: WitnessClient;
  let theirs: { url: string; vkey: string };
  let ledger: Ledger;
  let pool: pg.Pool;
  let appended = 0;

  beforeAll(async () => {
    witnessProcess = spawn(tool, ["serve", "--name", "tdev.test/witness", "--log-vkey", logVkey], {
      stdio: ["pipe", "pipe", "ignore"], // it logs each refusal on stderr
    });
    const [line] = (await once(createInterface({ input: witnessProcess.stdout! }), "line")) as [
      string,
    ];
    theirs = JSON.parse(line) as { url: string; vkey: string };
    // Their witness serves add-checkpoint at its root; our proof-API paths are not used here.
    client = new WitnessClient({ url: theirs.url, witnessUrl: `${theirs.url}/` });
    pool = new pg.Pool({ connectionString: (await server.createDatabase("tdev_ledger")).url });
    pool.on("error", () => undefined); // an idle client may meet the teardown's drop
    ledger = await Ledger.open({
      pool,
      clock: systemClock,
      logger: pino({ level: "silent" }),
      signer,
      origin: ORIGIN,
    });
  });
  afterAll(async () => {
    witnessProcess?.stdin?.end();
    await pool?.end();
  });

  async function appendReceipts(n: number): Promise<{ size: number; note: string }> {
    for (let i = 0; i < n; i++, appended++) {
      await ledger.append({
        type: "interop.test",
        subject: { name: `entry-${appended}` },
        payload: { n: appended },
      });
    }
    const head = (await ledger.latestTreeHead())!;
    return { size: head.treeSize, note: head.checkpoint };
  }
  const proofFrom = (size: number) => async (old: number) =>
    (await ledger.consistencyProof(old, size)).map((h) => fromHex(h));
  const trustedWitness = () => {
    const k = parseVerifierKey(theirs.vkey);
    return [{ name: k.name, publicKey: toBase64(k.publicKey) }];
  };

  it("their cosignatures of our growing log verify with our code and with formats", async () => {
    const seen: number[] = [];
    let oldSize = 0;
    for (const n of [5, 60, 1]) {
      const { size, note } = await appendReceipts(n);
      const r = await client.pushCheckpoint(note, size, oldSize, proofFrom(size));
      expect(r.oldSize).toBe(oldSize);
      const cosigned = r.cosignatures.reduce(addCosignature, note);
      const ours = verifyCosignedCheckpoint(
        cosigned,
        { origin: ORIGIN, publicKeys: [signer.publicKey] },
        trustedWitness(),
        new Date(),
      );
      expect(ours).toMatchObject({
        ok: true,
        checkpoint: { size },
        cosignatures: [{ name: "tdev.test/witness" }],
      });
      const [formats] = await go([
        { kind: "verify", note: cosigned, vkey: logVkey, cosigners: [theirs.vkey] },
      ]);
      expect(formats).toMatchObject({ ok: true, size: String(size) });
      seen.push(size);
      oldSize = size;
    }
    expect(seen).toEqual([5, 65, 66]);
  });

  it("a stale old size is answered 409 with their size, and pushCheckpoint retries from it", async () => {
    const { size, note } = await appendReceipts(4);
    const stale = client.addCheckpoint({ oldSize: 5, proof: await proofFrom(size)(5), note });
    await expect(stale).rejects.toMatchObject({
      reason: WitnessClientReason.StaleOldSize,
      status: 409,
      size: 66,
    });
    const r = await client.pushCheckpoint(note, size, 5, proofFrom(size));
    expect(r.oldSize).toBe(66);
    expect(r.cosignatures).toHaveLength(1);
  });

  it("their refusals reach our client with the reason our sync branches on", async () => {
    const { size } = await appendReceipts(0);
    const other = ed25519Signer(generateEd25519().privateKeyPem);
    const forked = signNote(body(ORIGIN, size, new Uint8Array(32).fill(3)), ORIGIN, signer);
    const { size: next, note: nextNote } = await appendReceipts(3);
    const tampered = await proofFrom(next)(size);
    tampered[0] = new Uint8Array(32).fill(9);
    const goodProof = await proofFrom(next)(size);
    const otherOrigin = "vaultmesh.test/other";
    const cases: [string, AddCheckpointRequest, WitnessClientReason, number][] = [
      [
        "the same size with another root",
        { oldSize: size, proof: [], note: forked },
        WitnessClientReason.Conflict,
        422,
      ],
      [
        "a proof that does not verify",
        { oldSize: size, proof: tampered, note: nextNote },
        WitnessClientReason.Conflict,
        422,
      ],
      // Their witness answers 500, not tlog-witness's 403, when the log's signature fails
      // (log.ParseCheckpoint's error is not mapped to ErrNoValidSignature): refused all the same.
      [
        "a flipped signature bit",
        { oldSize: size, proof: goodProof, note: flipFirstSignature(nextNote) },
        WitnessClientReason.HttpError,
        500,
      ],
      [
        "an origin they do not witness",
        {
          oldSize: 0,
          proof: [],
          note: signNote(body(otherOrigin, 1, goodProof[0]!), otherOrigin, other),
        },
        WitnessClientReason.NotFound,
        404,
      ],
      [
        "old size after the new one",
        { oldSize: next + 1, proof: [], note: nextNote },
        WitnessClientReason.BadRequest,
        400,
      ],
    ];
    for (const [name, req, reason, status] of cases) {
      const err = await client.addCheckpoint(req).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect([
        name,
        err instanceof WitnessClientError && { reason: err.reason, status: err.status },
      ]).toEqual([name, { reason, status }]);
    }
    // Still at `size`: the good proof from it is cosigned.
    const r = await client.pushCheckpoint(nextNote, next, size, proofFrom(next));
    expect(r).toMatchObject({
      oldSize: size,
      cosignatures: [expect.stringMatching(/^— tdev\.test\/witness /)],
    });
  });
});
