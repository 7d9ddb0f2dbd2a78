/**
 * The MCP server over Streamable HTTP, stateless: each POST to `/mcp` gets its own server and
 * transport over the shared ledger (no session state to lose or leak between clients). DNS
 * rebinding protection allows only the bound host and loopback names as Host.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Logger } from "pino";

/** The path the MCP endpoint is served at. */
export const MCP_HTTP_PATH = "/mcp";

/** A listening MCP HTTP endpoint. */
export interface McpHttpEndpoint {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the Streamable HTTP endpoint; `build` makes one MCP server per request. */
export async function listenMcpHttp(opts: {
  readonly build: () => McpServer;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
}): Promise<McpHttpEndpoint> {
  let port = opts.port;
  const hosts = (): string[] =>
    [opts.host, "127.0.0.1", "localhost", "[::1]"].map((h) => `${h}:${port}`);
  const http: Server = createServer((req, res) => {
    if (new URL(req.url ?? "/", "http://x").pathname !== MCP_HTTP_PATH) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: use ${MCP_HTTP_PATH}\n`);
      return;
    }
    const server = opts.build();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      enableDnsRebindingProtection: true,
      allowedHosts: hosts(),
    });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch((err: unknown) => {
        opts.logger.error({ err }, "mcp http request failed");
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(opts.port, opts.host, () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  const shown = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shown}:${port}${MCP_HTTP_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
