// Issue 10, bad input: a provider (or the proxy in front of it) that answers garbage is a
// ProviderError with a code and a reason — retried when it may pass (5xx, a dropped
// connection), refused when it cannot (HTML where JSON belongs, a body over the limit) — never a
// crash and never a job taken from garbage. Real fetch against a node:http server on loopback.
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { ProviderClient, ProviderError, type ProviderJob } from "./index.ts";

type Handler = (res: ServerResponse) => void;

let server: Server;
let endpoint: string;
/** Answers in order; the last one repeats. */
let answers: Handler[] = [];
let requests = 0;
let slept: number[] = [];
/** Bytes the streaming handler handed to the socket before the client gave up. */
let sent = 0;

const JOB: ProviderJob = {
  id: "job-1",
  idempotencyKey: "gw-uid-1-a1",
  state: "running",
  reason: "Running",
  message: "",
  gpu: { type: "a10g", count: 1 },
  pricePerHour: 1.1,
  createdAt: "2026-03-01T12:00:00Z",
  startedAt: "2026-03-01T12:00:05Z",
};

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const h = answers[Math.min(requests, answers.length - 1)];
      requests++;
      h?.(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  requests = 0;
  slept = [];
  sent = 0;
});

const client = (): ProviderClient =>
  new ProviderClient({
    endpoint,
    token: "t0ken-value",
    retries: 2,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
  });

const send =
  (status: number, type: string, body: string): Handler =>
  (res) => {
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };
const html = (status: number): Handler =>
  send(status, "text/html", "<html><body><h1>Bad Gateway</h1></body></html>");
const json = (status: number, body: unknown): Handler =>
  send(status, "application/json", JSON.stringify(body));

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe("ProviderClient against a provider answering garbage", () => {
  it("HTML where JSON belongs (200) is invalid_response naming what came, not retried", async () => {
    answers = [html(200)];
    const err = await failure(client().get("job-1"));
    expect([err.code, err.retryable, err.status]).toEqual(["invalid_response", false, 200]);
    expect(err.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/v1\/jobs\/job-1: invalid response: not JSON \(HTTP 200, content-type text\/html, \d+ bytes\)$/,
    );
    expect(requests).toBe(1);
  });

  it("a proxy's HTML error page (502) is retried, and the call succeeds once the provider answers", async () => {
    answers = [html(502), json(200, JOB)];
    expect(await client().get("job-1")).toEqual(JOB);
    expect([requests, slept]).toEqual([2, [200]]);
  });

  it("a provider that keeps answering 502 HTML gives up after its retries, retryable", async () => {
    answers = [html(502)];
    const err = await failure(client().get("job-1"));
    expect([err.code, err.retryable, err.status]).toEqual(["internal", true, 502]);
    expect(err.message).toMatch(/: 502 internal: Bad Gateway$/);
    expect(requests).toBe(3);
  });

  it("JSON of the wrong shape names the field", async () => {
    answers = [json(200, { ...JOB, state: "exploded" })];
    const err = await failure(client().get("job-1"));
    expect([err.code, err.retryable]).toEqual(["invalid_response", false]);
    expect(err.message).toMatch(/invalid response at state: /);
  });

  it("stops reading a runaway body without a length at the limit", async () => {
    answers = [
      (res) => {
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        res.on("error", () => undefined);
        const pump = (): void => {
          while (sent < 64 * 1024 * 1024 && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          res.end();
        };
        pump();
      },
    ];
    const err = await failure(client().get("job-1"));
    expect([err.code, err.retryable]).toEqual(["response_too_large", false]);
    expect(err.message).toMatch(/response body over 1048576 bytes \(HTTP 200\)$/);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });

  it("a connection dropped mid-body is a retryable network error, retried", async () => {
    answers = [
      (res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": "4096" });
        res.write('{"id":"job-1","sta');
        setImmediate(() => res.socket?.destroy());
      },
    ];
    const err = await failure(client().get("job-1"));
    expect([err.code, err.retryable]).toEqual(["network", true]);
    expect(requests).toBe(3);
    expect(err.message).not.toContain("t0ken-value");
  });
});
