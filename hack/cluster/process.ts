import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

/** A started component: its process group and log, and how to stop it. */
export interface Component {
  readonly name: string;
  readonly pid: number;
  readonly log: string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<string>;
  isRunning(): boolean;
}

// The child keeps a pipe from us on fd 3; when we die (even by SIGKILL) the pipe closes, `cat`
// returns and the wrapper kills the component. Background jobs in a non-interactive shell get
// /dev/null as stdin, hence the explicit fd.
const LIFELINE = [
  'exec 3<&0; "$@" </dev/null & child=$!',
  "trap 'kill -TERM $child 2>/dev/null' TERM INT",
  "( cat <&3 >/dev/null; kill -TERM $child 2>/dev/null; sleep 5; kill -KILL $child 2>/dev/null ) &",
  "wait $child",
].join("\n");

/**
 * Starts `bin args` in its own process group with output to `log`. With `lifeline`, the
 * component dies with this process; without, it outlives it (for `cluster up`).
 */
export function startComponent(opts: {
  readonly name: string;
  readonly bin: string;
  readonly args: readonly string[];
  readonly log: string;
  readonly lifeline: boolean;
  readonly env?: NodeJS.ProcessEnv;
}): Component {
  const fd = openSync(opts.log, "a");
  const child = opts.lifeline
    ? spawn("bash", ["-c", LIFELINE, opts.name, opts.bin, ...opts.args], {
        detached: true,
        stdio: ["pipe", fd, fd],
        env: opts.env ?? process.env,
      })
    : spawn(opts.bin, [...opts.args], {
        detached: true,
        stdio: ["ignore", fd, fd],
        env: opts.env ?? process.env,
      });
  closeSync(fd);
  let running = true;
  const exited = new Promise<string>((resolve) => {
    child.on("exit", (code, signal) => {
      running = false;
      resolve(signal ?? String(code));
    });
    child.on("error", (err) => {
      running = false;
      resolve(err.message);
    });
  });
  child.unref();
  if (child.stdin) (child.stdin as unknown as { unref?: () => void }).unref?.();
  return {
    name: opts.name,
    pid: child.pid ?? -1,
    log: opts.log,
    exited,
    isRunning: () => running,
  };
}

/** Sends `signal` to a whole process group; true if it existed. */
export function killGroup(pid: number, signal: NodeJS.Signals = "SIGTERM"): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True while any process of the group `pid` is alive. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops process groups: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopGroups(pids: readonly number[], graceMs = 5000): Promise<void> {
  for (const pid of pids) killGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (pids.some(groupAlive) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const pid of pids) killGroup(pid, "SIGKILL");
  // SIGKILL is not instant either (and our own exited children linger until Node reaps them):
  // return only once every group is gone, so callers can rely on "stopped".
  const killDeadline = Date.now() + 10000;
  while (pids.some(groupAlive) && Date.now() < killDeadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(path: string, lines = 25): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
