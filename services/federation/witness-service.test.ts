// The ledger's tlog-witness endpoint end to end: the proof API (fastify) over a private
// Postgres, peer checkpoints signed with a real log key over real RFC 6962 trees, cosignatures
// checked here and by Go's transparency-dev/formats (hack/tlog-verifiers).
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { pino } from "pino";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import { fromBase64, toBase64, toHex } from "../ledger/canonical-json.ts";
import {
  COSIGNATURE_V1_ALG,
  formatCheckpoint,
  parseVerifierKey,
  signNote,
  verifierKey,
} from "../ledger/checkpoint.ts";
import { fixedClock } from "../ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../ledger/ed25519.ts";
import { Ledger } from "../ledger/ledger.ts";
import {
  consistencyRanges,
  Frontier,
  hashLeaf,
  mapLookup,
  nodeKey,
  resolveProof,
  type Hash,
} from "../ledger/merkle.ts";
import { buildProofApi } from "../ledger/proof-api.ts";
import { createWitness, verifyCosignedCheckpoint } from "./cosignature.ts";
import { lockWitnessOrigin, recordMisbehaviour } from "./peer-store.ts";
import {
  formatAddCheckpointRequest,
  TLOG_SIZE_CONTENT_TYPE,
  WitnessReason,
} from "./witness-protocol.ts";
import { parseWitnessTrust, WitnessService, WitnessTrustError } from "./witness-service.ts";

// Starting a private Postgres can take seconds on a busy 2-core machine.
jest.setTimeout(120_000);

const PEER = "peer.test/log";
const OWN = "own.test/log";
const peerKey = ed25519Signer(generateEd25519().privateKeyPem);
const strangerKey = ed25519Signer(generateEd25519().privateKeyPem);
const ownKey = ed25519Signer(generateEd25519().privateKeyPem);
const witnessKey = ed25519Signer(generateEd25519().privateKeyPem);
const peerVkey = verifierKey(PEER, fromBase64(peerKey.publicKey));
const witness = createWitness("own.test/witness", witnessKey, [
  ownKey.publicKey,
  peerKey.publicKey,
]);

/** A peer log: roots and consistency proofs of its first `n` leaves, for every n. */
function tree(leafText: (i: number) => string, n: number) {
  const f = new Frontier();
  const nodes = new Map<string, Hash>();
  const roots: Hash[] = [f.root()];
  for (let i = 0; i < n; i++) {
    for (const node of f.append(hashLeaf(new TextEncoder().encode(leafText(i))))) {
      nodes.set(nodeKey(node), node.hash);
    }
    roots.push(f.root());
  }
  return {
    root: (size: number): Hash => roots[size]!,
    proof: (m: number, size: number): Hash[] =>
      resolveProof(consistencyRanges(m, size), mapLookup(nodes)),
  };
}
const main = tree((i) => `entry ${i}`, 64);
// Agrees with main on the first 12 leaves, then differs: a fork after size 12.
const fork = tree((i) => (i < 12 ? `entry ${i}` : `fork ${i}`), 64);

const checkpoint = (size: number, root: Hash, key = peerKey, origin = PEER): string =>
  signNote(formatCheckpoint({ origin, size, root, extensions: [] }), origin, key);

const request = (oldSize: number, proof: Hash[], note: string): string =>
  formatAddCheckpointRequest({ oldSize, proof, note });

let server: PostgresServer;
let pool: pg.Pool;
let app: FastifyInstance;
let service: WitnessService;
let dbUrl: string;
const POOL_MAX = 8;

beforeAll(async () => {
  server = await startPostgres();
  dbUrl = (await server.createDatabase("witness")).url;
  pool = new pg.Pool({ connectionString: dbUrl, max: POOL_MAX });
  pool.on("error", () => undefined);
  const clock = fixedClock("2026-12-03T00:00:00Z", 1000);
  const ledger = await Ledger.open({
    pool,
    clock,
    logger: pino({ level: "silent" }),
    signer: ownKey,
    origin: OWN,
  });
  service = new WitnessService({
    pool,
    witness,
    logs: parseWitnessTrust(`# peers\n${peerVkey}\n`, OWN),
    clock,
  });
  app = buildProofApi({ ledger, witness: service });
});
afterAll(async () => {
  await app.close();
  await pool.end();
  await server.stop();
});

const post = async (body: string | Buffer) => {
  const r = await app.inject({
    method: "POST",
    url: "/v1/witness/add-checkpoint",
    headers: { "content-type": "text/plain" },
    payload: body,
  });
  return { status: r.statusCode, body: r.body, type: String(r.headers["content-type"]) };
};

const golden = async (): Promise<{ seq: string; tree_size: string; root: string }[]> =>
  (
    await pool.query<{ seq: string; tree_size: string; root_hash: Buffer }>(
      `SELECT seq::text, tree_size::text, root_hash FROM ledger_witness_checkpoints
        WHERE origin = $1 ORDER BY seq`,
      [PEER],
    )
  ).rows.map((r) => ({ seq: r.seq, tree_size: r.tree_size, root: toHex(r.root_hash) }));

const log = { origin: PEER, publicKeys: [peerKey.publicKey] };

/**
 * Waits until `n` sessions of the test database wait on a lock (seen from `observer`), or
 * `polls` polls have passed: then the test goes on and its assertions tell what happened.
 */
async function lockWaiters(observer: pg.ClientBase, n: number, polls = 500): Promise<void> {
  for (let i = 0; i < polls; i++) {
    // pg_stat_activity is read once per transaction unless the snapshot is cleared.
    await observer.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await observer.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0]!.n >= n) return;
    await sleep(20);
  }
}
const witnesses = [{ name: witness.name, publicKey: witness.publicKey }];

/** Verifies a 200 answer's cosignature line over `note` (with the clock's date). */
function expectCosigned(note: string, line: string, origin = PEER): void {
  expect(line).toMatch(/^— own\.test\/witness [A-Za-z0-9+/=]+\n$/);
  const r = verifyCosignedCheckpoint(
    `${note}${line}`,
    { ...log, origin },
    witnesses,
    new Date("2026-12-03T01:00:00Z"),
  );
  expect(r).toMatchObject({ ok: true, cosignatures: [{ name: witness.name }] });
}

describe("witness trust file", () => {
  it("reads one Ed25519 vkey per line, the key name being the origin", () => {
    const second = verifierKey(PEER, fromBase64(strangerKey.publicKey));
    const logs = parseWitnessTrust(`\n# comment\n${peerVkey}\n  ${second}  \n${peerVkey}\n`);
    expect([...logs.values()]).toEqual([
      { origin: PEER, publicKeys: [peerKey.publicKey, strangerKey.publicKey] },
    ]);
  });

  it.each([
    ["a line that is no vkey", "peer.test/log", /line 1: verifier key "peer\.test\/log" must be/],
    [
      "a cosigner key",
      witness.vkey,
      /line 1: own\.test\/witness is not a log key \(expected type 0x01/,
    ],
    [
      "our own origin",
      `# x\n${verifierKey(OWN, fromBase64(peerKey.publicKey))}`,
      /line 2: origin own\.test\/log is this ledger's own origin/,
    ],
  ])("refuses %s, naming the line", (_what, text, message) => {
    expect(() => parseWitnessTrust(text, OWN)).toThrow(WitnessTrustError);
    expect(() => parseWitnessTrust(text, OWN)).toThrow(message);
  });

  it("the witness's own vkey is a cosignature/v1 key", () => {
    expect(parseVerifierKey(witness.vkey).alg).toBe(COSIGNATURE_V1_ALG);
  });
});

describe("POST /v1/witness/add-checkpoint", () => {
  it("answers 404 for an origin it does not witness, and stores nothing", async () => {
    const other = checkpoint(3, main.root(3), peerKey, "other.test/log");
    const r = await post(request(0, [], other));
    expect(r).toMatchObject({ status: 404, body: expect.stringContaining("other.test/log") });
    expect(await golden()).toEqual([]);
  });

  it("answers 403 for a note signed by an unknown key only, or a flipped signature bit", async () => {
    expect((await post(request(0, [], checkpoint(5, main.root(5), strangerKey)))).status).toBe(403);
    const note = checkpoint(5, main.root(5));
    const sig = note.slice(note.lastIndexOf(" ") + 1, -1);
    const raw = fromBase64(sig);
    raw[10]! ^= 1;
    const flipped = note.replace(sig, toBase64(raw));
    expect(await post(request(0, [], flipped))).toMatchObject({ status: 403 });
    expect(await golden()).toEqual([]);
  });

  it("cosigns the first checkpoint (old size 0) and records it as golden", async () => {
    const note = checkpoint(5, main.root(5));
    const r = await post(request(0, [], note));
    expect(r.status).toBe(200);
    expectCosigned(note, r.body);
    expect(await golden()).toEqual([{ seq: "1", tree_size: "5", root: toHex(main.root(5)) }]);
  });

  it("answers 400 for old size > new size, and for a malformed body", async () => {
    expect(await post(request(9, [], checkpoint(7, main.root(7))))).toMatchObject({
      status: 400,
      body: expect.stringContaining("old size 9 is larger than the checkpoint's size 7"),
    });
    expect((await post("old five\n\n")).status).toBe(400);
  });

  it("answers 409 with the cosigned size as text/x.tlog.size for a stale old size", async () => {
    const r = await post(request(3, main.proof(3, 9), checkpoint(9, main.root(9))));
    expect(r).toMatchObject({ status: 409, body: "5\n" });
    expect(r.type).toBe(TLOG_SIZE_CONTENT_TYPE);
  });

  it("cosigns a consistent extension and appends it as the new golden", async () => {
    const note = checkpoint(12, main.root(12));
    const r = await post(request(5, main.proof(5, 12), note));
    expect(r.status).toBe(200);
    expectCosigned(note, r.body);
    expect((await golden()).at(-1)).toEqual({
      seq: "2",
      tree_size: "12",
      root: toHex(main.root(12)),
    });
  });

  it("re-cosigns the same checkpoint without appending a row", async () => {
    const note = checkpoint(12, main.root(12));
    const r = await post(request(12, [], note));
    expect(r.status).toBe(200);
    expectCosigned(note, r.body);
    expect(await golden()).toHaveLength(2);
  });

  it("answers 422 for a bad proof or a fork at the same size, leaving the golden untouched", async () => {
    const before = await golden();
    // The fork's size 20 with main's proof: the proof does not reach the fork's root.
    expect(
      await post(request(12, main.proof(12, 20), checkpoint(20, fork.root(20)))),
    ).toMatchObject({
      status: 422,
      body: expect.stringContaining("no consistency from the cosigned size 12"),
    });
    // Size 12 again with another root.
    const other = checkpoint(12, new Uint8Array(32).fill(7));
    expect(await post(request(12, [], other))).toMatchObject({
      status: 422,
      body: expect.stringContaining("the log forked"),
    });
    expect(await golden()).toEqual(before);
  });

  it("refuses a body over 16 KiB without reading it into a decision", async () => {
    const before = await golden();
    const note = checkpoint(13, main.root(13));
    const big = `${request(12, main.proof(12, 13), note)}${"x".repeat(16 * 1024)}`;
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(await golden()).toEqual(before);
  });

  it("of 100 concurrent requests for two views (main and fork), cosigns exactly one", async () => {
    const before = await golden();
    const views = [
      request(12, main.proof(12, 30), checkpoint(30, main.root(30))),
      request(12, fork.proof(12, 30), checkpoint(30, fork.root(30))),
    ];
    // A real listener on loopback. To make the requests really overlap, a session of the test
    // holds the table in EXCLUSIVE mode (reads pass, inserts wait) until every pool connection
    // of the witness is waiting on a lock: all of them have then read the same golden
    // checkpoint and decided against it, and all but the first insert hit the primary key.
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    const locker = new pg.Client({ connectionString: dbUrl });
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE ledger_witness_checkpoints IN EXCLUSIVE MODE");
    const pending = Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const r = await fetch(`${url}/v1/witness/add-checkpoint`, {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: views[i % 2],
        });
        return { view: i % 2, status: r.status, body: await r.text() };
      }),
    );
    await lockWaiters(locker, POOL_MAX);
    await locker.query("COMMIT");
    await locker.end();
    const answers = await pending;
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(99);
    expect(new Set(answers.filter((a) => a.status === 409).map((a) => a.body))).toEqual(
      new Set(["30\n"]),
    );
    const winner = ok[0]!.view === 0 ? main : fork;
    expect(await golden()).toEqual([
      ...before,
      { seq: "3", tree_size: "30", root: toHex(winner.root(30)) },
    ]);
    // The loser's view is now refused as a fork at the same size.
    const loser = ok[0]!.view === 0 ? fork : main;
    expect((await post(request(30, [], checkpoint(30, loser.root(30))))).status).toBe(422);
  });

  describe("concurrent requests without a test lock", () => {
    const RACE = "race.test/log";
    const ROGUE = "rogue.test/log";
    const vkeyOf = (origin: string) => verifierKey(origin, fromBase64(peerKey.publicKey));
    let other: WitnessService;
    const rows = async (origin: string) =>
      (
        await pool.query<{ seq: string; tree_size: string; root_hash: Buffer }>(
          `SELECT seq::text, tree_size::text, root_hash FROM ledger_witness_checkpoints
            WHERE origin = $1 ORDER BY seq`,
          [origin],
        )
      ).rows.map((r) => ({ seq: r.seq, tree_size: r.tree_size, root: toHex(r.root_hash) }));
    const add = async (body: string) => {
      const r = await other.addCheckpoint(new TextEncoder().encode(body));
      return { status: r.status, body: r.body, reason: r.reason };
    };
    beforeAll(() => {
      other = new WitnessService({
        pool,
        witness,
        logs: parseWitnessTrust(`${vkeyOf(RACE)}\n${vkeyOf(ROGUE)}\n`, OWN),
        clock: fixedClock("2026-12-03T00:00:00Z", 1000),
      });
    });

    it("of 20 concurrent pushes of two views, cosigns one and answers the others 409", async () => {
      expect((await add(request(0, [], checkpoint(12, main.root(12), peerKey, RACE)))).status).toBe(
        200,
      );
      const notes = [main, fork].map((t) => checkpoint(30, t.root(30), peerKey, RACE));
      const views = [
        request(12, main.proof(12, 30), notes[0]!),
        request(12, fork.proof(12, 30), notes[1]!),
      ];
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => ({
          view: i % 2,
          ...(await add(views[i % 2]!)),
        })),
      );
      const ok = answers.filter((a) => a.status === 200);
      expect(ok).toHaveLength(1);
      const stale = answers.filter((a) => a.status === 409);
      expect(stale).toHaveLength(19);
      expect(new Set(stale.map((a) => a.body))).toEqual(new Set(["30\n"]));
      const winner = ok[0]!.view;
      expectCosigned(notes[winner]!, ok[0]!.body, RACE);
      expect(await rows(RACE)).toEqual([
        { seq: "1", tree_size: "12", root: toHex(main.root(12)) },
        { seq: "2", tree_size: "30", root: toHex((winner === 0 ? main : fork).root(30)) },
      ]);
    });

    it("appends nothing for requests decided before a misbehaviour record that commits first", async () => {
      expect(
        (await add(request(0, [], checkpoint(12, main.root(12), peerKey, ROGUE)))).status,
      ).toBe(200);
      // The test holds the misbehaviour lock of the origin, so recordMisbehaviour stops after
      // taking the golden table in SHARE mode; the witness requests then read (no record yet),
      // decide to cosign and wait at their insert. The record commits first: every insert must
      // see it and append nothing.
      const locker = await pool.connect();
      await locker.query("BEGIN");
      await lockWitnessOrigin(locker, ROGUE);
      const note = checkpoint(12, main.root(12), peerKey, ROGUE);
      const recorded = recordMisbehaviour(pool, {
        kind: "Forked",
        origin: ROGUE,
        logVkeys: [vkeyOf(ROGUE)],
        trustedNote: note,
        offeredNote: checkpoint(12, fork.root(12), peerKey, ROGUE),
        detectedAt: "2026-12-03T00:00:00.000Z",
        detail: "test: a fork at size 12",
      });
      await lockWaiters(locker, 1);
      const pending = Promise.all(
        Array.from({ length: 12 }, () =>
          add(request(12, main.proof(12, 30), checkpoint(30, main.root(30), peerKey, ROGUE))),
        ),
      );
      // recordMisbehaviour and every other pool connection (at its insert) wait on a lock.
      await lockWaiters(locker, POOL_MAX - 1);
      await locker.query("COMMIT");
      locker.release();
      await recorded;
      const answers = await pending;
      expect(answers.map((a) => [a.status, a.reason])).toEqual(
        Array.from({ length: 12 }, () => [403, WitnessReason.Quarantined]),
      );
      expect(await rows(ROGUE)).toEqual([
        { seq: "1", tree_size: "12", root: toHex(main.root(12)) },
      ]);
    });
  });

  it("the golden table is append-only", async () => {
    await expect(pool.query("UPDATE ledger_witness_checkpoints SET note = ''")).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query("DELETE FROM ledger_witness_checkpoints")).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query("TRUNCATE ledger_witness_checkpoints")).rejects.toThrow(/append-only/);
  });
});

describe("GET /v1/witness/checkpoint", () => {
  it("serves the latest cosigned checkpoint, which Go's transparency-dev/formats verifies", async () => {
    const r = await app.inject({
      method: "GET",
      url: `/v1/witness/checkpoint?origin=${encodeURIComponent(PEER)}`,
    });
    expect(r.statusCode).toBe(200);
    const latest = await service.latest(PEER);
    expect(r.body).toBe(latest!.note);
    expect(
      verifyCosignedCheckpoint(r.body, log, witnesses, new Date("2026-12-03T01:00:00Z")),
    ).toMatchObject({ ok: true, checkpoint: { size: 30 } });

    const root = fileURLToPath(new URL("../..", import.meta.url));
    const built = spawnSync("bash", [path.join(root, "hack/tlog-verifiers/build.sh")], {
      encoding: "utf8",
      timeout: 600_000,
    });
    expect(built.status).toBe(0);
    const go = spawnSync(built.stdout.trim(), [], {
      input: JSON.stringify([
        {
          kind: "checkpoint",
          note: r.body,
          origin: PEER,
          vkeys: [peerVkey],
          cosigners: [witness.vkey],
        },
      ]),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(go.status).toBe(0);
    expect(JSON.parse(go.stdout)).toMatchObject([
      { ok: true, size: "30", sigs: [{ name: PEER }, { name: witness.name }] },
    ]);

    const none = await app.inject({ method: "GET", url: "/v1/witness/checkpoint?origin=x.test/y" });
    expect(none.statusCode).toBe(404);
  });
});
