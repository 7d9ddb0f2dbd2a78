// The Discord binding against a local stand-in for Discord's REST API: assertions are on what
// the stand-in received.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { REST } from "@discordjs/rest";
import {
  startDiscordStandIn,
  type DiscordStandIn,
} from "../../../test/harness/discord-stand-in.ts";
import { SLASH_COMMANDS, TenantDiscord, noticeMessage } from "./discord-binding.ts";

const APP = "111111111111111111";
const GUILD = "222222222222222222";
const CHANNEL = "333333333333333333";
const TOKEN = "test-bot-token";
let discord: DiscordStandIn;

function binding(): TenantDiscord {
  const rest = new REST({ api: discord.api, retries: 0, timeout: 5_000 }).setToken(TOKEN);
  return new TenantDiscord(rest, APP);
}

beforeAll(async () => {
  discord = await startDiscordStandIn();
});
beforeEach(() => {
  discord.requests.length = 0;
  discord.commands.clear();
  discord.failWith(undefined);
});
afterAll(async () => {
  await discord?.stop();
});

describe("slash commands", () => {
  it("bulk-overwrites /gpu-status and /receipt in the guild, authenticated as the bot", async () => {
    expect(await binding().registerCommands(GUILD)).toBe(true);
    const put = discord.requests.find((r) => r.method === "PUT");
    expect(put?.path).toBe(`/applications/${APP}/guilds/${GUILD}/commands`);
    expect(put?.authorization).toBe(`Bot ${TOKEN}`);
    expect((put?.body as { name: string }[]).map((c) => c.name)).toEqual(["gpu-status", "receipt"]);
    expect(put?.body).toEqual(SLASH_COMMANDS);
  });

  it("writes nothing when the guild already has the commands", async () => {
    await binding().registerCommands(GUILD);
    discord.requests.length = 0;
    const b = binding();
    expect(await b.registerCommands(GUILD)).toBe(false);
    expect(discord.requests.map((r) => r.method)).toEqual(["GET"]);
    expect(b.calls).toBe(1);
  });

  it("re-registers when someone changed a command", async () => {
    await binding().registerCommands(GUILD);
    const stored = discord.commands.get(`${APP}/${GUILD}`) as { description: string }[];
    stored[0] = { ...stored[0], description: "edited" };
    expect(await binding().registerCommands(GUILD)).toBe(true);
  });

  it("unregisters on teardown with an empty overwrite", async () => {
    await binding().registerCommands(GUILD);
    await binding().unregisterCommands(GUILD);
    expect(discord.requests.at(-1)).toMatchObject({ method: "PUT", body: [] });
    expect(discord.commands.get(`${APP}/${GUILD}`)).toEqual([]);
  });

  it("treats a guild the bot was removed from as already unregistered", async () => {
    discord.failWith(404);
    await expect(binding().unregisterCommands(GUILD)).resolves.toBeUndefined();
  });

  it("surfaces an outage as an error that does not contain the token", async () => {
    discord.failWith(503);
    const err = await binding()
      .registerCommands(GUILD)
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err).toBeInstanceOf(Error);
    expect(`${err?.message} ${err?.stack}`).not.toContain(TOKEN);
  });
});

describe("workload notices", () => {
  const digest = `sha256:${"c0ffee".repeat(10)}abcd`;

  it.each([
    [
      "completion",
      {
        outcome: "Succeeded" as const,
        gpuType: "h100",
        gpuCount: 2,
        provider: "akash",
        gpuHours: 1.5,
        costMicroUsd: 4_200_333,
        receiptDigest: digest,
      },
      /✅ GPU workload \*\*train\*\* completed/,
      ["GPU", "Provider", "GPU-hours", "Cost", "Receipt"],
      // the exact amount, not rounded to cents
      "$4.200333",
    ],
    [
      "failure",
      {
        outcome: "Failed" as const,
        reason: "ImagePullBackOff: image not found",
        receiptDigest: digest,
      },
      /❌ GPU workload \*\*train\*\* failed/,
      ["Reason", "Receipt"],
      undefined,
    ],
  ])(
    "posts a %s notice to the tenant's channel",
    async (_what, n, wantContent, wantFields, wantCost) => {
      const id = await binding().postWorkloadNotice(CHANNEL, {
        workload: "train",
        namespace: "tenant-acme",
        ...n,
      });
      expect(id).toMatch(/^\d+$/);
      const post = discord.requests.find((r) => r.method === "POST");
      expect(post?.path).toBe(`/channels/${CHANNEL}/messages`);
      const body = post?.body as ReturnType<typeof noticeMessage> & {
        embeds: { fields: { name: string }[] }[];
      };
      expect(body.content).toMatch(wantContent);
      expect(body.embeds[0]?.fields.map((f) => f.name)).toEqual(wantFields);
      const cost = (body.embeds[0]?.fields as { name: string; value: string }[]).find(
        (f) => f.name === "Cost",
      );
      expect(cost?.value).toBe(wantCost);
      expect(body.allowed_mentions).toEqual({ parse: [] });
      expect(body).toMatchObject({ nonce: "c0ffeec0ffeec0ffeec0ffeec", enforce_nonce: true });
    },
  );
});
