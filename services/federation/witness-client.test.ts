// The witness client against canned HTTP answers on loopback: every status of tlog-witness
// maps to its reason constant, the 409 text/x.tlog.size retry happens once, and what a peer
// sends is capped. (peer-sync-attacks.test.ts covers the client inside full sync rounds.)
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  WitnessClient,
  WitnessClientError,
  WitnessClientReason as R,
  type WitnessClientReason,
} from "./witness-client.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let handler: Handler = (_q, res) => res.end();
const bodies: string[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      bodies.push(body);
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections(); // the hanging answers below
  await new Promise((resolve) => server.close(resolve));
});

const answer =
  (status: number, type: string, body: string | Buffer): Handler =>
  (_q, res) => {
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };

const client = (): WitnessClient => new WitnessClient({ url, timeoutMs: 2000 });
const req = { oldSize: 3, proof: [], note: "o\n5\nAAAA\n\n\u2014 o AAAAAAAA\n" };

async function reasonOf(p: Promise<unknown>): Promise<WitnessClientReason | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof WitnessClientError) return err.reason;
    throw err;
  }
}

describe("add-checkpoint answers", () => {
  it.each<[string, Handler, WitnessClientReason | "ok"]>([
    ["200 cosignature line", answer(200, "text/plain", "\u2014 w AAAAAAAA\n"), "ok"],
    ["404 unknown origin", answer(404, "text/plain", "unknown\n"), R.NotFound],
    ["403 bad signature", answer(403, "text/plain", "bad\n"), R.Forbidden],
    ["400 malformed", answer(400, "text/plain", "bad\n"), R.BadRequest],
    ["409 x.tlog.size", answer(409, "text/x.tlog.size", "7\n"), R.StaleOldSize],
    ["409 other type (same size, other root)", answer(409, "text/plain", "fork\n"), R.Conflict],
    ["422 (same size, other root or bad proof)", answer(422, "text/plain", "fork\n"), R.Conflict],
    ["409 size past 2^53", answer(409, "text/x.tlog.size", "9007199254740993\n"), R.SizeTooLarge],
    ["409 size not a number", answer(409, "text/x.tlog.size", "seven\n"), R.Malformed],
    ["500", answer(500, "text/plain", "oops\n"), R.HttpError],
    ["302", answer(302, "text/plain", ""), R.Redirected],
    ["200 not cosignature lines", answer(200, "text/plain", "hello\n"), R.Malformed],
    ["200 17 lines", answer(200, "text/plain", "\u2014 w AAAAAAAA\n".repeat(17)), R.Oversized],
    ["200 not UTF-8", answer(200, "text/plain", Buffer.from([0xff, 0xfe, 0x0a])), R.Malformed],
    ["over 16 KiB", answer(200, "text/plain", "x".repeat(17 * 1024)), R.Oversized],
  ])("%s", async (_name, h, want) => {
    handler = h;
    expect(await reasonOf(client().addCheckpoint(req))).toBe(want);
  });

  it("reports the witness's size on a 409", async () => {
    handler = answer(409, "text/x.tlog.size; charset=utf-8", "7\n");
    await expect(client().addCheckpoint(req)).rejects.toMatchObject({ size: 7, status: 409 });
  });

  it("a proof over 63 hashes is refused before sending", async () => {
    const before = bodies.length;
    const proof = Array.from({ length: 64 }, () => new Uint8Array(32));
    expect(await reasonOf(client().addCheckpoint({ ...req, proof }))).toBe(R.Oversized);
    expect(bodies.length).toBe(before);
  });
});

describe("pushCheckpoint", () => {
  it("retries once from the witness's size after a 409", async () => {
    handler = (_q, res, body) => {
      if (body.startsWith("old 7\n"))
        answer(200, "text/plain", "\u2014 w AAAAAAAA\n")(_q, res, body);
      else answer(409, "text/x.tlog.size", "7\n")(_q, res, body);
    };
    const asked: number[] = [];
    const r = await client().pushCheckpoint(req.note, 9, 3, (old) => {
      asked.push(old);
      return Promise.resolve([new Uint8Array(32)]);
    });
    expect(r).toEqual({ oldSize: 7, cosignatures: ["\u2014 w AAAAAAAA\n"] });
    expect(asked).toEqual([3, 7]);
  });

  it("does not retry twice, nor from a size past ours", async () => {
    handler = answer(409, "text/x.tlog.size", "8\n");
    let calls = 0;
    const proofFrom = (): Promise<Uint8Array[]> => {
      calls += 1;
      return Promise.resolve([]);
    };
    expect(await reasonOf(client().pushCheckpoint(req.note, 9, 3, proofFrom))).toBe(R.StaleOldSize);
    expect(calls).toBe(2);
    handler = answer(409, "text/x.tlog.size", "12\n");
    calls = 0;
    expect(await reasonOf(client().pushCheckpoint(req.note, 9, 3, proofFrom))).toBe(R.StaleOldSize);
    expect(calls).toBe(1);
  });
});

describe("reads", () => {
  it("a proof that does not echo the sizes asked is Malformed", async () => {
    handler = answer(200, "application/json", JSON.stringify({ first: 1, second: 9, hashes: [] }));
    expect(await reasonOf(client().consistencyProof(2, 9))).toBe(R.Malformed);
  });

  it("a declared length over the cap is refused before the body is read", async () => {
    handler = (_q, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": String(1 << 20) });
      res.write("x".repeat(1024)); // then hangs: only the declared length can end this early
    };
    expect(await reasonOf(client().checkpoint())).toBe(R.Oversized);
  });

  it("an unreachable peer is Unreachable", async () => {
    const dead = new WitnessClient({ url: "http://127.0.0.1:1", timeoutMs: 2000 });
    expect(await reasonOf(dead.checkpoint())).toBe(R.Unreachable);
  });

  it("the caller's signal ends a request", async () => {
    handler = () => undefined; // never answers
    const ac = new AbortController();
    const p = reasonOf(client().checkpoint(ac.signal));
    ac.abort();
    expect(await p).toBe(R.Timeout);
  });
});
