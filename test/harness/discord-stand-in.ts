/**
 * A local HTTP server standing in for Discord's REST API (v10), for tests of the Discord
 * binding. It records every request (method, path, Authorization header, JSON body), keeps the
 * guild commands a bulk overwrite stored (so a later GET returns them, as Discord does), answers
 * message posts with a message object, and can be told to fail, to test outages.
 *
 *   const discord = await startDiscordStandIn();
 *   new REST({ api: discord.api }).setToken("test-token");
 *   ... discord.requests ...
 *   await discord.stop();
 */
import { randomInt } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

/** One request the stand-in received. */
export interface RecordedRequest {
  readonly method: string;
  /** Path below the API version, e.g. `/channels/123/messages`. */
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

/** A running stand-in. */
export interface DiscordStandIn {
  /** Base URL for the REST client's `api` option (`http://127.0.0.1:<port>/api`). */
  readonly api: string;
  readonly requests: RecordedRequest[];
  /** Guild commands stored per `<applicationId>/<guildId>`. */
  readonly commands: Map<string, unknown[]>;
  /** Answer every request with this HTTP status (e.g. 503) until cleared with undefined. */
  failWith(status: number | undefined): void;
  /**
   * Records but does not answer requests while held (a hung Discord); `release()` answers the
   * held ones and stops holding.
   */
  hold(): void;
  release(): void;
  stop(): Promise<void>;
}

const snowflake = (): string => `${Date.now() - 1_420_070_400_000}${randomInt(100000, 999999)}`;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? undefined : (JSON.parse(text) as unknown);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

/** Options of {@link startDiscordStandIn}. */
export interface DiscordStandInOptions {
  /** Listen on this loopback port. @default 0 (a free one) */
  readonly port?: number;
  /** Called with each request as it is recorded, before it is answered. */
  readonly onRequest?: (r: RecordedRequest) => void;
}

/** Starts the stand-in on a loopback port: `port`, or a free one (0). */
export async function startDiscordStandIn(
  opts: DiscordStandInOptions = {},
): Promise<DiscordStandIn> {
  const requests: RecordedRequest[] = [];
  const commands = new Map<string, unknown[]>();
  let failing: number | undefined;
  let holding = false;
  const held: (() => void)[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://stand-in");
      const path = url.pathname.replace(/^\/api\/v\d+/, "");
      const body = await readJson(req);
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path,
        authorization: req.headers.authorization,
        body,
      };
      requests.push(recorded);
      opts.onRequest?.(recorded);
      if (holding) await new Promise<void>((r) => held.push(r));
      if (failing !== undefined)
        return send(res, failing, { message: "stand-in failure", code: 0 });
      const cmd = /^\/applications\/(\d+)\/guilds\/(\d+)\/commands$/.exec(path);
      if (cmd) {
        const key = `${cmd[1]}/${cmd[2]}`;
        if (req.method === "GET") return send(res, 200, commands.get(key) ?? []);
        if (req.method === "PUT") {
          const stored = (body as Record<string, unknown>[]).map((c) => ({
            id: snowflake(),
            application_id: cmd[1],
            guild_id: cmd[2],
            version: snowflake(),
            type: 1,
            default_member_permissions: null,
            nsfw: false,
            ...c,
          }));
          commands.set(key, stored);
          return send(res, 200, stored);
        }
      }
      const msg = /^\/channels\/(\d+)\/messages$/.exec(path);
      if (msg && req.method === "POST") {
        return send(res, 200, { id: snowflake(), channel_id: msg[1], ...(body as object) });
      }
      return send(res, 404, { message: "Unknown route", code: 0 });
    })().catch((err: unknown) => send(res, 500, { message: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    api: `http://127.0.0.1:${port}/api`,
    requests,
    commands,
    failWith: (status) => {
      failing = status;
    },
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const r of held.splice(0)) r();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        holding = false;
        for (const r of held.splice(0)) r();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
