/**
 * stripe-mock (Stripe's official API mock, built from its Go module by hack/stripe-mock/build.sh
 * and cached) on a free 127.0.0.1 port, for tests of the billing adapter. stripe-mock is
 * stateless: it validates requests against Stripe's OpenAPI spec and answers with fixtures, so
 * tests assert on what was accepted and on the shape of replies, not on stored state.
 *
 *   const mock = await startStripeMock();
 *   const stripe = new Stripe("sk_test_123", mock.clientOptions);
 *   await mock.stop();
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { freePort, portConflict, startLoggedProcess, waitUntilReady } from "./server-process.ts";

const run = promisify(execFile);

/** A running stripe-mock. */
export interface StripeMock {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Options for `new Stripe(key, …)` that point the SDK at this mock. */
  readonly clientOptions: {
    readonly host: string;
    readonly port: number;
    readonly protocol: "http";
    readonly maxNetworkRetries: number;
  };
  stop(): Promise<void>;
}

/** Builds (once, cached) and returns the stripe-mock binary's path. */
export async function stripeMockBinary(): Promise<string> {
  const { stdout } = await run("bash", [join(repoRoot, "hack/stripe-mock/build.sh")], {
    maxBuffer: 1024 * 1024,
  });
  return stdout.trim().split("\n").at(-1) ?? "";
}

async function httpReady(url: string): Promise<boolean> {
  // Any HTTP answer means the server listens; stripe-mock answers 401 without a key.
  const res = await fetch(`${url}/v1/customers`, {
    headers: { Authorization: "Bearer sk_test_123" },
  });
  return res.status === 200;
}

/** Options of {@link startStripeMock}. */
export interface StartStripeMockOptions {
  /** Listen on this port (a restart after an outage test); a free one when omitted. */
  readonly port?: number;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

/** Starts stripe-mock over plain HTTP on a loopback port. */
export async function startStripeMock(opts: StartStripeMockOptions = {}): Promise<StripeMock> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const bin = await stripeMockBinary();
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-stripe-mock-"));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = opts.port ?? (await freePort());
    const logFile = join(dir, `stripe-mock-${port}.log`);
    const proc = startLoggedProcess({
      command: bin,
      // HTTPS on a socket in its own directory: by default stripe-mock also listens on
      // *:12112, so two of them (parallel test files, a restart) would collide there.
      args: ["-http-addr", `127.0.0.1:${port}`, "-https-unix", join(dir, `https-${port}.sock`)],
      logFile,
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilReady(proc, () => httpReady(url), `stripe-mock on port ${port}`, timeoutMs);
    } catch (err) {
      if (proc.exited() && portConflict(logFile) && opts.port === undefined) continue;
      await proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      port,
      url,
      clientOptions: { host: "127.0.0.1", port, protocol: "http", maxNetworkRetries: 0 },
      async stop() {
        await proc.kill("SIGTERM");
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error("stripe-mock: no free port after 5 tries");
}
