// Issue 10, bad input: Stripe or Discord (or a proxy in front of them) answering 500 or an HTML
// page is an error with a reason — the Tenant controller's component condition reads it, and
// the reconcile retries with the same idempotency keys — never a crash and never a silent
// success. The real clients (stripe-node, @discordjs/rest) talk to a node:http server on
// loopback that answers what each test says.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { REST } from "@discordjs/rest";
import Stripe from "stripe";
import {
  reconcileDiscord,
  GuildMemory,
} from "../../operator/controllers/tenant/tenant-discord-component.ts";
import type { TenantContext } from "../../operator/controllers/tenant/tenant-context.ts";
import { DiscordCallError, SLASH_COMMANDS, TenantDiscord } from "./discord/discord-binding.ts";
import { TenantBilling, type BillingConfig } from "./stripe/billing.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let port: number;
/** Answers in order; the last one repeats. */
let answers: Handler[] = [];
let seen: { method: string; path: string; idempotencyKey: string | undefined }[] = [];

const send =
  (status: number, type: string, body: string): Handler =>
  (_req, res) => {
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };
const HTML_500 = send(
  500,
  "text/html",
  "<html><body><h1>500 Internal Server Error</h1></body></html>",
);
const HTML_200 = send(200, "text/html", "<html><body>Please sign in</body></html>");
const json =
  (status: number, body: unknown): Handler =>
  (_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const h = answers[Math.min(seen.length, answers.length - 1)];
      const key = req.headers["idempotency-key"];
      seen.push({
        method: req.method ?? "",
        path: (req.url ?? "").split("?")[0] ?? "",
        idempotencyKey: typeof key === "string" ? key : undefined,
      });
      h?.(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  answers = [];
  seen = [];
});

const APP = "111111111111111111";
const GUILD = "222222222222222222";
const CHANNEL = "333333333333333333";
const TOKEN = "test-bot-token-abcdefghijklmnopqrstuvwxyz";

const discord = (retries = 0): TenantDiscord =>
  new TenantDiscord(
    new REST({ api: `http://127.0.0.1:${port}/api`, retries, timeout: 5_000 }).setToken(TOKEN),
    APP,
  );

async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

describe("Discord answering garbage", () => {
  it("a 500 HTML page is a DiscordCallError naming the call and status, after the client's retries", async () => {
    answers = [HTML_500];
    const err = await rejection(discord(2).registerCommands(GUILD));
    expect(err).toBeInstanceOf(DiscordCallError);
    expect(err.message).toBe("Discord GET guild commands: HTTP 500 Internal Server Error");
    expect((err as DiscordCallError).status).toBe(500);
    expect(seen).toHaveLength(3);
    expect(`${err.message} ${err.stack}`).not.toContain(TOKEN);
  });

  it("a 500 then the real answer: the retry succeeds", async () => {
    answers = [HTML_500, json(200, SLASH_COMMANDS)];
    expect(await discord(2).registerCommands(GUILD)).toBe(false);
    expect(seen.map((s) => s.method)).toEqual(["GET", "GET"]);
  });

  it("an HTML page with 200 where the command list belongs is an error, not a TypeError", async () => {
    answers = [HTML_200];
    const err = await rejection(discord().registerCommands(GUILD));
    expect(err.message).toMatch(
      /^Discord GET guild commands: expected a list of commands, got \d+ bytes that are not JSON$/,
    );
    // Nothing was overwritten on the strength of garbage.
    expect(seen.map((s) => s.method)).toEqual(["GET"]);
  });

  it("a posted message without an id is an error, not a notice marked as posted", async () => {
    answers = [HTML_200];
    let err = await rejection(
      discord().postWorkloadNotice(CHANNEL, {
        workload: "train",
        namespace: "tenant-acme",
        outcome: "Succeeded",
      }),
    );
    expect(err.message).toMatch(
      /^Discord POST channel message: expected a message with an id, got \d+ bytes that are not JSON$/,
    );
    answers = [json(200, { channel_id: CHANNEL })];
    err = await rejection(
      discord().postWorkloadNotice(CHANNEL, {
        workload: "train",
        namespace: "tenant-acme",
        outcome: "Succeeded",
      }),
    );
    expect(err.message).toBe(
      "Discord POST channel message: expected a message with an id, got object",
    );
  });

  it("the Tenant's Discord condition says why, and the reconcile is retried", async () => {
    answers = [HTML_500];
    const ctx = {
      tenant: { spec: { discord: { guildId: GUILD } } },
      uid: "uid-1",
      now: new Date("2026-01-01T00:00:00Z"),
      services: { discord: discord() },
      settings: { discordResyncMs: 3_600_000 },
      sensitive: new Set<string>([TOKEN]),
    } as unknown as TenantContext;
    const r = await reconcileDiscord(ctx, new GuildMemory());
    expect(r).toEqual({
      outcome: {
        status: "False",
        reason: "DiscordUnavailable",
        message: "Discord GET guild commands: HTTP 500 Internal Server Error",
      },
      failed: true,
    });
  });
});

const cfg: BillingConfig = {
  planPrices: { pro: "price_pro" },
  meterEventName: "vaultmesh_gpu_seconds",
};
const stripe = (maxNetworkRetries = 0): Stripe =>
  new Stripe("sk_test_123", { host: "127.0.0.1", port, protocol: "http", maxNetworkRetries });

describe("Stripe answering garbage", () => {
  it.each([
    { name: "a 500 HTML page", answer: HTML_500 },
    { name: "an HTML page with 200", answer: HTML_200 },
  ])("$name is an error with a reason, and nothing is taken from it", async ({ answer }) => {
    answers = [answer];
    const err = await rejection(
      new TenantBilling(stripe(), cfg).sync({
        tenantName: "acme",
        tenantUid: "3f0c9d0a-0000-4000-8000-000000000001",
        plan: "pro",
        email: "a@b.c",
      }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeError);
    expect(err.message).toBe("Invalid JSON received from the Stripe API");
    expect(err.message).not.toContain("sk_test_123");
    // One call: no subscription was created for a customer nobody saw.
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(["POST /v1/customers"]);
  });

  it("a meter event refused with 500 is reported again with the same idempotency key", async () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    answers = [HTML_500];
    const billing = new TenantBilling(stripe(), cfg);
    await rejection(billing.reportUsage("cus_1", digest, 3600));
    // The next reconcile reports the same receipt; Stripe counts it once by key.
    answers = [json(200, { object: "billing.meter_event", identifier: digest })];
    await billing.reportUsage("cus_1", digest, 3600);
    expect(seen.map((s) => [s.path, s.idempotencyKey])).toEqual([
      ["/v1/billing/meter_events", digest],
      ["/v1/billing/meter_events", digest],
    ]);
  });
});
