// `make release` (hack/image/release.sh) against a private Postgres and the development TSA:
// the image digest is signed, timestamped and recorded as a `deployment` receipt, the evidence
// passes `remembrancer verify-full`, a second release is the same receipt, and a manifest that
// is not the image's fails verification.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";

// The image build (when stale), key generation, a TSA and Postgres on a busy 2-core machine.
jest.setTimeout(600_000);

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..");
const node = join(root, "node_modules", ".bin", "node");
const cli = join(root, "bin", "remembrancer.js");

let dir: string;
let server: PostgresServer;
let env: NodeJS.ProcessEnv;
let tsa: ChildProcess;

function remembrancer(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(node, [cli, ...args], { cwd: dir, env, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function release(): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("bash", [join(here, "release.sh"), "--out", join(dir, "release")], {
    cwd: root,
    env,
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  execFileSync("bash", [join(here, "build.sh")], { cwd: root, stdio: "pipe" });
  dir = mkdtempSync(join(tmpdir(), "vaultmesh-release-"));
  server = await startPostgres();
  const db = await server.createDatabase("release");
  execFileSync(node, [cli, "keygen", "--dir", join(dir, "keys")], { cwd: dir, stdio: "pipe" });
  tsa = spawn(node, [cli, "tsa", "serve", "--port", "0", "--dir", join(dir, "tsa")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    tsa.stdout!.on("data", (b: Buffer) => {
      text += b.toString("utf8");
      const m = /TSA listening on (\S+)/.exec(text);
      if (m) resolve(m[1]!);
    });
    tsa.on("exit", (code) => reject(new Error(`the development TSA exited with ${code}`)));
  });
  env = {
    ...process.env,
    DATABASE_URL: db.url,
    REMEMBRANCER_KEY_DIR: join(dir, "keys"),
    REMEMBRANCER_TSA_URL: url,
    REMEMBRANCER_TSA_CA: join(dir, "tsa", "tsa-ca.crt"),
  };
});

afterAll(async () => {
  tsa?.kill();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("make release", () => {
  it("records the image digest as a deployment receipt that verify-full accepts", () => {
    const r = release();
    expect(r.stderr).toContain("verified");
    expect(r.status).toBe(0);
    const manifest = r.stdout.trim();
    expect(manifest).toBe(join(dir, "release", "vaultmesh-0.1.0.manifest.json"));
    // The released file is the image manifest: its sha256 is the image digest.
    const digest = `sha256:${createHash("sha256").update(readFileSync(manifest)).digest("hex")}`;
    expect(r.stderr).toContain(`ghcr.io/vaultmesh/vaultmesh:0.1.0@${digest}`);

    const listed = remembrancer("list", "deployment", "--json");
    expect(listed.status).toBe(0);
    const entries = JSON.parse(listed.out) as {
      receipt: { type: string; payload: { digest: string; artifact: { sha256: string } } };
    }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]!.receipt).toMatchObject({
      type: "deployment",
      payload: { digest, artifact: { sha256: digest } },
    });

    // What a user runs, with nothing but the evidence files and the pinned keys.
    const verify = remembrancer(
      "verify-full",
      manifest,
      "--trust",
      join(dir, "keys", "trust.json"),
      "--trust",
      join(dir, "tsa", "tsa-ca.crt"),
    );
    expect(verify).toMatchObject({ status: 0, out: expect.stringMatching(/^verified$/m) });
  });

  it("records a second release of the same image as the same receipt", () => {
    const r = release();
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/already recorded/);
    const listed = JSON.parse(remembrancer("list", "deployment", "--json").out) as unknown[];
    expect(listed).toHaveLength(1);
  });

  it("fails verification for a manifest that is not the released one", () => {
    const manifest = join(dir, "release", "vaultmesh-0.1.0.manifest.json");
    appendFileSync(manifest, " ");
    const verify = remembrancer("verify-full", manifest, "--key-dir", join(dir, "keys"));
    expect(verify.status).toBe(1);
    expect(verify.out).toMatch(/verification FAILED/);
  });

  it("names what is missing when the ledger is not configured", () => {
    const r = spawnSync("bash", [join(here, "release.sh"), "--out", join(dir, "none")], {
      cwd: root,
      env: { ...env, DATABASE_URL: "" },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^release: DATABASE_URL is not set/m);
  });
});
