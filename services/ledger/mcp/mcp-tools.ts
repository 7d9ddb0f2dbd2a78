/**
 * The MCP server's tools: `search_memories` and `verify_artifact` (read), `record_decision`
 * (write) and `sign_artifact` (sign). Arguments are checked against zod schemas and a bad one
 * is a JSON-RPC protocol error (InvalidParams) naming the argument; a write or sign tool that
 * the server was not started with is refused with a protocol error too (ADR 0143), so an MCP
 * client never gets the operator's signing power by default.
 */
import { McpError, ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { signArtifact } from "../artifact.ts";
import { exportBundle } from "../bundle.ts";
import { fromBase64 } from "../canonical-json.ts";
import { RECEIPT_TYPE_PATTERN } from "../receipt.ts";
import { entryByArtifactDigest } from "../store/pg-log-queries.ts";
import { verifyBundle } from "../verify-bundle.ts";
import { decisionReceipt, searchMemories } from "./ledger-memory.ts";
import { entryView, type MemoryDeps } from "./mcp-views.ts";

/** Reason codes carried in `error.data.reason` of the tools' protocol errors. */
export const MCP_REASON = {
  invalidArgument: "InvalidArgument",
  unknownTool: "UnknownTool",
  toolDisabled: "ToolDisabled",
  notFound: "NotFound",
} as const;

const digest = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, "expected sha256:<64 lowercase hex>")
  .describe("sha256:<hex> of a receipt, or of an artifact a receipt records");

const schemas = {
  search_memories: z.strictObject({
    query: z
      .string()
      .min(1)
      .max(500)
      .describe('full-text search: words, "quoted phrases", or, -excluded (ranked)'),
    type: z
      .string()
      .regex(RECEIPT_TYPE_PATTERN, "expected a receipt type")
      .optional()
      .describe("only receipts of this type, e.g. decision or deployment"),
    since: z.iso.datetime({ offset: true }).optional().describe("RFC 3339: issued at or after"),
    limit: z.int().min(1).max(50).default(10).describe("most results"),
  }),
  verify_artifact: z.strictObject({ digest }),
  record_decision: z.strictObject({
    title: z.string().trim().min(1).max(512).describe("the decision's title"),
    text: z
      .string()
      .min(1)
      .max(512 * 1024)
      .describe("the decision record (Markdown), kept in the receipt and searchable"),
    status: z.enum(["proposed", "accepted", "superseded", "deprecated"]).optional(),
  }),
  sign_artifact: z.strictObject({
    name: z.string().min(1).max(255).describe("the artifact's file name"),
    contentBase64: z.base64().max(10_000_000).describe("the artifact's bytes, base64"),
  }),
} as const;

type ToolName = keyof typeof schemas;

const descriptions: Record<ToolName, string> = {
  search_memories:
    "Search the ledger's receipts (deployments, decisions, workloads…); each hit carries its digest and an inclusion proof in the current signed tree head.",
  verify_artifact:
    "Verify a receipt (by digest) or an artifact (by its sha256) against the ledger: receipt signature, Merkle inclusion, signed tree head, OpenPGP and RFC 3161 stamps. Returns the checks and the proof bundle.",
  record_decision:
    "Record an architecture decision as a signed receipt (needs the server started with --allow-write).",
  sign_artifact:
    "Sign an artifact with the ledger's keys: Ed25519 statement and OpenPGP detached signature (needs the server started with --allow-sign).",
};

/** The tools/list entries (JSON Schema from the zod schemas). */
export function toolList(deps: MemoryDeps): {
  name: string;
  description: string;
  inputSchema: { type: "object"; [k: string]: unknown };
}[] {
  return (Object.keys(schemas) as ToolName[]).map((name) => ({
    name,
    description: `${descriptions[name]}${enabled(deps, name) ? "" : " [disabled on this server]"}`,
    inputSchema: z.toJSONSchema(schemas[name], { io: "input" }) as {
      type: "object";
      [k: string]: unknown;
    },
  }));
}

function enabled(deps: MemoryDeps, name: ToolName): boolean {
  if (name === "record_decision") return deps.allowWrite;
  if (name === "sign_artifact") return deps.sign !== undefined;
  return true;
}

/** Parses a tool's arguments, or throws InvalidParams naming the first bad argument. */
export function parseArguments<N extends ToolName>(
  name: N,
  args: unknown,
): z.output<(typeof schemas)[N]> {
  const r = schemas[name].safeParse(args ?? {});
  if (r.success) return r.data as z.output<(typeof schemas)[N]>;
  const issue = r.error.issues[0]!;
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const at = [...issue.path, ...keys.slice(0, 1)].join(".");
  throw new McpError(
    ErrorCode.InvalidParams,
    `${name}: argument ${at || "(arguments)"}: ${issue.message}`,
    { reason: MCP_REASON.invalidArgument, argument: at },
  );
}

type ToolResult = { content: { type: "text"; text: string }[]; structuredContent: object };

function result(value: object): ToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
    structuredContent: value,
  };
}

async function search(
  deps: MemoryDeps,
  a: z.output<typeof schemas.search_memories>,
): Promise<ToolResult> {
  const head = await deps.ledger.latestTreeHead();
  const hits = await searchMemories(deps.ledger, {
    text: a.query,
    limit: a.limit,
    ...(a.type ? { type: a.type } : {}),
    ...(a.since ? { since: new Date(a.since) } : {}),
  });
  const results = [];
  for (const h of hits) {
    const proof = head
      ? await deps.ledger.inclusionProof(h.entry.logIndex, head.treeSize)
      : undefined;
    results.push({
      ...entryView(h.entry),
      rank: h.rank,
      snippet: h.snippet,
      ...(proof ? { inclusionProof: proof } : {}),
    });
  }
  const treeHead = head && {
    treeSize: head.treeSize,
    rootHash: head.rootHash,
    checkpoint: head.checkpoint,
  };
  return result({
    query: a.query,
    count: results.length,
    results,
    ...(treeHead ? { treeHead } : {}),
  });
}

async function verify(
  deps: MemoryDeps,
  a: z.output<typeof schemas.verify_artifact>,
): Promise<ToolResult> {
  let receiptDigest = a.digest;
  if (!(await deps.ledger.getByDigest(a.digest))) {
    const row = await entryByArtifactDigest(deps.ledger.store.pool, a.digest);
    if (!row)
      throw new McpError(
        ErrorCode.InvalidParams,
        `verify_artifact: argument digest: no receipt or recorded artifact ${a.digest} in the ledger`,
        {
          reason: MCP_REASON.notFound,
          argument: "digest",
        },
      );
    const entry = await deps.ledger.getByIndex(row.logIndex);
    receiptDigest = entry!.receipt.digest;
  }
  const bundle = await exportBundle(deps.ledger, { digest: receiptDigest });
  const report = await verifyBundle(bundle, deps.trust);
  return result({
    ok: report.ok,
    pinned: report.pinned,
    digest: a.digest,
    receiptDigest,
    checks: report.checks,
    bundle,
  });
}

/** A file name for a decision's document, from its title. */
export function decisionSlug(title: string): string {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 80)
    .replace(/-+$/, "");
  return slug || "decision";
}

function refuse(name: ToolName, flag: string): never {
  throw new McpError(
    ErrorCode.InvalidRequest,
    `${name} is disabled on this server: start \`remembrancer mcp\` with ${flag} and --key-dir DIR to enable it`,
    { reason: MCP_REASON.toolDisabled, tool: name },
  );
}

async function recordDecision(
  deps: MemoryDeps,
  a: z.output<typeof schemas.record_decision>,
): Promise<ToolResult> {
  if (!deps.allowWrite) refuse("record_decision", "--allow-write");
  const input = decisionReceipt({
    title: a.title,
    ...(a.status ? { status: a.status } : {}),
    fileName: `${decisionSlug(a.title)}.md`,
    document: new TextEncoder().encode(a.text),
  });
  const r = await deps.ledger.append(input);
  const head = (await deps.ledger.publish()) ?? r.treeHead;
  return result({
    existing: r.existing,
    ...entryView({ ...r.entry, receipt: r.receipt }),
    inclusionProof: r.proof,
    treeHead: head,
  });
}

async function sign(
  deps: MemoryDeps,
  a: z.output<typeof schemas.sign_artifact>,
): Promise<ToolResult> {
  const keys = deps.sign;
  if (!keys) refuse("sign_artifact", "--allow-sign");
  const data = fromBase64(a.contentBase64);
  const { signature, asc } = await signArtifact(
    a.name,
    data,
    keys.signer,
    deps.clock,
    keys.openpgp,
  );
  return result({ digest: signature.digest, signature, ...(asc ? { asc } : {}) });
}

/** Runs a tools/call request; throws McpError for protocol errors. */
export async function callTool(deps: MemoryDeps, name: string, args: unknown): Promise<ToolResult> {
  switch (name) {
    case "search_memories":
      return await search(deps, parseArguments(name, args));
    case "verify_artifact":
      return await verify(deps, parseArguments(name, args));
    case "record_decision":
      if (!deps.allowWrite) refuse(name, "--allow-write");
      return await recordDecision(deps, parseArguments(name, args));
    case "sign_artifact":
      if (!deps.sign) refuse(name, "--allow-sign");
      return await sign(deps, parseArguments(name, args));
    default:
      throw new McpError(ErrorCode.InvalidParams, `unknown tool ${name}`, {
        reason: MCP_REASON.unknownTool,
      });
  }
}
