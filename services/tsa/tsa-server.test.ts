import { beforeAll, describe, expect, it, jest } from "@jest/globals";
import type { FastifyInstance } from "fastify";
import { fixedClock } from "../ledger/clock.ts";
import { buildTimeStampRequest } from "./rfc3161-request.ts";
import { verifyTimeStampResponse } from "./rfc3161-verify.ts";
import { requestTimestamp, TsaRequestError, type FetchLike } from "./tsa-client.ts";
import { generateTsaCredentials, type TsaCredentialFiles } from "./tsa-certs.ts";
import { createTsaResponder } from "./tsa-responder.ts";
import { buildTsaServer } from "./tsa-server.ts";

jest.setTimeout(30_000);

let app: FastifyInstance;
let creds: TsaCredentialFiles;
const data = new TextEncoder().encode("tree head\n");

/** fetch over app.inject, so the client code path runs without a socket. */
const injectFetch: FetchLike = async (url, init) => {
  const r = await app.inject({
    method: "POST",
    url: new URL(url).pathname,
    headers: init.headers,
    payload: Buffer.from(init.body),
  });
  return {
    ok: r.statusCode < 300,
    status: r.statusCode,
    headers: { get: (n: string) => (r.headers[n.toLowerCase()] as string | undefined) ?? null },
    arrayBuffer: () => Promise.resolve(new Uint8Array(r.rawPayload).buffer),
  };
};

beforeAll(async () => {
  const clock = fixedClock("2026-01-01T00:00:00Z");
  creds = await generateTsaCredentials(clock);
  app = buildTsaServer({ responder: await createTsaResponder({ credentials: creds, clock }) });
});

describe("TSA server", () => {
  it("answers application/timestamp-query with a verifiable application/timestamp-reply", async () => {
    const req = buildTimeStampRequest(data);
    const r = await app.inject({
      method: "POST",
      url: "/",
      headers: { "content-type": "application/timestamp-query" },
      payload: Buffer.from(req.der),
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toBe("application/timestamp-reply");
    const check = await verifyTimeStampResponse(new Uint8Array(r.rawPayload), {
      data,
      trustedPem: [creds.caCertificatePem],
      nonceHex: req.nonceHex,
    });
    expect(check.ok).toBe(true);
  });

  it("refuses other content types with 415", async () => {
    const r = await app.inject({
      method: "POST",
      url: "/tsa",
      headers: { "content-type": "application/json" },
      payload: "{}",
    });
    expect(r.statusCode).toBe(415);
  });

  it("publishes its certificates", async () => {
    expect((await app.inject({ method: "GET", url: "/tsa-ca.crt" })).body).toBe(
      creds.caCertificatePem,
    );
    expect((await app.inject({ method: "GET", url: "/tsa.crt" })).body).toBe(creds.certificatePem);
  });

  it("the client obtains and checks a token, and reports a non-TSA reply as malformed", async () => {
    const { der, check } = await requestTimestamp("http://tsa.test/", data, {
      fetch: injectFetch,
      trustedPem: [creds.caCertificatePem],
    });
    expect(der.length).toBeGreaterThan(100);
    expect(check?.ok).toBe(true);
    const garbage: FetchLike = () =>
      Promise.resolve({
        ok: true,
        status: 200,
        headers: { get: () => null },
        arrayBuffer: () => Promise.resolve(new Uint8Array([1, 2, 3]).buffer),
      });
    await expect(requestTimestamp("http://tsa.test/", data, { fetch: garbage })).rejects.toThrow(
      TsaRequestError,
    );
  });

  it.each<[string, FetchLike, RegExp]>([
    [
      "an HTML error page",
      () =>
        Promise.resolve({
          ok: true,
          status: 200,
          headers: { get: () => "text/html" },
          arrayBuffer: () => Promise.resolve(new TextEncoder().encode("<html>502</html>").buffer),
        }),
      /^TSA reply is malformed: /,
    ],
    [
      "a huge reply",
      () =>
        Promise.resolve({
          ok: true,
          status: 200,
          headers: { get: (n: string) => (n === "content-length" ? "10000000" : null) },
          arrayBuffer: () => Promise.reject(new Error("must not be read")),
        }),
      /^TSA reply is over 262144 bytes: not a TimeStampResp$/,
    ],
    [
      "a TSA that never answers",
      (_url, init) =>
        new Promise((_resolve, reject) =>
          init.signal?.addEventListener("abort", () => reject(init.signal?.reason as Error)),
        ),
      /^cannot reach TSA http:\/\/tsa\.test\/: /,
    ],
    [
      "a connection reset",
      () => Promise.reject(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })),
      /^cannot reach TSA http:\/\/tsa\.test\/: read ECONNRESET$/,
    ],
  ])("the client turns %s into a TsaRequestError with a reason", async (_name, bad, want) => {
    const err = await requestTimestamp("http://tsa.test/", data, {
      fetch: bad,
      timeoutMs: 50,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsaRequestError);
    expect((err as Error).message).toMatch(want);
  });
});
