import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import { startPostgres, type PostgresServer } from "../../../test/harness/postgres.ts";
import { fixedClock } from "../clock.ts";
import { ed25519Signer, generateEd25519 } from "../ed25519.ts";
import { Ledger } from "../ledger.ts";
import { testCli, type TestCli } from "./cli-test-io.ts";

// Starting a private Postgres can take seconds on a busy 2-core machine.
jest.setTimeout(60_000);

let dir: string;
let server: PostgresServer;
let dbUrl: string;
let cli: TestCli;
const stop = new AbortController();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remembrancer-errors-"));
  server = await startPostgres();
  dbUrl = (await server.createDatabase("cli_errors")).url;
  cli = testCli(dir, () => ({ DATABASE_URL: dbUrl }), stop.signal);
  writeFileSync(join(dir, "plain.txt"), "no evidence beside me\n");
  writeFileSync(join(dir, "not-a-bundle.json"), "{");
});

afterAll(async () => {
  stop.abort();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("remembrancer bad input", () => {
  it.each<[string[], RegExp]>([
    [["verify-full", "nope.json"], /no such file: nope\.json/],
    [["verify-full", "plain.txt"], /nothing to verify/],
    [
      ["record", "--type", "x", "--subject", "s", "--payload", "{bad", "--key-dir", "keys"],
      /--payload is not valid JSON/,
    ],
    [["record", "--type", "x", "--subject", "s"], /no signing key/],
    [["timeline", "--since", "yesterday-ish"], /--since: not a date/],
    [["export-proof", `sha256:${"0".repeat(64)}`], /no receipt sha256:0+ in the ledger/],
    [["list", "--bogus"], /unknown option/],
  ])("exits 2 with a sentence for bad input %j", async (args, want) => {
    const r = await cli.run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(want);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("exits 2 for a malformed bundle", async () => {
    writeFileSync(
      join(dir, "bad.proof.json"),
      JSON.stringify({ format: "vaultmesh.cloud/proof-bundle/v1", receipt: {} }),
    );
    const r = await cli.run("verify-full", "bad.proof.json");
    expect(r).toMatchObject({ code: 2, err: expect.stringMatching(/receipt\.type/) });
  });
});

describe("remembrancer serve", () => {
  it("serves the proof API over the ledger database until stopped", async () => {
    const { match, done } = await cli.start(
      ["serve", "--port", "0"],
      /proof API listening on (\S+)/,
    );
    const base = match[1]!;
    expect((await fetch(`${base}/v1/tree-head`)).status).toBe(404);
    const pool = new pg.Pool({ connectionString: dbUrl, max: 1 });
    pool.on("error", () => undefined);
    const signer = ed25519Signer(generateEd25519().privateKeyPem);
    const ledger = await Ledger.open({
      pool,
      clock: fixedClock("2026-01-01T00:00:00Z"),
      logger: pino({ level: "silent" }),
      signer,
    });
    await ledger.append({ type: "deploy", subject: "svc", payload: {} });
    await pool.end();
    const head = (await (await fetch(`${base}/v1/tree-head`)).json()) as { treeSize: number };
    expect(head.treeSize).toBe(1);
    stop.abort();
    expect(await done).toBe(0);
  });
});
