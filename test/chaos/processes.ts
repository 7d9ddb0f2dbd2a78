/**
 * The chaos suite's process handles: every component of the stack is an OS process (its own
 * process group) that can be SIGKILLed and started again, and a watcher that tells a kill of
 * ours from a process that exited on its own (the "no process of ours exited" invariant).
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import {
  groupAlive,
  killGroup,
  logTail,
  startComponent,
  type Component,
} from "../../hack/cluster/process.ts";

/** A process that exited without being killed by the fault schedule. */
export interface UnexpectedExit {
  readonly component: string;
  readonly at: string;
  readonly exit: string;
  readonly logTail: string;
}

/** How to (re)start one process: a fresh Component each time. */
export type Launch = () => Component;

/** True while the process `pid` exists (the lifeline wrapper exits with its child). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * One supervised component. `kill()` marks the exit as ours; an exit we did not cause is
 * recorded in `exits` and, like a kubelet would, the process is started again so the run goes on.
 */
export class ChaosProcess {
  readonly name: string;
  readonly #launch: Launch;
  readonly #exits: UnexpectedExit[];
  #c: Component | { pid: number; log: string; exited?: Promise<string> };
  #down = false;
  #watch: ReturnType<typeof setInterval> | undefined;

  constructor(
    name: string,
    launch: Launch,
    exits: UnexpectedExit[],
    initial?: { pid: number; log: string },
  ) {
    this.name = name;
    this.#launch = launch;
    this.#exits = exits;
    this.#c = initial ?? launch();
    this.#watch = setInterval(() => this.#check(), 500);
    this.#watch.unref();
  }

  get pid(): number {
    return this.#c.pid;
  }

  get log(): string {
    return this.#c.log;
  }

  /** True while the process runs. */
  alive(): boolean {
    return pidAlive(this.#c.pid);
  }

  #check(): void {
    if (this.#down || this.alive()) return;
    const exit = this.#c.exited;
    const record = (how: string): void => {
      this.#exits.push({
        component: this.name,
        at: new Date().toISOString(),
        exit: how,
        logTail: logTail(this.#c.log, 15),
      });
    };
    this.#down = true; // until restarted below
    void (exit ? exit.then(record) : Promise.resolve(record("gone"))).then(() => {
      this.#c = this.#launch();
      this.#down = false;
    });
  }

  /** SIGKILLs the process group and waits until the process is gone. */
  async kill(): Promise<void> {
    this.#down = true;
    killGroup(this.#c.pid, "SIGKILL");
    await until(() => !this.alive(), 15_000);
  }

  /** Starts it again (after kill). */
  start(): void {
    if (!this.#down) return;
    this.#c = this.#launch();
    this.#down = false;
  }

  /**
   * Stops watching and ends the whole process group (end of the run): SIGTERM, then SIGKILL
   * after 5 s. The group, not the wrapper: a kube-apiserver whose etcd is gone can hang in its
   * graceful shutdown after the wrapper has exited.
   */
  async stop(): Promise<void> {
    if (this.#watch) clearInterval(this.#watch);
    this.#watch = undefined;
    const killed = this.#down;
    this.#down = true;
    // Killed and not started again: its group is gone, and its id may belong to another
    // process by now (pids are reused) — signal nothing.
    if (killed) return;
    const pid = this.#c.pid;
    killGroup(pid, "SIGTERM");
    if (await until(() => !groupAlive(pid), 5_000)) return;
    killGroup(pid, "SIGKILL");
    await until(() => !groupAlive(pid), 5_000);
  }
}

/** Starts a Node process of the product (node_modules/.bin/node) with its output in `log`. */
export function nodeLaunch(
  name: string,
  args: readonly string[],
  log: string,
  env: NodeJS.ProcessEnv,
): Launch {
  return () =>
    startComponent({
      name,
      bin: "node_modules/.bin/node",
      args,
      log,
      lifeline: true,
      env: { ...process.env, ...env },
    });
}

/** A GET without keep-alive (no socket outlives it); never throws: status 0 when unreachable. */
export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(
      u,
      { agent: false, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", () => resolve({ status: 0, body }));
      },
    );
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
