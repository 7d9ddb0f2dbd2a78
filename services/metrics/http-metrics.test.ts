import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "@jest/globals";
import fastify, { type FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import {
  fixedRoutes,
  HttpMetrics,
  instrumentHandler,
  isServerError,
  methodLabel,
  observeFastify,
} from "./index.ts";

/** The value of the sample `name{labels}` in `text`, or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

describe("RED metrics of a fastify server", () => {
  async function app(): Promise<{ app: FastifyInstance; registry: Registry }> {
    const registry = new Registry();
    const a = fastify() as unknown as FastifyInstance;
    observeFastify(a, registry, "ledger");
    a.get<{ Params: { index: string } }>("/v1/entries/:index", (req, reply) =>
      reply.send({ index: req.params.index }),
    );
    a.get("/boom", () => {
      throw new Error("bug");
    });
    await a.ready();
    return { app: a, registry };
  }

  it("counts requests by route template, method and code; 5xx as errors; 404s as unmatched", async () => {
    const { app: a, registry } = await app();
    for (const i of ["1", "2", "3"]) await a.inject({ method: "GET", url: `/v1/entries/${i}` });
    await a.inject({ method: "GET", url: "/boom" });
    await a.inject({ method: "GET", url: "/no/such/path/123" });
    await a.inject({ method: "POST", url: "/no/such/path/456" });
    const text = await registry.metrics();
    const r = 'server="ledger",route="/v1/entries/:index",method="GET"';
    expect(sample(text, "vaultmesh_http_requests_total", `${r},code="200"`)).toBe(3);
    expect(sample(text, "vaultmesh_http_request_duration_seconds_count", r)).toBe(3);
    expect(sample(text, "vaultmesh_http_request_errors_total", r)).toBeUndefined();
    const boom = 'server="ledger",route="/boom",method="GET"';
    expect(sample(text, "vaultmesh_http_requests_total", `${boom},code="500"`)).toBe(1);
    expect(sample(text, "vaultmesh_http_request_errors_total", boom)).toBe(1);
    const unmatched = 'server="ledger",route="unmatched",method="GET",code="404"';
    expect(sample(text, "vaultmesh_http_requests_total", unmatched)).toBe(1);
    expect(sample(text, "vaultmesh_http_requests_in_flight", 'server="ledger"')).toBe(0);
    // The URL never becomes a label value: bounded by the routes.
    expect(text).not.toMatch(/entries\/[0-9]/);
    expect(text).not.toContain("/no/such/path");
    await a.close();
  });

  it("serves its registry at GET /metrics", async () => {
    const { app: a } = await app();
    const res = await a.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("# TYPE vaultmesh_http_requests_total counter");
    await a.close();
  });
});

describe("RED metrics of a node:http server", () => {
  it("counts by fixed route, and an unknown path as unmatched", async () => {
    const registry = new Registry();
    const red = new HttpMetrics(registry, "operator");
    const server = createServer(
      instrumentHandler(red, fixedRoutes(["/healthz"]), (req, res) => {
        res.writeHead(req.url?.startsWith("/healthz") ? 200 : 503).end();
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await fetch(`${base}/healthz`);
    await fetch(`${base}/healthz?x=1`);
    await fetch(`${base}/anything/else`);
    await new Promise<void>((r) => server.close(() => r()));
    const text = await registry.metrics();
    const ok = 'server="operator",route="/healthz",method="GET",code="200"';
    expect(sample(text, "vaultmesh_http_requests_total", ok)).toBe(2);
    const other = 'server="operator",route="unmatched",method="GET"';
    expect(sample(text, "vaultmesh_http_requests_total", `${other},code="503"`)).toBe(1);
    expect(sample(text, "vaultmesh_http_request_errors_total", other)).toBe(1);
  });
});

describe("labels", () => {
  it.each([
    ["get", "GET"],
    ["PROPFIND", "other"],
    [undefined, "other"],
  ])("method %j → %s", (m, want) => expect(methodLabel(m)).toBe(want));

  it.each([
    [200, false],
    [404, false],
    [503, true],
    [undefined, true],
  ])("code %j is a server error: %s", (code, want) => expect(isServerError(code)).toBe(want));
});
