// The shared peer request over TLS to a loopback HTTPS server whose certificate chains to a
// throwaway CA (not a system root): the witness client reaches it only when given that CA
// (FederationPeer spec.trustAnchor.caBundle), refuses it with another CA or with the system
// roots, and keeps the peer rules (no redirects, byte cap) on that transport too.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { generateServingCertificate } from "../../webhooks/certs.ts";
import { caFetch, isPeerHttpError, PeerHttpReason, peerRequest } from "./peer-http.ts";
import { WitnessClient, WitnessClientError, WitnessClientReason } from "./witness-client.ts";

const NOTE =
  "peer.example/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 peer.example/log AAAAAAAA\n";
let server: Server;
let url: string;
let ca: string;
let otherCa: string;
const posted: string[] = [];

beforeAll(async () => {
  const serving = await generateServingCertificate();
  ca = serving.caCert;
  otherCa = (await generateServingCertificate()).caCert;
  server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (req.url === "/v1/checkpoint") {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        res.end(NOTE);
      } else if (req.url === "/v1/witness/add-checkpoint") {
        posted.push(body);
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("\u2014 w AAAAAAAA\n");
      } else if (req.url === "/moved") {
        res.writeHead(302, { location: "https://elsewhere.example/" });
        res.end();
      } else if (req.url === "/empty") {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("x".repeat(4096));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof WitnessClientError || isPeerHttpError(err)) return err.reason;
    throw err;
  }
}

describe("a peer whose certificate chains to its own CA", () => {
  it("is reached by the witness client given that CA (GET and POST)", async () => {
    const client = new WitnessClient({ url, caBundle: ca, timeoutMs: 5000 });
    const got = await client.checkpoint();
    expect(got.checkpoint).toMatchObject({ origin: "peer.example/log", size: 5 });
    const lines = await client.addCheckpoint({ oldSize: 0, proof: [], note: NOTE });
    expect(lines).toEqual(["\u2014 w AAAAAAAA\n"]);
    expect(posted.at(-1)).toBe(`old 0\n\n${NOTE}`);
  });

  it.each<[string, string | undefined]>([
    ["another CA", "other"],
    ["the system roots", undefined],
  ])("is refused as Unreachable with %s", async (_what, which) => {
    const caBundle = which === "other" ? otherCa : undefined;
    const client = new WitnessClient({ url, timeoutMs: 5000, ...(caBundle ? { caBundle } : {}) });
    expect(await reasonOf(client.checkpoint())).toBe(WitnessClientReason.Unreachable);
  });

  it.each<[string, string, string]>([
    ["a redirect", "/moved", PeerHttpReason.Redirected],
    ["an answer over the cap", "/big", PeerHttpReason.Oversized],
    ["an empty answer", "/empty", "ok"],
  ])("keeps the peer rules over TLS: %s", async (_what, path, want) => {
    const o = { timeoutMs: 5000, maxBodyBytes: 1024, fetch: caFetch(ca) };
    expect(await reasonOf(peerRequest(`${url}${path}`, { method: "GET" }, o))).toBe(want);
  });
});
