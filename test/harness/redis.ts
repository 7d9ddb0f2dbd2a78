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
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const logFile = join(dir, `redis-${port}.log`);
    const proc = startLoggedProcess({
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
    try {
      await waitUntilReady(
        proc,
        async () => (await redisCommand(port, "PING")) === "+PONG",
        `redis-server on port ${port}`,
        timeoutMs,
      );
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
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`redis-server: no free port after 5 tries: ${String(lastError)}`);
}
