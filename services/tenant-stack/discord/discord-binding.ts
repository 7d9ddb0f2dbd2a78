/**
 * Binds a tenant's Discord guild: registers the bot's slash commands in the guild (one bulk
 * overwrite, only when they differ from what Discord has) and posts workload completion and
 * failure notices to the tenant's channel. Talks to Discord's REST API through
 * @discordjs/rest, whose base URL is configurable (tests use a local stand-in).
 */
import { formatUsd } from "../../../crds/domain/money.ts";
import type { REST } from "@discordjs/rest";
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  Routes,
  type APIApplicationCommand,
  type RESTPostAPIChannelMessageJSONBody,
  type RESTPutAPIApplicationGuildCommandsJSONBody,
} from "discord-api-types/v10";

/** The guild commands every tenant's guild gets. */
export const SLASH_COMMANDS: RESTPutAPIApplicationGuildCommandsJSONBody = [
  {
    type: ApplicationCommandType.ChatInput,
    name: "gpu-status",
    description: "Show this community's GPU workloads, usage and quota",
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: "receipt",
    description: "Show the signed receipt of a GPU workload",
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: "workload",
        description: "Name of the GPUWorkload",
        required: true,
        max_length: 253,
      },
    ],
  },
];

/** A workload outcome to announce. */
export interface WorkloadNotice {
  readonly workload: string;
  readonly namespace: string;
  readonly outcome: "Succeeded" | "Failed";
  /** Why it failed (shown for failures). */
  readonly reason?: string;
  readonly gpuType?: string;
  readonly gpuCount?: number;
  readonly provider?: string;
  readonly gpuHours?: number;
  /** Integer micro-dollars (shown as `$0.000333`, `$4.20`: never rounded to cents). */
  readonly costMicroUsd?: number;
  /** The completion receipt's digest (`sha256:<hex>`); also makes the post idempotent. */
  readonly receiptDigest?: string;
}

// The fields of a command Discord echoes back that we set; everything else is Discord's.
function normalize(c: Partial<APIApplicationCommand>): unknown {
  return {
    type: c.type ?? ApplicationCommandType.ChatInput,
    name: c.name,
    description: c.description,
    options: (c.options ?? []).map((o) => ({
      type: o.type,
      name: o.name,
      description: o.description,
      required: "required" in o ? (o.required ?? false) : false,
      max_length: "max_length" in o ? o.max_length : undefined,
    })),
  };
}

/** True when the guild's commands already equal {@link SLASH_COMMANDS}. */
export function commandsMatch(live: readonly Partial<APIApplicationCommand>[]): boolean {
  const key = (cs: readonly Partial<APIApplicationCommand>[]): string =>
    JSON.stringify(
      cs.map(normalize).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  return key(live) === key(SLASH_COMMANDS);
}

/** Builds the channel message announcing a workload outcome. */
export function noticeMessage(n: WorkloadNotice): RESTPostAPIChannelMessageJSONBody {
  const ok = n.outcome === "Succeeded";
  const fields = [
    n.gpuType
      ? { name: "GPU", value: `${n.gpuCount ?? 1} × ${n.gpuType}`, inline: true }
      : undefined,
    n.provider ? { name: "Provider", value: n.provider, inline: true } : undefined,
    n.gpuHours !== undefined
      ? { name: "GPU-hours", value: n.gpuHours.toFixed(2), inline: true }
      : undefined,
    n.costMicroUsd !== undefined
      ? { name: "Cost", value: formatUsd(n.costMicroUsd), inline: true }
      : undefined,
    !ok && n.reason ? { name: "Reason", value: n.reason.slice(0, 1024) } : undefined,
    n.receiptDigest ? { name: "Receipt", value: `\`${n.receiptDigest}\`` } : undefined,
  ].filter((f) => f !== undefined);
  return {
    content: `${ok ? "✅" : "❌"} GPU workload **${n.workload}** ${ok ? "completed" : "failed"}`,
    embeds: [
      {
        title: `${n.namespace}/${n.workload}`,
        color: ok ? 0x2ecc71 : 0xe74c3c,
        fields,
      },
    ],
    // Never ping anyone from text that tenants control.
    allowed_mentions: { parse: [] },
    ...(n.receiptDigest
      ? { nonce: n.receiptDigest.replace(/^sha256:/, "").slice(0, 25), enforce_nonce: true }
      : {}),
  };
}

/**
 * A Discord call that failed: the route's name, the HTTP status when Discord (or a proxy)
 * answered, and the reason — an answer that is not what the API promises (an HTML page, a
 * message without an id) included. The Tenant controller shows it on the `Discord` condition
 * and retries with backoff.
 */
export class DiscordCallError extends Error {
  override readonly name = "DiscordCallError";
  /** HTTP status, when there was an answer. */
  readonly status: number | undefined;
  constructor(message: string, status?: number, cause?: unknown) {
    super(message, { cause });
    this.status = status;
  }
}

// Runs one REST call, naming it in any failure (@discordjs/rest's own messages are bare:
// "Internal Server Error", or a TypeError from the socket).
async function call<T>(what: string, fn: () => Promise<unknown>): Promise<T> {
  try {
    return (await fn()) as T;
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    const code = typeof status === "number" ? status : undefined;
    const reason = err instanceof Error ? err.message : String(err);
    throw new DiscordCallError(
      `Discord ${what}: ${code !== undefined ? `HTTP ${code} ` : ""}${reason}`,
      code,
      err,
    );
  }
}

// What an unexpected answer looks like in a message: @discordjs/rest hands back anything that
// is not application/json as an ArrayBuffer (an HTML page, a proxy's error).
function shapeOf(v: unknown): string {
  if (v instanceof ArrayBuffer) return `${v.byteLength} bytes that are not JSON`;
  if (Array.isArray(v)) return "a list";
  return v === null ? "null" : typeof v;
}

/** Discord operations for tenants. */
export class TenantDiscord {
  /** REST calls made since construction. */
  calls = 0;
  readonly #rest: REST;
  readonly #applicationId: string;

  /** `rest` carries the bot token; `applicationId` is the bot's application. */
  constructor(rest: REST, applicationId: string) {
    this.#rest = rest;
    this.#applicationId = applicationId;
  }

  /** Registers the slash commands in the guild unless they are already there; returns whether it wrote. */
  async registerCommands(guildId: string): Promise<boolean> {
    const route = Routes.applicationGuildCommands(this.#applicationId, guildId);
    this.calls++;
    const live = await call<unknown>("GET guild commands", () => this.#rest.get(route));
    if (!Array.isArray(live)) {
      throw new DiscordCallError(
        `Discord GET guild commands: expected a list of commands, got ${shapeOf(live)}`,
      );
    }
    if (commandsMatch(live as Partial<APIApplicationCommand>[])) return false;
    this.calls++;
    await call("PUT guild commands", () => this.#rest.put(route, { body: SLASH_COMMANDS }));
    return true;
  }

  /** Removes the bot's commands from the guild (teardown); a guild the bot left is done. */
  async unregisterCommands(guildId: string): Promise<void> {
    this.calls++;
    await call("PUT guild commands (remove)", () =>
      this.#rest.put(Routes.applicationGuildCommands(this.#applicationId, guildId), { body: [] }),
    ).catch((err: unknown) => {
      // The bot was removed from the guild, or the guild is gone: nothing left to remove.
      const status = (err as DiscordCallError).status;
      if (status === 403 || status === 404) return undefined;
      throw err;
    });
  }

  /** Posts a workload notice to the channel; returns the message id. */
  async postWorkloadNotice(channelId: string, notice: WorkloadNotice): Promise<string> {
    this.calls++;
    const msg = await call<unknown>("POST channel message", () =>
      this.#rest.post(Routes.channelMessages(channelId), { body: noticeMessage(notice) }),
    );
    const id = (msg as { id?: unknown } | null)?.id;
    // Without an id the notice cannot be marked as posted: an error, retried (the message
    // nonce keeps a retry from posting it twice), never a silent success.
    if (typeof id !== "string" || id === "") {
      throw new DiscordCallError(
        `Discord POST channel message: expected a message with an id, got ${shapeOf(msg)}`,
      );
    }
    return id;
  }
}
