import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres, type PostgresServer } from "../../../test/harness/postgres.ts";
import type { ProofBundle } from "../bundle.ts";
import { testCli, type TestCli } from "./cli-test-io.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// Generating keys, a TSA and a private Postgres takes seconds on a busy 2-core machine.
jest.setTimeout(60_000);

let dir: string;
let server: PostgresServer;
let dbUrl: string;
let tsaUrl: string;
const stopTsa = new AbortController();
let tsaDone: Promise<number>;

let cli: TestCli["run"];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remembrancer-cli-"));
  server = await startPostgres();
  dbUrl = (await server.createDatabase("cli")).url;
  const t = testCli(dir, () => ({ DATABASE_URL: dbUrl }), stopTsa.signal);
  cli = (...args) => t.run(...args);
  const tsa = await t.start(
    ["tsa", "serve", "--port", "0", "--dir", "tsa"],
    /TSA listening on (\S+)/,
  );
  tsaUrl = tsa.match[1]!;
  tsaDone = tsa.done;
  writeFileSync(join(dir, "artifact.tar.gz"), "pretend this is a release tarball\n");
});

afterAll(async () => {
  stopTsa.abort();
  expect(await tsaDone).toBe(0);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const trustArgs = ["--trust", "keys/trust.json", "--trust", "tsa/tsa-ca.crt"];

describe("remembrancer CLI", () => {
  it("keygen writes keys and prints key IDs; refuses to overwrite", async () => {
    const r = await cli("keygen", "--dir", "keys");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ed25519 [0-9a-f]{64}\nopenpgp [0-9A-F]{40}\n/);
    for (const f of ["ed25519.key", "ed25519.pub", "openpgp.key", "openpgp.pub", "trust.json"]) {
      expect(existsSync(join(dir, "keys", f))).toBe(true);
    }
    expect(
      existsSync(join(dir, "tsa", "tsa.crt")) && existsSync(join(dir, "tsa", "tsa-ca.crt")),
    ).toBe(true);
    const again = await cli("keygen", "--dir", "keys");
    expect(again).toMatchObject({ code: 2, err: expect.stringMatching(/--force/) });
  });

  it("sign and timestamp write evidence that gpg and openssl accept", async () => {
    expect((await cli("sign", "artifact.tar.gz", "--key-dir", "keys")).code).toBe(0);
    expect((await cli("timestamp", "artifact.tar.gz", "--tsa", tsaUrl)).code).toBe(0);
    const f = join(dir, "artifact.tar.gz");
    const ts = execFileSync(
      "openssl",
      ["ts", "-verify", "-data", f, "-in", `${f}.tsr`, "-CAfile", join(dir, "tsa", "tsa-ca.crt")],
      { encoding: "utf8", stdio: "pipe" },
    );
    expect(ts).toMatch(/Verification: OK/);
    const home = join(dir, "gnupg");
    mkdirSync(home, { mode: 0o700 });
    const gpg = (...a: string[]): string =>
      execFileSync("gpg", ["--homedir", home, "--batch", "--status-fd", "1", ...a], {
        encoding: "utf8",
        stdio: "pipe",
      });
    gpg("--import", join(dir, "keys", "openpgp.pub"));
    expect(gpg("--verify", `${f}.asc`, f)).toMatch(/GOODSIG/);
  });

  it("records the artifact, exports its proof and verifies the whole chain offline", async () => {
    const rec = await cli(
      "record",
      "--type",
      "deploy",
      "--subject",
      "aurora-staging",
      "--payload",
      '{"version":"v1.0"}',
      "--artifact",
      "artifact.tar.gz",
      "--key-dir",
      "keys",
      "--tsa",
      tsaUrl,
    );
    expect(rec.code).toBe(0);
    expect(rec.out).toMatch(
      /recorded sha256:[0-9a-f]{64} at log index 0 \(tree size 1, timestamped\)/,
    );
    expect(
      (
        await cli(
          "record",
          "--type",
          "deploy",
          "--subject",
          "other",
          "--key-dir",
          "keys",
          "--tsa",
          tsaUrl,
        )
      ).code,
    ).toBe(0);
    expect((await cli("export-proof", "artifact.tar.gz")).code).toBe(0);
    const v = await cli("verify-full", "artifact.tar.gz", ...trustArgs);
    expect(v.out).not.toMatch(/✘/);
    expect(v.out).toMatch(/✔ ledger: RFC 3161 timestamp/);
    expect(v.code).toBe(0);
  });

  it("exports a bundle by digest and verifies it, pinned or not", async () => {
    const list = await cli("list", "--json");
    const entries = JSON.parse(list.out) as { receipt: { digest: string } }[];
    expect(entries).toHaveLength(2);
    const digest = entries[1]!.receipt.digest;
    expect((await cli("export-proof", digest, "--out", "bundle.json")).code).toBe(0);
    expect((await cli("verify-full", "bundle.json", ...trustArgs)).code).toBe(0);
    const unpinned = await cli("verify-full", "bundle.json");
    expect(unpinned).toMatchObject({ code: 0, out: expect.stringMatching(/pass --trust to pin/) });
  });

  it("the bundle's tree head passes gpg --verify and openssl ts -verify (as docs/ledger.md shows)", () => {
    const b = JSON.parse(readFileSync(join(dir, "bundle.json"), "utf8")) as ProofBundle;
    const cp = b.treeHead.checkpoint;
    const body = cp.slice(0, cp.indexOf("\n\n") + 1);
    writeFileSync(join(dir, "checkpoint.txt"), body);
    writeFileSync(join(dir, "checkpoint.txt.asc"), b.treeHead.openpgpSignature!);
    writeFileSync(
      join(dir, "checkpoint.txt.tsr"),
      Buffer.from(b.treeHead.timestampToken!, "base64"),
    );
    const f = join(dir, "checkpoint.txt");
    const ts = execFileSync(
      "openssl",
      ["ts", "-verify", "-data", f, "-in", `${f}.tsr`, "-CAfile", join(dir, "tsa", "tsa-ca.crt")],
      { encoding: "utf8", stdio: "pipe" },
    );
    expect(ts).toMatch(/Verification: OK/);
    const out = execFileSync(
      "gpg",
      ["--homedir", join(dir, "gnupg"), "--batch", "--status-fd", "1", "--verify", `${f}.asc`, f],
      { encoding: "utf8", stdio: "pipe" },
    );
    expect(out).toMatch(/GOODSIG/);
  });

  it.each<[string, (b: Mutable<ProofBundle>) => void, string]>([
    [
      "payload",
      (b) => void (b.receipt = { ...b.receipt, payload: { evil: true } }),
      "receipt digest",
    ],
    [
      "proof hash",
      (b) =>
        void (b.inclusionProof = {
          ...b.inclusionProof,
          hashes: ["0".repeat(64), ...b.inclusionProof.hashes.slice(1)],
        }),
      "inclusion proof",
    ],
    [
      "TSA token",
      (b) =>
        void (b.treeHead = {
          ...b.treeHead,
          timestampToken: `AAAA${b.treeHead.timestampToken!.slice(4)}`,
        }),
      "RFC 3161 timestamp",
    ],
  ])(
    "verify-full exits 1 naming the link when the bundle's %s is tampered with",
    async (_what, mutate, wantLink) => {
      const b = JSON.parse(readFileSync(join(dir, "bundle.json"), "utf8")) as Mutable<ProofBundle>;
      mutate(b);
      writeFileSync(join(dir, "tampered.json"), JSON.stringify(b));
      const r = await cli("verify-full", "tampered.json", ...trustArgs);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`✘ ${wantLink}`);
    },
  );

  it("verify-full exits 1 when the artifact changed after signing", async () => {
    writeFileSync(join(dir, "copy.tar.gz"), "pretend this is a release tarball, modified\n");
    for (const ext of [".sig.json", ".asc", ".tsr", ".proof.json"]) {
      writeFileSync(
        join(dir, `copy.tar.gz${ext}`),
        readFileSync(join(dir, `artifact.tar.gz${ext}`)),
      );
    }
    const r = await cli("verify-full", "copy.tar.gz", ...trustArgs, "--json");
    expect(r.code).toBe(1);
    const failed = (JSON.parse(r.out) as { checks: { link: string; ok: boolean }[] }).checks
      .filter((c) => !c.ok)
      .map((c) => c.link);
    expect(failed).toEqual([
      "file digest",
      "OpenPGP signature (.asc)",
      "RFC 3161 timestamp (.tsr)",
      "ledger receipt names this file",
    ]);
  });

  it("lists, shows a timeline and audits the ledger", async () => {
    expect((await cli("list", "deploy")).out).toMatch(/aurora-staging/);
    expect(
      (await cli("timeline", "--since", "2026-06-01")).out.split("\n").filter(Boolean),
    ).toHaveLength(2);
    expect((await cli("timeline", "--since", "2026-07-01")).out).toMatch(/no entries/);
    const audit = await cli("verify-audit", "--key-dir", "keys", "--signatures");
    expect(audit).toMatchObject({
      code: 0,
      out: expect.stringMatching(
        /✔ root — computed Merkle root matches the published root: size 2/,
      ),
    });
  });

  it("runs as a bin through the launcher, even from the system Node", () => {
    const bin = join(process.cwd(), "bin", "remembrancer.js");
    const systemNode = existsSync("/usr/bin/node") ? "/usr/bin/node" : "node";
    const r = spawnSync(
      systemNode,
      [
        bin,
        "verify-full",
        join(dir, "bundle.json"),
        "--trust",
        join(dir, "keys/trust.json"),
        "--trust",
        join(dir, "tsa/tsa-ca.crt"),
      ],
      { encoding: "utf8" },
    );
    expect(r.stdout).toMatch(/verified/);
    expect(r.status).toBe(0);
  });
});
