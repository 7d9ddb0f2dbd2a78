/**
 * Discord: binds the tenant's guild (its slash commands, re-checked at most hourly) and
 * announces completed and failed workloads in the tenant's channel. Each announced Receipt is
 * annotated with the Discord message id, so a notice is posted once; the message nonce (from
 * the receipt digest) covers a crash between posting and annotating.
 */
import { TenantComponentReason } from "../../../crds/constants.ts";
import type { Receipt } from "../../../crds/index.ts";
import { Resources } from "../../../services/kube/index.ts";
import type { WorkloadNotice } from "../../../services/tenant-stack/discord/discord-binding.ts";
import { completionPayloadOf } from "../../../crds/domain/index.ts";
import { disabled, failure, type ComponentResult, type TenantContext } from "./tenant-context.ts";
import { reportSaasFailure } from "./tenant-saas-health.ts";

/** Annotation on a Receipt recording the Discord message that announced it. */
export const DISCORD_NOTICE_ANNOTATION = "vaultmesh.cloud/discord-notice";
// Receipts older than this when the guild is bound are not announced (no flood on binding).
const NOTICE_WINDOW_MS = 24 * 3600 * 1000;

/** Per-process memory of guilds whose commands were checked, to spare Discord's API. */
export class GuildMemory {
  readonly #checked = new Map<string, { guildId: string; at: number }>();
  fresh(uid: string, guildId: string, now: number, maxAgeMs: number): boolean {
    const m = this.#checked.get(uid);
    return m !== undefined && m.guildId === guildId && now - m.at < maxAgeMs;
  }
  remember(uid: string, guildId: string, now: number): void {
    this.#checked.set(uid, { guildId, at: now });
  }
  forget(uid: string): void {
    this.#checked.delete(uid);
  }
}

/** The notice for a completion receipt, or undefined for other receipts. */
export function noticeOf(r: Receipt): WorkloadNotice | undefined {
  const p = completionPayloadOf(r);
  if (!p) return undefined;
  return {
    workload: p.name,
    namespace: p.namespace,
    outcome: p.outcome,
    gpuType: p.gpuType,
    gpuCount: p.gpuCount,
    provider: p.provider,
    gpuHours: p.gpuSeconds / 3600,
    costMicroUsd: p.costMicroUsd,
    receiptDigest: r.spec.digest,
    ...(p.outcome === "Failed"
      ? { reason: `attempt ${p.attempt} on treaty ${p.treaty} failed` }
      : {}),
  };
}

async function postNotices(ctx: TenantContext, channelId: string): Promise<number> {
  const discord = ctx.services.discord;
  if (!discord) return 0;
  let n = 0;
  for (const r of ctx.receipts.list(ctx.namespace)) {
    if (r.metadata.annotations?.[DISCORD_NOTICE_ANNOTATION]) continue;
    if (ctx.now.getTime() - Date.parse(r.spec.issuedAt) > NOTICE_WINDOW_MS) continue;
    const notice = noticeOf(r);
    if (!notice) continue;
    const id = await discord.postWorkloadNotice(channelId, notice);
    await ctx.client.patch(
      Resources.Receipt,
      { name: r.metadata.name ?? "", namespace: ctx.namespace },
      { metadata: { annotations: { [DISCORD_NOTICE_ANNOTATION]: id } } },
    );
    n++;
  }
  return n;
}

/** Discord: guild commands and workload notices. */
export async function reconcileDiscord(
  ctx: TenantContext,
  memory: GuildMemory,
): Promise<ComponentResult> {
  const binding = ctx.tenant.spec.discord;
  if (!binding) {
    return {
      outcome: {
        status: "True",
        reason: TenantComponentReason.NotConfigured,
        message: "no Discord guild bound",
      },
    };
  }
  if (!ctx.services.discord) return disabled("The Discord bot");
  try {
    const now = ctx.now.getTime();
    if (!memory.fresh(ctx.uid, binding.guildId, now, ctx.settings.discordResyncMs)) {
      await ctx.services.discord.registerCommands(binding.guildId);
      memory.remember(ctx.uid, binding.guildId, now);
    }
    if (binding.channelId) await postNotices(ctx, binding.channelId);
    ctx.services.discordHealth?.up();
    return {
      outcome: {
        status: "True",
        reason: TenantComponentReason.GuildBound,
        message: `slash commands registered in guild ${binding.guildId}${binding.channelId ? `; notices go to channel ${binding.channelId}` : ""}`,
      },
    };
  } catch (err) {
    reportSaasFailure(ctx.services.discordHealth, err);
    return failure(ctx, TenantComponentReason.DiscordUnavailable, err);
  }
}
