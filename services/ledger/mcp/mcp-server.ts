/**
 * The Remembrancer MCP server (issue 17, ADR 0143): the ledger as an AI agent's memory.
 * Resources `memory://` (recent receipts), `adr://` (decisions), `receipt://{digest}` (a
 * receipt's proof bundle) and `merkle://` (the signed tree head); the tools of mcp-tools.ts;
 * prompts `decision_summary`, `risk_register` and `deployment_postmortem`. One server object
 * per connection (stdio) or per request (stateless Streamable HTTP); the ledger is shared.
 */
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { exportBundle, ReceiptNotFoundError } from "../bundle.ts";
import { DECISION_RECEIPT_TYPE, searchMemories } from "./ledger-memory.ts";
import { callTool, MCP_REASON, toolList } from "./mcp-tools.ts";
import { entryView, treeHeadView, type MemoryDeps } from "./mcp-views.ts";

/** Server name and version announced at initialization. */
export const MCP_SERVER_INFO = { name: "remembrancer", version: "0.1.0" } as const;

/** How many receipts `memory://` and `adr://` list. */
export const RECENT_LIMIT = 50;

const JSON_TYPE = "application/json";

function json(
  uri: URL | string,
  value: unknown,
): {
  contents: { uri: string; mimeType: string; text: string }[];
} {
  return {
    contents: [{ uri: String(uri), mimeType: JSON_TYPE, text: JSON.stringify(value, null, 2) }],
  };
}

async function recent(deps: MemoryDeps, type?: string): Promise<object> {
  const head = await deps.ledger.latestTreeHead();
  const entries = await deps.ledger.list({
    limit: RECENT_LIMIT,
    newestFirst: true,
    ...(type ? { type } : {}),
  });
  return {
    ...(head ? { treeSize: head.treeSize, rootHash: head.rootHash } : { treeSize: 0 }),
    receipts: entries.map(entryView),
  };
}

function registerResources(server: McpServer, deps: MemoryDeps): void {
  server.registerResource(
    "memory",
    "memory://",
    { description: `The ${RECENT_LIMIT} most recent receipts, newest first`, mimeType: JSON_TYPE },
    async (uri) => json(uri, await recent(deps)),
  );
  server.registerResource(
    "adr",
    "adr://",
    {
      description: `Architecture decisions recorded as ${DECISION_RECEIPT_TYPE} receipts, newest first`,
      mimeType: JSON_TYPE,
    },
    async (uri) => json(uri, await recent(deps, DECISION_RECEIPT_TYPE)),
  );
  server.registerResource(
    "merkle",
    "merkle://",
    {
      description: "The ledger's current signed tree head (C2SP checkpoint, Merkle root, stamps)",
      mimeType: JSON_TYPE,
    },
    async (uri) => {
      const head = await deps.ledger.latestTreeHead();
      const origin = (await deps.ledger.trust()).origin;
      return json(uri, head ? treeHeadView(head, origin) : { treeSize: 0 });
    },
  );
  server.registerResource(
    "receipt",
    new ResourceTemplate("receipt://{digest}", { list: undefined }),
    {
      description: "One receipt's proof bundle (receipt, inclusion proof, signed tree head, keys)",
      mimeType: JSON_TYPE,
    },
    async (uri, vars) => {
      const hex = String(vars.digest ?? "");
      if (!/^[0-9a-f]{64}$/.test(hex))
        throw new McpError(
          ErrorCode.InvalidParams,
          `uri: expected receipt://<64 hex>, got ${String(uri)}`,
          {
            reason: MCP_REASON.invalidArgument,
            argument: "uri",
          },
        );
      try {
        return json(uri, await exportBundle(deps.ledger, { digest: `sha256:${hex}` }));
      } catch (err) {
        if (err instanceof ReceiptNotFoundError)
          throw new McpError(-32002, err.message, {
            reason: MCP_REASON.notFound,
            uri: String(uri),
          });
        throw err;
      }
    },
  );
}

function userText(text: string): { role: "user"; content: { type: "text"; text: string } } {
  return { role: "user", content: { type: "text", text } };
}

async function evidence(deps: MemoryDeps, text: string, type?: string): Promise<string> {
  const filter = { limit: 20, ...(type ? { type } : {}) };
  const entries = text.trim()
    ? (await searchMemories(deps.ledger, { text, ...filter })).map((h) => h.entry)
    : await deps.ledger.list({ ...filter, newestFirst: true });
  return JSON.stringify(entries.map(entryView), null, 2);
}

const CITE =
  "Cite every fact by its receipt digest (sha256:…); check doubtful ones with the verify_artifact tool.";

function registerPrompts(server: McpServer, deps: MemoryDeps): void {
  server.registerPrompt(
    "decision_summary",
    {
      description: "Summarise the recorded architecture decisions (optionally about one topic)",
      argsSchema: { topic: z.string().max(200).optional() },
    },
    async ({ topic }) => ({
      messages: [
        userText(
          `Summarise the architecture decisions below${topic ? ` about "${topic}"` : ""}: what was decided, why, and what it rules out. ${CITE}\n\n${await evidence(deps, topic ?? "", DECISION_RECEIPT_TYPE)}`,
        ),
      ],
    }),
  );
  server.registerPrompt(
    "risk_register",
    {
      description: "Draft a risk register from recent receipts (denials, failures, decisions)",
      argsSchema: { focus: z.string().max(200).optional() },
    },
    async ({ focus }) => ({
      messages: [
        userText(
          `From the ledger receipts below, draft a risk register: each risk with likelihood, impact, owner and mitigation${focus ? `, focused on "${focus}"` : ""}. ${CITE}\n\n${await evidence(deps, focus ?? "")}`,
        ),
      ],
    }),
  );
  server.registerPrompt(
    "deployment_postmortem",
    {
      description: "Write a blameless postmortem of a component's deployments",
      argsSchema: { component: z.string().min(1).max(200) },
    },
    async ({ component }) => ({
      messages: [
        userText(
          `Write a blameless postmortem for the deployments of "${component}": timeline, impact, causes, what went well, actions. ${CITE}\n\n${await evidence(deps, component)}`,
        ),
      ],
    }),
  );
}

/** Builds one MCP server over the ledger (resources, tools, prompts). */
export function buildMemoryServer(deps: MemoryDeps): McpServer {
  const server = new McpServer(MCP_SERVER_INFO, {
    capabilities: { tools: {}, resources: {}, prompts: {} },
    instructions:
      "VaultMesh's Remembrancer ledger: signed, Merkle-logged receipts of deployments, decisions and workloads. Every result carries digests and proofs; cite digests.",
  });
  registerResources(server, deps);
  registerPrompts(server, deps);
  // Tools are served below McpServer so that bad arguments and refused tools are protocol
  // errors (McpServer turns them into tool results): ADR 0143.
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: toolList(deps) }));
  server.server.setRequestHandler(CallToolRequestSchema, async (req) => {
    deps.logger.debug({ tool: req.params.name }, "mcp tool call");
    return await callTool(deps, req.params.name, req.params.arguments);
  });
  return server;
}
