// The lock file is complete (ADR 0061): `npm ci` — what `make node-deps`, CI and the image
// build run — accepts package.json and package-lock.json as they are committed, without a
// rewrite. Today's failure mode was optional platform packages (@swc/core-*) missing from the
// lock: `npm ci` then refuses with "Missing: … from lock file".
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

jest.setTimeout(120_000);

const root = fileURLToPath(new URL("../..", import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vaultmesh-npm-ci-"));
  for (const f of ["package.json", "package-lock.json"]) copyFileSync(join(root, f), join(dir, f));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("package-lock.json", () => {
  it("is accepted by npm ci as it is (a dry run, from npm's cache)", () => {
    const r = spawnSync(
      "npm",
      ["ci", "--dry-run", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"],
      { cwd: dir, encoding: "utf8" },
    );
    expect(r.stderr).not.toMatch(/Missing: .* from lock file|can only install packages when/);
    expect(r.status).toBe(0);
    // npm ci never writes the lock: it is byte for byte what is committed.
    expect(readFileSync(join(dir, "package-lock.json"), "utf8")).toBe(
      readFileSync(join(root, "package-lock.json"), "utf8"),
    );
  });

  it("lists the optional platform packages of every native dependency", () => {
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, { optional?: boolean }>;
    };
    for (const want of [
      "@swc/core-darwin-arm64",
      "@swc/core-win32-x64-msvc",
      "@esbuild/linux-x64",
    ]) {
      expect(lock.packages[`node_modules/${want}`]).toMatchObject({ optional: true });
    }
  });
});
