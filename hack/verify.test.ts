// Issue 2: `make verify` passes on a clean tree and fails after a hand edit of a generated file.
// Runs hack/verify.sh in a throwaway git copy of the work tree so the real tree is untouched.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
let copy = "";

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" });
}

function verify(): { status: number | null; out: string } {
  const r = spawnSync("bash", ["hack/verify.sh"], { cwd: copy, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), "vaultmesh-verify-"));
  const files = git(root, "ls-files", "-co", "--exclude-standard", "-z")
    .split("\0")
    .filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    try {
      cpSync(join(root, f), join(copy, f));
    } catch {
      // a file deleted in the work tree but still in the index
    }
  }
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"));
  git(copy, "init", "-q");
  git(copy, "add", "-A");
  git(copy, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "snapshot");
});

afterAll(() => {
  rmSync(copy, { recursive: true, force: true });
});

describe("make verify", () => {
  it("passes when the generated files are current", () => {
    const r = verify();
    expect(r.out).toContain("generated files are current");
    expect(r.status).toBe(0);
  });

  it("fails after a committed hand edit of a generated CRD, naming the file", () => {
    const crd = "crds/generated/vaultmesh.cloud_treaties.yaml";
    appendFileSync(join(copy, crd), "# hand edit\n");
    git(copy, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "hand edit");
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.out).toContain("generated files are stale");
    expect(r.out).toContain(crd);
  });
});
