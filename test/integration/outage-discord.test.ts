// Issue 10: Discord goes away. The Discord stand-in is stopped under an operator process running
// the Tenant controller and started again on the same port. A workload completing meanwhile is
// announced once Discord is back: the notice waits (`Discord=False DiscordUnavailable` on the
// Tenant, the rest of the tenant untouched, the process up), is retried with the same nonce
// (Discord's `enforce_nonce` turns a repeat into the same message), and is posted exactly once —
// the Receipt then carries the message id, so later reconciles do not post it again.
// Meanwhile the tenant stays Ready with `Degraded=True DiscordFailing`, and a new workload for
// it is admitted by the real GPUWorkload webhooks (ADR 0077); Degraded clears once Discord is
// back.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { DISCORD_NOTICE_ANNOTATION } from "../../operator/controllers/tenant/tenant-discord-component.ts";
import type { Receipt } from "../../crds/index.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { startDiscordStandIn, type DiscordStandIn } from "../harness/discord-stand-in.ts";
import { waitFor } from "../harness/kube.ts";
import type { OperatorProcess } from "./operator-env.ts";
import {
  addCompletionReceipt,
  expectAlive,
  OutageClock,
  startOutageTenantEnv,
  waitForRetries,
  type OutageTenantEnv,
} from "./outage-env.ts";
import { admitWorkload } from "./tenant-admission-env.ts";
import { tenantCondition, waitForTenant, type TenantTestStack } from "./tenant-env.ts";

const GUILD = "456789012345678901";
const CHANNEL = "567890123456789012";
let env: OutageTenantEnv;
let stack: TenantTestStack;
let client: KubeClient;
let op: OperatorProcess;
let port = 0;
let name = "";
let back: DiscordStandIn | undefined;

beforeAll(async () => {
  env = await startOutageTenantEnv("odiscord", {
    ready: { t: { discord: { guildId: GUILD, channelId: CHANNEL } } },
    admission: { workload: "during-discord-outage" },
  });
  ({ stack, client, op, port } = env);
  name = env.name("t");
}, 180_000);

afterAll(async () => {
  await env?.stop();
  await back?.stop();
}, 150_000);

describe("the Discord stand-in is stopped and started again", () => {
  it("retries the workload notice with its nonce and posts it exactly once", async () => {
    const clock = new OutageClock("discord");
    const discordPort = Number(new URL(stack.discord.api).port);
    await stack.discord.stop();
    clock.down();
    const receipt = await addCompletionReceipt(stack, client, `tenant-${name}`, "train-1", 900);
    await waitForTenant(client, name, "Discord=False DiscordUnavailable", (t) => {
      const c = tenantCondition(t, "Discord");
      return c?.status === "False" && c.reason === "DiscordUnavailable";
    });
    const t = await client.get(Resources.Tenant, name);
    for (const other of ["Namespace", "Database", "Cache", "Billing"]) {
      expect([other, tenantCondition(t as never, other)?.status]).toEqual([other, "True"]);
    }
    // Degrade, don't stop: the tenant stays Ready, says what is degraded, and admits work.
    expect(tenantCondition(t as never, "Ready")).toMatchObject({
      status: "True",
      reason: "ReadyDegraded",
    });
    expect(tenantCondition(t as never, "Degraded")).toMatchObject({
      status: "True",
      reason: "DiscordFailing",
    });
    expect(tenantCondition(t as never, "Degraded")?.message).toContain(
      "Discord: DiscordUnavailable",
    );
    await admitWorkload(`tenant-${name}`, "during-discord-outage");
    expect(back).toBeUndefined();
    // The notice is retried while Discord is away (and reaches nobody: the stand-in that went
    // away is checked below). Three retries show that; each waits twice as long as the one
    // before (the controller's backoff), so six held the outage ~25 s in CI and minutes on a
    // loaded machine for nothing more (ADR 0078).
    await waitForRetries(port, "tenant", 3);
    await expectAlive(op, port);

    back = await startDiscordStandIn({ port: discordPort });
    clock.back();
    const annotated = await waitFor(
      "the receipt to be marked announced",
      async () => {
        const r = await client.get<Receipt>(
          Resources.Receipt,
          receipt.metadata.name ?? "",
          `tenant-${name}`,
        );
        return r?.metadata.annotations?.[DISCORD_NOTICE_ANNOTATION];
      },
      90_000,
    );
    clock.recovered("workload notice posted");
    await waitForTenant(
      client,
      name,
      "Discord=True",
      (x) => tenantCondition(x, "Discord")?.status === "True",
      90_000,
    );
    clock.recovered("Discord=True again");
    await waitForTenant(
      client,
      name,
      "Degraded=False",
      (x) => tenantCondition(x, "Degraded")?.status === "False",
      30_000,
    );
    const posts = (back?.requests ?? []).filter(
      (r) => r.method === "POST" && r.path === `/channels/${CHANNEL}/messages`,
    );
    expect(posts).toHaveLength(1);
    const body = posts[0]?.body as { content: string; nonce?: string; enforce_nonce?: boolean };
    expect(body.content).toContain("**train-1** completed");
    expect(body.enforce_nonce).toBe(true);
    expect(receipt.spec.digest.replace(/^sha256:/, "")).toContain(body.nonce ?? "-");
    expect(annotated).toBeTruthy();
    // The stand-in that went away received none of it: no notice half-sent before the outage.
    expect(
      stack.discord.requests.filter((r) => r.path === `/channels/${CHANNEL}/messages`),
    ).toHaveLength(0);
    await expectAlive(op, port);
  }, 300_000);
});
