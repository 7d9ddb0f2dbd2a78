/**
 * Process plumbing shared by the private Postgres and Redis test servers: free loopback ports,
 * a child process whose output goes to a log file, readiness polling with the log tail in the
 * error, and a stop that always kills the child and removes its directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, openSync } from "node:fs";
import { freePort } from "../../hack/cluster/ports.ts";
import { logTail } from "../../hack/cluster/process.ts";

// One implementation of each, shared with the control-plane tooling.
export { freePort, logTail };

/** Options for {@link startLoggedProcess}. */
export interface LoggedProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  /** Run as this uid/gid (used to run postgres as a non-root user when we are root). */
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** A running child process whose stdout and stderr go to a log file. */
export interface LoggedProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Set once the process has exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Sends `signal`, waits up to `graceMs`, then SIGKILLs; resolves once the process is gone. */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that dies without calling stop() must not leave servers behind.
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

/** Starts a child process with its output appended to `logFile`. */
export function startLoggedProcess(opts: LoggedProcessOptions): LoggedProcess {
  installExitHook();
  const fd = openSync(opts.logFile, "a");
  let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const child = spawn(opts.command, [...opts.args], {
    stdio: ["ignore", fd, fd],
    env: opts.env ?? process.env,
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  closeSync(fd);
  live.add(child);
  const done = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      status = { code, signal };
      live.delete(child);
      resolve();
    });
    child.once("error", (err) => {
      // spawn failures (ENOENT, EACCES) never emit "exit"; record them in the log instead.
      appendFileSync(opts.logFile, `spawn ${opts.command}: ${err.message}\n`);
      status = { code: -1, signal: null };
      live.delete(child);
      resolve();
    });
  });
  return {
    child,
    logFile: opts.logFile,
    exited: () => status,
    async kill(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
      if (status) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}

/** Polls `probe` until it returns true, the process exits, or `timeoutMs` passes. */
export async function waitUntilReady(
  proc: LoggedProcess,
  probe: () => Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    const st = proc.exited();
    if (st) {
      throw new Error(
        `${what} exited during start (code ${st.code}, signal ${st.signal}); log tail:\n${logTail(proc.logFile)}`,
      );
    }
    if (await probe().catch(() => false)) return;
    if (performance.now() > deadline) {
      await proc.kill("SIGKILL");
      throw new Error(
        `${what} not ready after ${timeoutMs} ms; log tail:\n${logTail(proc.logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}

/** True when a log says the server could not bind its port (so another port is worth a try). */
export function portConflict(logFile: string): boolean {
  return /address already in use|could not create any TCP\/IP sockets/i.test(logTail(logFile, 50));
}
