/**
 * Runs the marked blocks of the user docs (hack/doc-blocks.ts) the way a reader would: in one
 * bash session per test file, whose exported variables and working directory carry from one
 * block to the next, in a fresh directory that looks like a clone of the repository — so
 * `make dev`, `npx remembrancer` and the pages' relative paths work, while the files a page
 * writes (keys/, values files, proof bundles) and `make dev`'s state (.cache/) never touch the
 * developer's clone or their own `make dev` cluster (ADR 0070).
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { DocBlock } from "../../hack/doc-blocks.ts";

/** Top-level entries of the repository a clone would not have, or that the session must own. */
const NOT_LINKED = new Set([".git", ".cache", "tmp", "hack", "coverage"]);

/**
 * Creates a directory that behaves like a clone of `repo`: a symlink to every top-level entry,
 * except `hack/`, which is copied — its scripts find the repository from their own location
 * (`cd "$(dirname "$0")/.."`, `import.meta.dirname`), so with a copy they find this directory
 * and keep their state (`.cache/`: clusters, `make dev`'s services) here.
 */
export function createClone(repo: string): string {
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-docs-"));
  // Readable by others, like a clone: make dev runs Postgres as the postgres user when root.
  chmodSync(dir, 0o755);
  for (const name of readdirSync(repo)) {
    if (NOT_LINKED.has(name)) continue;
    symlinkSync(join(repo, name), join(dir, name));
  }
  cpSync(join(repo, "hack"), join(dir, "hack"), { recursive: true, verbatimSymlinks: true });
  return dir;
}

/**
 * The environment of a reader's shell: this process's, without what the test run set for
 * itself (the test cluster's KUBECONFIG, npm's and make's variables, jest's NODE_OPTIONS) and
 * without node_modules/.bin on PATH (a reader's `node` is whatever their system has).
 */
export function readerEnv(
  base: NodeJS.ProcessEnv,
  extraPath: readonly string[],
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const dropped =
    /^(KUBECONFIG|NODE_OPTIONS|MAKEFLAGS|MFLAGS|MAKELEVEL|MAKEOVERRIDES|CLUSTER|DATABASE_URL|REDIS_URL|GNUPGHOME|JEST_WORKER_ID|INIT_CWD|npm_.*|VAULTMESH_(?!CACHE$).*)$/;
  for (const [k, v] of Object.entries(base)) if (!dropped.test(k) && v !== undefined) env[k] = v;
  const path = (base.PATH ?? "")
    .split(delimiter)
    .filter((p) => p !== "" && !p.endsWith(join("node_modules", ".bin")));
  env.PATH = [...extraPath, ...path].join(delimiter);
  return env;
}

/** What one block printed (stdout and stderr interleaved) and how it ended. */
export interface BlockResult {
  readonly code: number | null;
  readonly output: string;
  readonly timedOut: boolean;
}

// Variables a shell sets for itself; restoring them would confuse the next block's shell.
const SHELL_OWN = /^declare -x (PWD|OLDPWD|SHLVL|_)=/;

/** A bash session over a clone: each block runs in a new bash that resumes the last one's state. */
export class DocSession {
  readonly dir: string;
  /** Where the session keeps its state (exported variables, cwd) and scratch files. */
  readonly stateDir: string;
  readonly #env: NodeJS.ProcessEnv;

  /** A session named `name` in the clone `dir`; sessions of different names are independent. */
  constructor(dir: string, env: NodeJS.ProcessEnv, name = "main") {
    this.dir = dir;
    this.#env = env;
    this.stateDir = join(dir, `.docs-session-${name}`);
    mkdirSync(this.stateDir, { recursive: true });
    writeFileSync(join(this.stateDir, "env"), "");
    writeFileSync(join(this.stateDir, "cwd"), dir);
  }

  /** Writes a `file` block's body to its path, relative to the session's working directory. */
  writeFile(block: DocBlock, path: string): void {
    const cwd = readFileSync(join(this.stateDir, "cwd"), "utf8").trim();
    writeFileSync(join(cwd, path), block.body);
  }

  /**
   * Runs `script` as the next block: every assignment is exported (`set -a`), so variables a
   * page sets (`digest=$(…)`) are there in the next block, as in one interactive shell.
   */
  async run(script: string, timeoutMs: number): Promise<BlockResult> {
    const file = join(this.stateDir, "block.sh");
    const out = join(this.stateDir, "output");
    writeFileSync(
      file,
      [
        "exec 2>&1",
        "set -a",
        `. ${JSON.stringify(join(this.stateDir, "env"))}`,
        `cd "$(cat ${JSON.stringify(join(this.stateDir, "cwd"))})"`,
        "set -euo pipefail",
        script,
        `export -p | grep -Ev '${SHELL_OWN.source}' > ${JSON.stringify(join(this.stateDir, "env"))}`,
        `pwd > ${JSON.stringify(join(this.stateDir, "cwd"))}`,
        "",
      ].join("\n"),
    );
    // Output goes to a file, not a pipe: daemons a block starts (make dev) inherit it and
    // would hold a pipe open long after the block ended.
    const fd = openSync(out, "w");
    const child = spawn("bash", [file], {
      cwd: this.dir,
      env: this.#env,
      stdio: ["ignore", fd, fd],
      detached: true,
    });
    closeSync(fd);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The block's whole process group: a hung command and whatever it started.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    const code = await new Promise<number | null>((resolve) => {
      child.once("exit", (c) => resolve(c));
      child.once("error", () => resolve(-1));
    });
    clearTimeout(timer);
    return { code, output: readFileSync(out, "utf8"), timedOut };
  }
}
