import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "@jest/globals";
import { DependencyHealth, DependencyState } from "../../../services/dependency-health/index.ts";
import {
  discordProbeUrl,
  isSaasOutage,
  probeHttp,
  reportSaasFailure,
  stripeProbeUrl,
  watchWhileDown,
} from "./tenant-saas-health.ts";

const quiet = { info: (): void => undefined, warn: (): void => undefined };
const health = (): DependencyHealth =>
  new DependencyHealth({ clock: { now: () => new Date("2026-01-15T10:00:00Z") }, logger: quiet });
const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
  code: "ECONNREFUSED",
});

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(status: number): Promise<string> {
  server = createServer((_req, res) => {
    res.writeHead(status).end("{}");
  });
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/api/v10/gateway`;
}

describe("probe URLs", () => {
  it.each([
    ["Stripe default", stripeProbeUrl(undefined), "https://api.stripe.com/v1/"],
    ["stripe-mock", stripeProbeUrl("http://127.0.0.1:12111"), "http://127.0.0.1:12111/v1/"],
    ["Discord default", discordProbeUrl(undefined), "https://discord.com/api/v10/gateway"],
    [
      "Discord stand-in",
      discordProbeUrl("http://127.0.0.1:5000/api/"),
      "http://127.0.0.1:5000/api/v10/gateway",
    ],
  ])("%s", (_what, got, want) => {
    expect(got).toBe(want);
  });
});

describe("isSaasOutage", () => {
  it.each([
    ["connection refused", refused, true],
    ["a 502 from a proxy", Object.assign(new Error("Bad Gateway"), { status: 502 }), true],
    ["a 403 (bad token)", Object.assign(new Error("Missing Access"), { status: 403 }), false],
    ["a plain error", new Error("unexpected answer"), false],
  ])("%s → %s", (_what, err, want) => {
    expect(isSaasOutage(err)).toBe(want);
  });
});

describe("probeHttp", () => {
  it.each([
    ["an answer (even 404) means reachable", 404, true],
    ["401 means reachable", 401, true],
    ["a 503 means still unavailable", 503, false],
  ])("%s", async (_what, status, want) => {
    expect(await probeHttp(await serve(status))).toBe(want);
  });

  it("is false when nothing listens", async () => {
    const url = await serve(200);
    await new Promise<void>((r) => server?.close(() => r()));
    server = undefined;
    expect(await probeHttp(url)).toBe(false);
  });
});

describe("reportSaasFailure and watchWhileDown", () => {
  it("marks the SaaS down on an outage and up (firing onReturn) once the probe answers", async () => {
    const h = health();
    const rep = h.register("discord");
    rep.up();
    const returned = new Promise<void>((resolve) => h.onReturn("discord", resolve));
    let probes = 0;
    let answer = false;
    const stop = watchWhileDown(
      rep,
      () => {
        probes++;
        return Promise.resolve(answer);
      },
      5,
    );
    try {
      reportSaasFailure(rep, Object.assign(new Error("Missing Access"), { status: 403 }));
      expect(rep.status().state).toBe(DependencyState.Up);
      reportSaasFailure(rep, refused);
      expect([rep.status().state, rep.status().reason]).toEqual([
        DependencyState.Down,
        "Unreachable",
      ]);
      await new Promise<void>((r) => {
        const t = setInterval(() => {
          if (probes >= 2) {
            clearInterval(t);
            r();
          }
        }, 1);
      });
      expect(rep.status().state).toBe(DependencyState.Down);
      answer = true;
      await returned;
      expect(rep.status().state).toBe(DependencyState.Up);
    } finally {
      stop();
    }
  });
});
