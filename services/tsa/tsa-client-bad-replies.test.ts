// Issue 10, bad input: a TSA that answers garbage is a TsaRequestError with the reason — never a
// crash, never a token accepted — and the next request to a TSA that answers properly succeeds
// (the publisher's retry). Real fetch against a node:http server on loopback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { isOutage } from "../dependency-health/index.ts";
import { fixedClock } from "../ledger/clock.ts";
import { buildTimeStampRequest } from "./rfc3161-request.ts";
import { requestTimestamp, TsaRequestError } from "./tsa-client.ts";
import { generateTsaCredentials } from "./tsa-certs.ts";
import { createTsaResponder, type TsaResponder } from "./tsa-responder.ts";

type Handler = (body: Buffer, res: ServerResponse) => void | Promise<void>;

let server: Server;
let url: string;
let responder: TsaResponder;
let handler: Handler;
/** Bytes the "huge" handler managed to hand to the socket before the client gave up. */
let sent = 0;
const data = new TextEncoder().encode("tree head\n");

beforeAll(async () => {
  const clock = fixedClock("2026-01-01T00:00:00Z");
  responder = await createTsaResponder({
    credentials: await generateTsaCredentials(clock),
    clock,
  });
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => void handler(Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const reply =
  (status: number, type: string, body: Uint8Array | string): Handler =>
  (_req, res) => {
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };

/** A real token, as the TSA would answer the request in `body`. */
const genuine: Handler = async (body, res) => {
  const der = await responder.respond(new Uint8Array(body));
  res.writeHead(200, { "content-type": "application/timestamp-reply" });
  res.end(der);
};

/** Streams up to 64 MiB without a content-length, as fast as the client reads. */
const huge: Handler = (_body, res) => {
  res.writeHead(200, { "content-type": "application/timestamp-reply" });
  const chunk = Buffer.alloc(64 * 1024, 0x30);
  sent = 0;
  res.on("error", () => undefined);
  const pump = (): void => {
    while (sent < 64 * 1024 * 1024 && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", pump);
    }
    res.end();
  };
  pump();
};

async function failure(): Promise<TsaRequestError> {
  const err = await requestTimestamp(url, data).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TsaRequestError);
  return err as TsaRequestError;
}

describe("the RFC 3161 client against a TSA that answers garbage", () => {
  it.each<[string, Handler, RegExp]>([
    [
      "an HTML page with 200",
      reply(200, "text/html", "<html><body>Service temporarily unavailable</body></html>"),
      /^TSA reply is malformed: /,
    ],
    [
      "an HTML error page with 500",
      reply(500, "text/html", "<html><body>Internal Server Error</body></html>"),
      /^TSA http:\/\/127\.0\.0\.1:\d+\/ answered HTTP 500$/,
    ],
    [
      "DER that is not a TimeStampResp",
      reply(200, "application/timestamp-reply", new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])),
      /^TSA reply is malformed: /,
    ],
    [
      "a DER header promising more than it holds",
      reply(200, "application/timestamp-reply", new Uint8Array([0x30, 0x84, 0x7f, 0xff, 0xff])),
      /^TSA reply is malformed: /,
    ],
    [
      "an empty 200",
      reply(200, "application/timestamp-reply", new Uint8Array()),
      /^TSA reply is malformed: /,
    ],
    [
      "a genuine token cut in half",
      async (body, res) => {
        const der = await responder.respond(new Uint8Array(body));
        res.writeHead(200, { "content-type": "application/timestamp-reply" });
        res.end(der.subarray(0, der.length >> 1));
      },
      /^TSA reply is malformed: /,
    ],
    [
      "a token for another request",
      async (_body, res) => {
        // A genuine token, but over other data (a replayed or mixed-up reply).
        const der = await responder.respond(buildTimeStampRequest(new Uint8Array([1])).der);
        res.writeHead(200, { "content-type": "application/timestamp-reply" });
        res.end(der);
      },
      /^TSA reply does not verify: /,
    ],
  ])("%s is a TsaRequestError with the reason", async (_name, h, want) => {
    handler = h;
    expect((await failure()).message).toMatch(want);
    // The same client asks again and gets a token once the TSA answers properly.
    handler = genuine;
    const { der } = await requestTimestamp(url, data);
    expect(der.length).toBeGreaterThan(100);
  });

  it("stops reading a reply without a length once it passes the limit", async () => {
    handler = huge;
    expect((await failure()).message).toBe("TSA reply is over 262144 bytes: not a TimeStampResp");
    // The client cancelled the stream: the server could not hand over its 64 MiB.
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });

  it("a connection dropped mid-reply is an outage to retry", async () => {
    handler = (_body, res) => {
      res.writeHead(200, {
        "content-type": "application/timestamp-reply",
        "content-length": "4096",
      });
      res.write(Buffer.alloc(100, 0x30));
      setImmediate(() => res.socket?.destroy());
    };
    const err = await failure();
    expect(err.message).toMatch(/^cannot reach TSA http:\/\/127\.0\.0\.1:\d+\/: /);
    expect(isOutage(err)).toBe(true);
  });
});
