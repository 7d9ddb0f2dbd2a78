import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import pg from "pg";
import { startPostgres, type PostgresServer } from "../../../test/harness/postgres.ts";
import { testCli, type TestCli } from "../cli/cli-test-io.ts";
import { auditLedger } from "../verify-audit.ts";
import { SNAPSHOT_REFUSAL, SnapshotRefusal } from "./snapshot-format.ts";
import type { CheckBatch, CheckedBatch } from "./snapshot-check-pool.ts";
import { SnapshotChecker } from "./snapshot-check.ts";
import { checkEntryBatch } from "./snapshot-entries.ts";
import {
  checkSnapshotFile,
  restoreSnapshot,
  snapshotBatches,
  verifySnapshot,
} from "./snapshot-restore.ts";

// A private Postgres and several databases on a busy 2-core machine.
jest.setTimeout(120_000);

let dir: string;
let server: PostgresServer;
let sourceUrl: string;
let cli: TestCli;
const stop = new AbortController();

async function relations(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
    );
    return rows[0]!.n;
  } finally {
    await c.end();
  }
}

/** Rewrites the snapshot's uncompressed lines and writes the result as a new snapshot. */
function tamper(name: string, edit: (lines: string[]) => string[]): string {
  const lines = gunzipSync(readFileSync(join(dir, "ledger.snap.gz")))
    .toString("utf8")
    .split("\n");
  writeFileSync(join(dir, name), gzipSync(Buffer.from(edit(lines).join("\n"))));
  return name;
}

const entryLineAt = (lines: string[], i: number): number =>
  lines.findIndex((l) => l.startsWith(`{"i":${i},`));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remembrancer-snapshot-"));
  server = await startPostgres();
  sourceUrl = (await server.createDatabase("snap_src")).url;
  cli = testCli(dir, () => ({ DATABASE_URL: sourceUrl }), stop.signal);
  expect((await cli.run("keygen", "--dir", "keys")).code).toBe(0);
  expect((await cli.run("keygen", "--dir", "other")).code).toBe(0);
  for (let i = 0; i < 6; i++) {
    const r = await cli.run(
      "record",
      "--type",
      "deploy",
      "--subject",
      `svc-${i}`,
      "--payload",
      JSON.stringify({ version: `v1.${i}`, note: "caf\u00e9 \u2713" }),
      "--key-dir",
      "keys",
    );
    expect(r.code).toBe(0);
  }
  const c = await cli.run("snapshot", "create", "ledger.snap.gz", "--key-dir", "keys", "--json");
  expect(c.code).toBe(0);
});

afterAll(async () => {
  stop.abort();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("snapshot create / verify / restore", () => {
  it("verifies a fresh snapshot, pinned and unpinned", async () => {
    const pinned = await cli.run(
      "snapshot",
      "verify",
      "ledger.snap.gz",
      "--trust",
      "keys/trust.json",
    );
    expect(pinned).toMatchObject({ code: 0 });
    expect(pinned.out).toMatch(/✔ entries — 6 entries/);
    expect(pinned.out).toMatch(/✔ tree heads — 6 signed tree heads/);
    const unpinned = await cli.run("snapshot", "verify", "ledger.snap.gz");
    expect(unpinned.out).toMatch(/pass --trust to pin/);
  });

  it("restores into an empty database whose log audits and has the snapshot's root", async () => {
    const target = await server.createDatabase("snap_dst");
    const r = await cli.run(
      "snapshot",
      "restore",
      "ledger.snap.gz",
      "--into",
      target.url,
      "--trust",
      "keys/trust.json",
      "--json",
    );
    expect(r.code).toBe(0);
    const restored = JSON.parse(r.out) as { rootHash: string; treeSize: number };
    const src = new pg.Pool({ connectionString: sourceUrl, max: 1 });
    const dst = new pg.Pool({ connectionString: target.url, max: 1 });
    try {
      const [a, b] = [await auditLedger({ pool: src }), await auditLedger({ pool: dst })];
      expect(b.ok).toBe(true);
      expect(b).toMatchObject({ treeSize: 6, rootHash: a.rootHash });
      expect(restored).toMatchObject({ treeSize: 6, rootHash: a.rootHash });
      const copy = "SELECT log_index, receipt, appended_at FROM ledger_entries ORDER BY log_index";
      expect((await dst.query(copy)).rows).toEqual((await src.query(copy)).rows);
      // Secondary indexes are dropped for the load and rebuilt before commit.
      const indexes =
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname";
      expect((await dst.query(indexes)).rows).toEqual((await src.query(indexes)).rows);
      const keys = "SELECT key_id, kind, public_key FROM ledger_keys ORDER BY key_id";
      expect((await dst.query(keys)).rows).toEqual((await src.query(keys)).rows);
    } finally {
      await src.end();
      await dst.end();
    }
    // The restored ledger takes new appends under the same identity.
    const next = await cli.run(
      "record",
      "--type",
      "deploy",
      "--subject",
      "after-restore",
      "--key-dir",
      "keys",
      "--db",
      target.url,
    );
    expect(next.code).toBe(0);
  });

  it("refuses a non-empty target and leaves it as it was", async () => {
    const r = await cli.run("snapshot", "restore", "ledger.snap.gz", "--into", sourceUrl);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/target database is not empty.*\[snapshot-target-not-empty\]/);
  });

  it.each<[string, () => string, string[], string, RegExp]>([
    [
      "truncated",
      () => {
        const gz = readFileSync(join(dir, "ledger.snap.gz"));
        writeFileSync(join(dir, "cut.gz"), gz.subarray(0, Math.floor(gz.length * 0.6)));
        return "cut.gz";
      },
      [],
      SNAPSHOT_REFUSAL.truncated,
      /truncated/,
    ],
    [
      "flipped byte in an entry",
      () =>
        tamper("flipped.gz", (ls) => {
          const at = entryLineAt(ls, 3);
          ls[at] = ls[at]!.replace("v1.3", "v1.9");
          return ls;
        }),
      [],
      SNAPSHOT_REFUSAL.badEntry,
      /first bad entry: 3\): entry 3: receipt digest does not match/,
    ],
    [
      "reordered entries",
      () =>
        tamper("reordered.gz", (ls) => {
          const [a, b] = [entryLineAt(ls, 1), entryLineAt(ls, 2)];
          [ls[a], ls[b]] = [ls[b]!, ls[a]!];
          return ls;
        }),
      [],
      SNAPSHOT_REFUSAL.outOfOrder,
      /first bad entry: 1\): entry 1 is missing: the next entry in the snapshot is 2/,
    ],
    [
      "forged tree head",
      () =>
        tamper("forged-head.gz", (ls) => {
          const at = ls.findIndex((l) => l.startsWith('{"h":{"treeSize":4,'));
          ls[at] = ls[at]!.replace(/"rootHash":"[0-9a-f]{64}"/, `"rootHash":"${"ab".repeat(32)}"`);
          return ls;
        }),
      [],
      SNAPSHOT_REFUSAL.badTreeHead,
      /tree head 4: stored root differs/,
    ],
    [
      "forged trailer root",
      () =>
        tamper("forged-trailer.gz", (ls) => {
          const at = ls.findIndex((l) => l.startsWith('{"end":'));
          ls[at] = ls[at]!.replace(/"rootHash":"[0-9a-f]{64}"/, `"rootHash":"${"cd".repeat(32)}"`);
          return ls;
        }),
      [],
      SNAPSHOT_REFUSAL.badStatement,
      /root differs from the root recomputed/,
    ],
    [
      "its last lines cut off at a line boundary (no trailer)",
      () => tamper("no-trailer.gz", (ls) => ls.slice(0, entryLineAt(ls, 4))),
      [],
      SNAPSHOT_REFUSAL.truncated,
      /first bad entry: 4\): the snapshot is truncated after entry 3: no signed trailer/,
    ],
    [
      "an entry dropped with the tree head after it",
      () =>
        tamper("dropped.gz", (ls) =>
          ls.filter((_, k) => k !== entryLineAt(ls, 2) && k !== entryLineAt(ls, 2) + 1),
        ),
      [],
      SNAPSHOT_REFUSAL.outOfOrder,
      /first bad entry: 2\): entry 2 is missing: the next entry in the snapshot is 3/,
    ],
    [
      "a tree head dropped",
      () =>
        tamper("dropped-head.gz", (ls) => ls.filter((l) => !l.startsWith('{"h":{"treeSize":3,'))),
      [],
      SNAPSHOT_REFUSAL.badStatement,
      /content hash does not match the lines before it/,
    ],
    [
      "a forged trailer signature",
      () =>
        tamper("forged-signature.gz", (ls) => {
          const at = ls.findIndex((l) => l.startsWith('{"end":'));
          ls[at] = ls[at]!.replace(/"value":"[A-Za-z0-9+/]{20}/, `"value":"${"A".repeat(20)}`);
          return ls;
        }),
      ["--trust", "keys/trust.json"],
      SNAPSHOT_REFUSAL.untrustedSigner,
      /the snapshot's signature does not verify/,
    ],
    [
      "a key that is not trusted",
      () => "ledger.snap.gz",
      ["--trust", "other/trust.json"],
      SNAPSHOT_REFUSAL.badTreeHead,
      /tree head 1:/,
    ],
  ])(
    "refuses a snapshot with %s, naming it, and leaves the target empty",
    async (_what, make, extra, wantCode, wantDetail) => {
      const file = make();
      const v = await cli.run("snapshot", "verify", file, ...extra);
      expect(v.code).toBe(1);
      expect(v.out).toMatch(wantDetail);
      expect(v.out).toContain(`[${wantCode}]`);
      const target = await server.createDatabase("snap_bad");
      const r = await cli.run(
        "snapshot",
        "restore",
        file,
        "--into",
        target.url,
        ...extra,
        "--json",
      );
      expect(r.code).toBe(1);
      expect(JSON.parse(r.out)).toMatchObject({ ok: false, reason: wantCode });
      expect(await relations(target.url)).toBe(0);
    },
  );

  it("rolls back rows already written when a later entry is bad", async () => {
    const file = tamper("late-bad.gz", (ls) => {
      const at = entryLineAt(ls, 5);
      ls[at] = ls[at]!.replace("v1.5", "v1.6");
      return ls;
    });
    const target = await server.createDatabase("snap_late");
    const pool = new pg.Pool({ connectionString: target.url, max: 1 });
    try {
      // One entry per INSERT: entries 0-4 are in the transaction when entry 5 is refused.
      const err = await restoreSnapshot({ pool, file: join(dir, file), batch: 1 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SnapshotRefusal);
      expect(err).toMatchObject({ code: SNAPSHOT_REFUSAL.badEntry, entry: 5 });
    } finally {
      await pool.end();
    }
    expect(await relations(target.url)).toBe(0);
  });

  it("names the lowest bad entry even when a later bad batch is checked first", async () => {
    const file = join(
      dir,
      tamper("two-bad.gz", (ls) => {
        for (const i of [2, 5]) {
          const at = entryLineAt(ls, i);
          ls[at] = ls[at]!.replace(`v1.${i}`, "v1.8");
        }
        return ls;
      }),
    );
    // Small batches (about a line each), all in flight at once, finished last to first.
    const batchBytes = 64;
    let total = 0;
    for await (const _ of snapshotBatches(file, batchBytes)) total++;
    expect(total).toBeGreaterThan(8);
    const held: { batch: Uint8Array; resolve: (b: CheckedBatch) => void }[] = [];
    const finished: (number | undefined)[] = [];
    const check: CheckBatch = (batch) =>
      new Promise((resolve) => {
        held.push({ batch, resolve });
        if (held.length < total) return;
        for (const h of held.reverse()) {
          const result = checkEntryBatch(h.batch, false);
          finished.push(result.problem?.entry);
          h.resolve({ batch: h.batch, result });
        }
      });
    const err = await checkSnapshotFile(file, new SnapshotChecker(), {
      check,
      batchBytes,
      inFlight: total,
    }).catch((e: unknown) => e);
    const bad = finished.filter((e) => e !== undefined);
    expect(bad).toEqual([5, 2]); // entry 5's batch was done first
    expect(err).toBeInstanceOf(SnapshotRefusal);
    expect(err).toMatchObject({ code: SNAPSHOT_REFUSAL.badEntry, entry: 2 });
    expect((err as Error).message).toMatch(/^entry 2: receipt digest does not match/);
    // The same through the worker threads, with several batches at once.
    await expect(verifySnapshot(file, undefined, { threads: 2, batchBytes })).rejects.toMatchObject(
      { code: SNAPSHOT_REFUSAL.badEntry, entry: 2 },
    );
  });

  it("time-stamps the snapshot when a TSA is given, and verifies the token", async () => {
    const tsaStop = new AbortController();
    const tsa = await testCli(dir, () => ({}), tsaStop.signal).start(
      ["tsa", "serve", "--port", "0", "--dir", "tsa"],
      /TSA listening on (\S+)/,
    );
    try {
      const url = tsa.match[1]!;
      const c = await cli.run(
        "snapshot",
        "create",
        "stamped.gz",
        "--key-dir",
        "keys",
        "--tsa",
        url,
      );
      expect(c).toMatchObject({ code: 0, out: expect.stringMatching(/time-stamped/) });
      const v = await cli.run(
        "snapshot",
        "verify",
        "stamped.gz",
        "--trust",
        "keys/trust.json",
        "--trust",
        "tsa/tsa-ca.crt",
      );
      expect(v).toMatchObject({
        code: 0,
        out: expect.stringMatching(/✔ snapshot timestamp — genTime/),
      });
    } finally {
      tsaStop.abort();
      expect(await tsa.done).toBe(0);
    }
  });
});
