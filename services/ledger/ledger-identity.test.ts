import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import {
  derivedOrigin,
  OriginSource,
  SHARED_LEGACY_ORIGIN,
  type OriginInputs,
} from "./log-origin.ts";
import { fixedClock } from "./clock.ts";
import { ed25519Signer, generateEd25519, type Ed25519Signer } from "./ed25519.ts";
import { Ledger } from "./ledger.ts";
import { awaitsGenesis, identifyLedger, LedgerOriginError } from "./ledger-identity.ts";
import { MIGRATIONS, migrate } from "./store/migrations.ts";
import { testCli } from "./cli/cli-test-io.ts";

// A private Postgres and key generation take seconds on a busy 2-core machine.
jest.setTimeout(60_000);

const logger = pino({ level: "silent" });
const clock = fixedClock("2026-07-01T00:00:00Z", 1);
const newSigner = (): Ed25519Signer => ed25519Signer(generateEd25519().privateKeyPem);
const input = (n: number): Parameters<Ledger["append"]>[0] => ({
  type: "workload.completed",
  subject: { kind: "GPUWorkload", namespace: "t", name: `w-${n}`, uid: `u-${n}` },
  payload: { n },
});
const originOf = (checkpoint: string): string => checkpoint.slice(0, checkpoint.indexOf("\n"));

let server: PostgresServer;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server.stop();
});

async function freshPool(prefix: string): Promise<{ pool: pg.Pool; url: string }> {
  const { url } = await server.createDatabase(prefix);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => undefined); // idle clients die with the server at teardown
  pools.push(pool);
  return { pool, url };
}

async function identityRows(pool: pg.Pool): Promise<{ origin: string; source: string }[]> {
  return (await pool.query<{ origin: string; source: string }>("SELECT * FROM ledger_identity"))
    .rows;
}

describe("awaitsGenesis", () => {
  const key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  it.each<[string, OriginInputs, boolean]>([
    ["a reader of a ledger nobody started", {}, true],
    ["empty configured counts as unset", { configured: "" }, true],
    ["a configured origin decides", { configured: "ledger.example/x" }, false],
    ["a signer decides", { logPublicKey: key }, false],
    ["a recorded origin exists", { recorded: "ledger.example/x" }, false],
    ["a legacy tree head exists", { latestTreeHead: SHARED_LEGACY_ORIGIN }, false],
  ])("%s → %s", (_name, inputs, want) => {
    expect(awaitsGenesis(inputs)).toBe(want);
  });
});

describe("Ledger.open settles the log origin (ADR 0081)", () => {
  it("derives it from the genesis key, records it once and keeps it across reopen and key rotation", async () => {
    const { pool } = await freshPool("origin-derived");
    const genesisKey = newSigner();
    const first = await Ledger.open({ pool, clock, logger, signer: genesisKey });
    expect(first.origin).toBe(derivedOrigin(genesisKey.publicKey));
    expect(first.origin).toMatch(/^vaultmesh\.cloud\/remembrancer\/[0-9a-f]{16}$/);
    expect(await identityRows(pool)).toEqual([
      expect.objectContaining({ origin: first.origin, source: OriginSource.Derived }),
    ]);
    const appended = await first.append(input(1));
    expect(originOf(appended.treeHead.checkpoint)).toBe(first.origin);

    // Reopened with a rotated key and with the same origin configured: still the recorded one.
    const rotated = await Ledger.open({ pool, clock, logger, signer: newSigner() });
    expect(rotated.origin).toBe(first.origin);
    const same = await Ledger.open({ pool, clock, logger, origin: first.origin });
    expect(same.origin).toBe(first.origin);
    expect(originOf((await rotated.append(input(2))).treeHead.checkpoint)).toBe(first.origin);
    expect((await same.trust()).origin).toBe(first.origin);
    expect(await identityRows(pool)).toHaveLength(1);
  });

  it("refuses a configured origin other than the recorded one, naming both", async () => {
    const { pool } = await freshPool("origin-mismatch");
    const ledger = await Ledger.open({ pool, clock, logger, signer: newSigner() });
    const opening = Ledger.open({
      pool,
      clock,
      logger,
      signer: newSigner(),
      origin: "ledger.example/elsewhere",
    });
    await expect(opening).rejects.toThrow(LedgerOriginError);
    await expect(opening).rejects.toThrow(
      `ledger origin: origin "ledger.example/elsewhere" is configured, but this ledger signs as "${ledger.origin}" (recorded at genesis): the origin is the log's identity and cannot change`,
    );
    await expect(opening).rejects.toMatchObject({ reason: "LedgerOriginRefused" });
  });

  it("keeps exactly one row, never updated or deleted", async () => {
    const { pool } = await freshPool("origin-append-only");
    await Ledger.open({ pool, clock, logger, signer: newSigner() });
    await expect(pool.query("UPDATE ledger_identity SET origin = 'x.example/y'")).rejects.toThrow(
      /ledger table ledger_identity is append-only: UPDATE refused/,
    );
    await expect(pool.query("DELETE FROM ledger_identity")).rejects.toThrow(/DELETE refused/);
    await expect(
      pool.query(
        "INSERT INTO ledger_identity (singleton, origin, source, created_at) VALUES (true, 'x.example/y', 'Configured', now())",
      ),
    ).rejects.toThrow(/duplicate key/);
  });

  it("two processes opening a fresh ledger at once agree on one origin", async () => {
    const { url, pool } = await freshPool("origin-race");
    await migrate(pool); // so that the opens below do not queue on the migration lock
    const opens = Array.from({ length: 6 }, () => {
      const p = new pg.Pool({ connectionString: url, max: 2 });
      p.on("error", () => undefined);
      pools.push(p);
      return Ledger.open({ pool: p, clock, logger, signer: newSigner(), migrate: false });
    });
    const ledgers = await Promise.all(opens);
    const origins = new Set(ledgers.map((l) => l.origin));
    expect(origins.size).toBe(1);
    const [origin] = origins;
    expect(await identityRows(pool)).toEqual([
      expect.objectContaining({ origin, source: OriginSource.Derived }),
    ]);
    const heads = await Promise.all(ledgers.map(async (l, i) => await l.append(input(i))));
    for (const h of heads) expect(originOf(h.treeHead.checkpoint)).toBe(origin);
  });

  it("the process that loses the race to record takes the winner's origin, or fails if configured otherwise", async () => {
    const { pool } = await freshPool("origin-lost-race");
    await migrate(pool);
    const winner = newSigner();
    let winnerOrigin: string | undefined;
    // Lets the winner open (and record) between the loser's decision and its INSERT.
    const racing = {
      query: async (text: string, values?: unknown[]) => {
        if (text.includes("INSERT INTO ledger_identity") && winnerOrigin === undefined) {
          winnerOrigin = (await Ledger.open({ pool, clock, logger, signer: winner })).origin;
        }
        return await pool.query(text, values);
      },
    } as unknown as pg.Pool;
    const loser = await identifyLedger(racing, {
      logPublicKey: newSigner().publicKey,
      now: clock.now(),
    });
    expect(winnerOrigin).toBe(derivedOrigin(winner.publicKey));
    expect(loser).toEqual({ origin: winnerOrigin, source: OriginSource.Recorded });

    const { pool: pool2 } = await freshPool("origin-lost-race-configured");
    await migrate(pool2);
    let won = false;
    const racing2 = {
      query: async (text: string, values?: unknown[]) => {
        if (text.includes("INSERT INTO ledger_identity") && !won) {
          won = true;
          await Ledger.open({ pool: pool2, clock, logger, signer: winner });
        }
        return await pool2.query(text, values);
      },
    } as unknown as pg.Pool;
    await expect(
      identifyLedger(racing2, { configured: "ledger.example/mine", now: clock.now() }),
    ).rejects.toThrow(
      `origin "ledger.example/mine" is configured, but this ledger signs as "${derivedOrigin(winner.publicKey)}"`,
    );
    expect(await identityRows(pool2)).toHaveLength(1);
  });

  it("takes a configured origin at genesis; refuses the shared legacy one for a new log", async () => {
    const { pool } = await freshPool("origin-configured");
    const legacy = Ledger.open({
      pool,
      clock,
      logger,
      signer: newSigner(),
      origin: SHARED_LEGACY_ORIGIN,
    });
    await expect(legacy).rejects.toThrow(/was shared by every install and cannot start a new log/);
    const ledger = await Ledger.open({
      pool,
      clock,
      logger,
      signer: newSigner(),
      origin: "ledger.acme.example/vaultmesh",
    });
    expect(ledger.origin).toBe("ledger.acme.example/vaultmesh");
    expect(await identityRows(pool)).toEqual([
      expect.objectContaining({ origin: ledger.origin, source: OriginSource.Configured }),
    ]);
    // The operator configures none and signs under it.
    const operator = await Ledger.open({ pool, clock, logger, signer: newSigner() });
    expect(originOf((await operator.append(input(1))).treeHead.checkpoint)).toBe(ledger.origin);
  });

  it("a reader that opened before genesis learns the origin once a signer recorded it", async () => {
    const { pool } = await freshPool("origin-reader");
    const reader = await Ledger.open({ pool, clock, logger });
    expect(reader.origin).toBeUndefined();
    expect((await reader.trust()).origin).toBeUndefined();
    expect(await identityRows(pool)).toEqual([]);
    const writer = await Ledger.open({ pool, clock, logger, signer: newSigner() });
    expect((await reader.trust()).origin).toBe(writer.origin);
    expect(reader.origin).toBe(writer.origin);
  });

  it("a database from before the record keeps its latest tree head's origin, legacy one included", async () => {
    const { pool } = await freshPool("origin-legacy");
    await migrate(pool, MIGRATIONS.slice(0, 2));
    const root = Buffer.alloc(32, 7).toString("base64");
    await pool.query(
      "INSERT INTO ledger_tree_heads (tree_size, root_hash, checkpoint, created_at) VALUES (1, $1, $2, now())",
      [
        Buffer.alloc(32, 7),
        `${SHARED_LEGACY_ORIGIN}\n1\n${root}\n\n— ${SHARED_LEGACY_ORIGIN} sig\n`,
      ],
    );
    const other = Ledger.open({ pool, clock, logger, origin: "ledger.example/new" });
    await expect(other).rejects.toThrow(
      /\(its latest tree head\): the origin is the log's identity/,
    );
    const ledger = await Ledger.open({ pool, clock, logger, signer: newSigner() });
    expect(ledger.origin).toBe(SHARED_LEGACY_ORIGIN);
    expect(await identityRows(pool)).toEqual([
      expect.objectContaining({
        origin: SHARED_LEGACY_ORIGIN,
        source: OriginSource.LatestTreeHead,
      }),
    ]);
  });
});

describe("the operator and the CLI sign under the ledger's one origin", () => {
  it("tree heads of both carry it, keygen's trust bundle names it, a different one is refused", async () => {
    const { pool, url } = await freshPool("origin-cli");
    const dir = mkdtempSync(join(tmpdir(), "ledger-origin-cli-"));
    try {
      let env: Record<string, string | undefined> = { DATABASE_URL: url };
      const cli = testCli(dir, () => env, new AbortController().signal);
      expect((await cli.run("keygen", "--dir", "keys")).code).toBe(0);
      const trust = JSON.parse(readFileSync(join(dir, "keys", "trust.json"), "utf8")) as {
        origin: string;
        ed25519: { publicKey: string }[];
      };
      expect(trust.origin).toBe(derivedOrigin(trust.ed25519[0]!.publicKey));

      // The operator opens first (no origin configured), with the key keygen wrote.
      const key = readFileSync(join(dir, "keys", "ed25519.key"), "utf8");
      const operator = await Ledger.open({ pool, clock, logger, signer: ed25519Signer(key) });
      const opHead = (await operator.append(input(1))).treeHead;
      expect(operator.origin).toBe(trust.origin);

      const rec = await cli.run(
        "record",
        "--type",
        "deploy",
        "--subject",
        "x",
        "--key-dir",
        "keys",
        "--json",
      );
      expect(rec).toMatchObject({ code: 0, err: "" });
      const head = await operator.latestTreeHead();
      expect(head?.treeSize).toBe(2);
      expect(originOf(head!.checkpoint)).toBe(originOf(opHead.checkpoint));
      expect(originOf(head!.checkpoint)).toBe(trust.origin);

      env = { DATABASE_URL: url, REMEMBRANCER_ORIGIN: "ledger.example/elsewhere" };
      const refused = await cli.run(
        "record",
        "--type",
        "deploy",
        "--subject",
        "y",
        "--key-dir",
        "keys",
      );
      expect(refused.code).toBe(2);
      expect(refused.err).toContain(
        `origin "ledger.example/elsewhere" is configured, but this ledger signs as "${trust.origin}"`,
      );
      expect((await operator.latestTreeHead())?.treeSize).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
