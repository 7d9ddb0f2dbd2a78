import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import { startPostgres, type PostgresServer } from "../../../test/harness/postgres.ts";
import { fixedClock } from "../clock.ts";
import { ed25519Signer, generateEd25519 } from "../ed25519.ts";
import { Ledger } from "../ledger.ts";
import { CLI_REASON, CliError, classifyError, databaseFailure } from "./cli-errors.ts";
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
  mkdirSync(join(dir, "badkeys"));
  writeFileSync(join(dir, "badkeys", "ed25519.key"), "not a key\n");
  mkdirSync(join(dir, "adir"));
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
    [["list", "--db", "not a url"], /--db: expected a postgres:\/\/.*\[db-url-invalid\]/],
    [
      ["list", "--db", "postgres://127.0.0.1:1/x"],
      /database at 127\.0\.0\.1:1 \(connection refused.*\[db-unreachable\]/,
    ],
    [
      ["record", "--type", "x", "--subject", "s", "--key-dir", "badkeys"],
      /badkeys\/ed25519\.key is not an Ed25519 private key.*keygen.*\[ed25519-key-invalid\]/,
    ],
    [["verify-full", "adir"], /file adir is a directory: pass a file \[file-is-directory\]/],
  ])("exits 2 with a sentence for bad input %j", async (args, want) => {
    const r = await cli.run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(want);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("names a database that does not exist, with the password redacted", async () => {
    const u = new URL(dbUrl);
    u.pathname = "/no_such_ledger";
    u.password = "s3cret";
    const r = await cli.run("list", "--db", u.toString());
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no_such_ledger does not exist: create it .*\[db-missing\]/);
    expect(r.err).not.toMatch(/s3cret/);
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

describe("verify-full of a time-stamped file", () => {
  it("says the TSA's issuing CA is missing and how to pass it, instead of pkijs's words", async () => {
    const tsaStop = new AbortController();
    const tsaCli = testCli(dir, () => ({}), tsaStop.signal);
    const tsa = await tsaCli.start(
      ["tsa", "serve", "--port", "0", "--dir", "tsa"],
      /TSA listening on (\S+)/,
    );
    try {
      writeFileSync(join(dir, "release.tar.gz"), "a release\n");
      expect((await cli.run("timestamp", "release.tar.gz", "--tsa", tsa.match[1]!)).code).toBe(0);
      const unpinned = await cli.run("verify-full", "release.tar.gz");
      expect(unpinned.code).toBe(1);
      const line = unpinned.out.split("\n").find((l) => l.includes("RFC 3161 timestamp"));
      expect(line).toMatch(/^✘ .*issuing CA certificate is missing \[tsa-issuer-untrusted\]$/);
      expect(unpinned.out).toMatch(
        /→ pass the TSA's issuing CA certificate with --trust FILE\.pem/,
      );
      expect(unpinned.out).not.toMatch(/name chaining/);
      const json = await cli.run("verify-full", "release.tar.gz", "--json");
      const checks = (
        JSON.parse(json.out) as { checks: { link: string; code?: string; remedy?: string }[] }
      ).checks;
      expect(checks.find((c) => c.link.startsWith("RFC 3161"))).toMatchObject({
        code: CLI_REASON.tsaIssuerUntrusted,
        remedy: expect.stringMatching(/--trust/),
      });
      const pinned = await cli.run("verify-full", "release.tar.gz", "--trust", "tsa/tsa-ca.crt");
      expect(pinned.out).toMatch(/^✔ RFC 3161 timestamp \(\.tsr\) — genTime /m);
    } finally {
      tsaStop.abort();
      expect(await tsa.done).toBe(0);
    }
  });
});

describe("classifyError and databaseFailure", () => {
  const pgError = (code: string): Error =>
    Object.assign(new Error("raw server text"), { code, severity: "FATAL" });
  it.each<[string, unknown, string]>([
    ["refused", pgError("28P01"), CLI_REASON.dbAuthFailed],
    ["no such db", pgError("3D000"), CLI_REASON.dbMissing],
    ["no tables", pgError("42P01"), CLI_REASON.dbNotMigrated],
    ["starting", pgError("57P03"), CLI_REASON.dbUnavailable],
    [
      "conn refused",
      Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
      CLI_REASON.dbUnreachable,
    ],
    ["dns", Object.assign(new Error("x"), { code: "ENOTFOUND" }), CLI_REASON.dbHostUnknown],
  ])("maps a database failure (%s) to its reason", (_, err, wantReason) => {
    const got = databaseFailure(err, "postgres://u:pw@db:5432/ledger");
    expect(got).toBeInstanceOf(CliError);
    expect((got as CliError).reason).toBe(wantReason);
    expect((got as CliError).message).not.toMatch(/raw server text|pw@/);
  });

  it("leaves errors that are not about the database alone", () => {
    const other = new Error("something else");
    expect(databaseFailure(other, "postgres://db/x")).toBe(other);
  });

  it.each<[string, unknown, string | undefined]>([
    [
      "missing file",
      Object.assign(new Error("x"), { code: "ENOENT", path: "/a" }),
      CLI_REASON.fileMissing,
    ],
    ["directory", Object.assign(new Error("x"), { code: "EISDIR" }), CLI_REASON.fileIsDirectory],
    [
      "permission",
      Object.assign(new Error("x"), { code: "EACCES", path: "/a" }),
      CLI_REASON.filePermission,
    ],
    [
      "dual-stack refusal",
      Object.assign(
        new AggregateError([Object.assign(new Error("x"), { address: "::1", port: 9 })]),
        {
          code: "ECONNREFUSED",
        },
      ),
      CLI_REASON.connectionRefused,
    ],
    ["unknown", new Error("x"), undefined],
  ])("classifies %s", (_, err, wantReason) => {
    expect(classifyError(err)?.reason).toBe(wantReason);
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
