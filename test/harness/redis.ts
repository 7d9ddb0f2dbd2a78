/**
 * A private Redis server for tests: `redis-server` on a free 127.0.0.1 port, no persistence,
 * its working directory in a temporary folder.
 *
 *   const redis = await startRedis();
 *   ... new Redis(redis.url) ...
 *   await redis.stop();
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, portConflict, startLoggedProcess, waitUntilReady } from "./server-process.ts";

/** A running private Redis server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
  /** SIGKILLs the server (no persistence: its data goes with it), keeping port and directory. */
  crash(): Promise<void>;
  /** Starts a crashed server again on the same port. */
  restart(): Promise<void>;
}

/** Sends one inline command and resolves with the first reply line. */
export async function redisCommand(port: number, command: string): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    let buf = "";
    sock.setTimeout(2000, () => sock.destroy(new Error("redis: no reply within 2 s")));
    sock.on("error", reject);
    sock.on("connect", () => sock.write(`${command}\r\n`));
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      const i = buf.indexOf("\r\n");
      if (i >= 0) {
        sock.end();
        resolve(buf.slice(0, i));
      }
    });
  });
}

function redisBinary(): string {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("redis-server not found: run hack/deps.sh (apt-get install redis-server)");
  }
}

/** Starts a private Redis server; retries on another port when the chosen one is taken. */
export async function startRedis(timeoutMs = 15_000): Promise<RedisServer> {
  const bin = redisBinary();
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-redis-"));
  let lastError: unknown;
  const launch = (port: number, logFile: string): ReturnType<typeof startLoggedProcess> =>
    startLoggedProcess({
      command: bin,
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--daemonize",
        "no",
      ],
      logFile,
    });
  const ready = (proc: ReturnType<typeof launch>, port: number): Promise<void> =>
    waitUntilReady(
      proc,
      async () => (await redisCommand(port, "PING")) === "+PONG",
      `redis-server on port ${port}`,
      timeoutMs,
    );
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const logFile = join(dir, `redis-${port}.log`);
    let proc = launch(port, logFile);
    try {
      await ready(proc, port);
    } catch (err) {
      lastError = err;
      if (proc.exited() && portConflict(logFile)) continue;
      await proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      async stop() {
        await proc.kill("SIGTERM");
        rmSync(dir, { recursive: true, force: true });
      },
      async crash() {
        await proc.kill("SIGKILL", 0);
      },
      async restart() {
        if (!proc.exited())
          throw new Error(`redis-server on port ${port} is running: crash() it first`);
        proc = launch(port, logFile);
        await ready(proc, port);
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`redis-server: no free port after 5 tries: ${String(lastError)}`);
}

/** The part of an ioredis client {@link redisWriteCalls} uses. */
interface RedisStatsClient {
  info(section: string): Promise<string>;
  call(command: string, ...args: string[]): Promise<unknown>;
}

// ACL and configuration changes: state, but not flagged "write" by COMMAND INFO.
const ADMIN_WRITES = new Set(["acl|setuser", "acl|deluser", "acl|load", "config|set"]);

/**
 * Calls per write command since the server started, from the server's own statistics
 * (INFO commandstats; a command is a write when COMMAND INFO flags it "write", or when it
 * changes ACL users or configuration). For "no writes" assertions that do not trust the code
 * under test to count its own commands.
 */
export async function redisWriteCalls(redis: RedisStatsClient): Promise<Record<string, number>> {
  const info = await redis.info("commandstats");
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const name = m[1]!;
    const reply = (await redis.call("COMMAND", "INFO", name)) as [[string, number, string[]]?];
    const flags = reply[0]?.[2] ?? [];
    if (ADMIN_WRITES.has(name) || flags.includes("write")) out[name] = Number(m[2]);
  }
  return out;
}
