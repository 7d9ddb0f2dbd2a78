/**
 * The admission benchmark's load generator, a child process of its own (pinned by the parent to
 * a core other than the server's), so that its event loop, its GC and its TLS work never run in
 * the process or on the core being measured.
 *
 * Reads JSON lines on stdin: first `{"url", "caPem", "body", "rate"}`, then one
 * `{"ms", "record"}` per run; answers each run with one JSON line ({@link LoadReport}).
 * Open loop: request k is due at k / rate seconds after the run starts and goes out then whether
 * or not earlier ones have answered, so a slow server shows up as latency, not as a lower rate.
 * How late the generator itself sent (`send_lag_ms`) and its own event-loop delay are reported
 * beside the latency, so a generator that cannot keep up is visible rather than counted as
 * server time.
 */
import { Agent, request } from "node:https";
import type { Socket } from "node:net";
import { createInterface } from "node:readline";
import { startProbe, stats, type ProbeReport, type Stats } from "./admission-probe.ts";

/** What one run measured; latencies in milliseconds. */
export interface LoadReport {
  readonly target_rps: number;
  /** Requests answered per second over the run (sent on schedule, so ≈ target unless late). */
  readonly achieved_rps: number;
  readonly sent: number;
  readonly errors: number;
  /** Connections opened during the run (each a TLS handshake on both sides). */
  readonly new_connections: number;
  /** From the moment the request was handed to the socket to the end of the response. */
  readonly latency: Stats | null;
  /** From the moment the request was due: latency plus the generator's own lateness. */
  readonly latency_from_schedule: Stats | null;
  /** How late the generator sent each request after it was due. */
  readonly send_lag: Stats | null;
  readonly client: ProbeReport;
}

interface Config {
  readonly url: string;
  readonly caPem: string;
  readonly body: string;
  readonly rate: number;
}

function loadGenerator(config: Config): (ms: number, record: boolean) => Promise<LoadReport> {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 64,
    scheduling: "lifo",
    ca: config.caPem,
  });
  const url = new URL(config.url);
  const body = Buffer.from(config.body);
  const known = new WeakSet<Socket>();
  const probe = startProbe();

  return async (ms, record) => {
    const latency: number[] = [];
    const fromSchedule: number[] = [];
    const lag: number[] = [];
    let errors = 0;
    let newConnections = 0;
    const send = (due: number): Promise<void> =>
      new Promise((resolve) => {
        const t0 = performance.now();
        const req = request(url, {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": body.length },
        });
        req.on("socket", (socket: Socket) => {
          if (known.has(socket)) return;
          known.add(socket);
          // Each request is one write, but say it: Nagle holding a segment for a delayed ACK
          // would add 40 ms.
          socket.setNoDelay(true);
          newConnections++;
        });
        req.on("response", (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode !== 200) errors++;
            const t1 = performance.now();
            if (record) {
              latency.push(t1 - t0);
              fromSchedule.push(t1 - due);
              lag.push(t0 - due);
            }
            resolve();
          });
        });
        req.on("error", () => {
          errors++;
          resolve();
        });
        req.end(body);
      });

    const total = Math.floor((ms / 1000) * config.rate);
    const inflight: Promise<void>[] = [];
    probe.reset();
    const start = performance.now();
    let sent = 0;
    await new Promise<void>((done) => {
      const tick = (): void => {
        const now = performance.now();
        while (sent < total && start + (sent * 1000) / config.rate <= now) {
          inflight.push(send(start + (sent * 1000) / config.rate));
          sent++;
        }
        if (sent >= total) return done();
        // Timers have millisecond resolution: wake at the next due time, rounded down.
        setTimeout(tick, Math.max(0, start + (sent * 1000) / config.rate - performance.now()));
      };
      tick();
    });
    await Promise.all(inflight);
    const elapsed = performance.now() - start;
    return {
      target_rps: config.rate,
      achieved_rps: Math.round((sent / elapsed) * 1000),
      sent,
      errors,
      new_connections: newConnections,
      latency: record ? stats(latency) : null,
      latency_from_schedule: record ? stats(fromSchedule) : null,
      send_lag: record ? stats(lag) : null,
      client: probe.report(),
    };
  };
}

let run: ((ms: number, record: boolean) => Promise<LoadReport>) | undefined;
// Runs one at a time, in the order asked.
let queue: Promise<void> = Promise.resolve();
createInterface({ input: process.stdin })
  .on("line", (line) => {
    const msg = JSON.parse(line) as Partial<Config> & { ms?: number; record?: boolean };
    if (run === undefined) {
      run = loadGenerator(msg as Config);
      return;
    }
    const r = run;
    queue = queue.then(async () => {
      const report = await r(msg.ms ?? 1000, msg.record ?? true);
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });
  })
  .on("close", () => void queue.then(() => process.exit(0)));
