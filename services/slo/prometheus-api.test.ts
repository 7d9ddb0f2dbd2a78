import { describe, expect, it } from "@jest/globals";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { prometheusApi, withoutUserinfo } from "./prometheus-api.ts";

describe("withoutUserinfo", () => {
  it.each([
    ["http://user:pw@prom.example:9090", "http://prom.example:9090"],
    ["https://user:pw@prom.example/prometheus/", "https://prom.example/prometheus/"],
    ["https://user@prom.example/prometheus", "https://prom.example/prometheus"],
    ["https://:pw@prom.example", "https://prom.example"],
    ["http://127.0.0.1:9090", "http://127.0.0.1:9090"],
    ["http://127.0.0.1:9090/", "http://127.0.0.1:9090/"],
    ["not a url", "not a url"],
  ])("%s → %s", (input, want) => {
    expect(withoutUserinfo(input)).toBe(want);
  });
});

describe("prometheusApi", () => {
  it("sends userinfo as basic authentication and reports the URL without it", async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [] } }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      const prom = prometheusApi(`http://sl%40o:p%3Aw@127.0.0.1:${port}`);
      expect(prom.url).toBe(`http://127.0.0.1:${port}`);
      expect(await prom.query("up", new Date(0))).toEqual([]);
      expect(seen).toEqual([`Basic ${Buffer.from("sl@o:p:w").toString("base64")}`]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("sends no authorization without userinfo", async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [] } }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      await prometheusApi(`http://127.0.0.1:${port}`).query("up", new Date(0));
      expect(seen).toEqual([undefined]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
