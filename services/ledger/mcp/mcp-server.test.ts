/**
 * `remembrancer mcp` driven by the MCP SDK's own Client (not our server code): over stdio, as
 * a child process started from bin/remembrancer.js, and over Streamable HTTP, against a real
 * Postgres ledger written by the CLI.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { startPostgres, type PostgresServer } from "../../../test/harness/postgres.ts";
import { fromHex } from "../canonical-json.ts";
import { verifyInclusion } from "../merkle-verify.ts";
import { testCli } from "../cli/cli-test-io.ts";

jest.setTimeout(90_000);

const root = resolve(import.meta.dirname, "../../..");
const node = join(root, "node_modules/.bin/node");
const bin = join(root, "bin/remembrancer.js");

let dir: string;
let server: PostgresServer;
let dbUrl: string;
const stopTsa = new AbortController();
let tsaDone: Promise<number>;
let stdio: Client;
const artifact = "release 1.4.2 of the treaty router\n";
const artifactDigest = `sha256:${createHash("sha256").update(artifact).digest("hex")}`;
let recorded: { digest: string; rootHash: string; treeSize: number };

type TextContent = { type: string; text: string };

/** The JSON of a resource's or tool result's first text item. */
function firstText(result: unknown): unknown {
  const r = result as { contents?: TextContent[]; content?: TextContent[] };
  const items = (r.contents ?? r.content)!;
  return JSON.parse(items[0]!.text) as unknown;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remembrancer-mcp-"));
  server = await startPostgres();
  dbUrl = (await server.createDatabase("mcp")).url;
  const cli = testCli(dir, () => ({ DATABASE_URL: dbUrl }), stopTsa.signal);
  const tsa = await cli.start(
    ["tsa", "serve", "--port", "0", "--dir", "tsa"],
    /listening on (\S+)/,
  );
  tsaDone = tsa.done;
  expect((await cli.run("keygen", "--dir", "keys")).code).toBe(0);
  writeFileSync(join(dir, "router.tar.gz"), artifact);
  const rec = (...a: string[]): Promise<{ code: number; out: string }> =>
    cli.run("record", "--key-dir", "keys", "--tsa", tsa.match[1]!, "--json", ...a);
  await rec("--type", "deploy", "--subject", "treaty-router", "--payload", '{"version":"v1.4.1"}');
  const r = await rec(
    "--type",
    "deploy",
    "--subject",
    "treaty-router",
    "--payload",
    '{"version":"v1.4.2","why":"FastAPI replaced by fastify"}',
    "--artifact",
    "router.tar.gz",
  );
  expect(r.code).toBe(0);
  const out = JSON.parse(r.out) as {
    receipt: { digest: string };
    treeHead: { rootHash: string; treeSize: number };
  };
  recorded = { digest: out.receipt.digest, ...out.treeHead };
  stdio = new Client({ name: "mcp-test", version: "1.0.0" });
  await stdio.connect(
    new StdioClientTransport({
      command: node,
      args: [bin, "mcp", "--trust", "keys/trust.json", "--trust", "tsa/tsa-ca.crt"],
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", DATABASE_URL: dbUrl },
      stderr: "inherit",
    }),
  );
});

afterAll(async () => {
  await stdio?.close();
  stopTsa.abort();
  expect(await tsaDone).toBe(0);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<McpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  return err as McpError;
}

describe("remembrancer mcp over stdio", () => {
  it("lists the memory, adr and merkle resources and the receipt template", async () => {
    const { resources } = await stdio.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(["adr://", "memory://", "merkle://"]);
    const { resourceTemplates } = await stdio.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(["receipt://{digest}"]);
  });

  it("reads merkle:// as the ledger's signed, published tree head", async () => {
    const head = firstText(await stdio.readResource({ uri: "merkle://" })) as Record<
      string,
      unknown
    >;
    expect(head).toMatchObject({
      treeSize: recorded.treeSize,
      rootHash: recorded.rootHash,
      published: true,
    });
    expect(head.checkpoint).toContain(`${recorded.treeSize}\n`);
    expect(head.timestampToken).toEqual(expect.any(String));
  });

  it("search_memories finds receipts with digests and inclusion proofs that check", async () => {
    const r = firstText(
      await stdio.callTool({ name: "search_memories", arguments: { query: "fastapi" } }),
    ) as {
      results: {
        digest: string;
        logIndex: number;
        leafHash: string;
        inclusionProof: { treeSize: number; hashes: string[] };
      }[];
      treeHead: { rootHash: string };
    };
    expect(r.results.map((h) => h.digest)).toEqual([recorded.digest]);
    const hit = r.results[0]!;
    expect(r.treeHead.rootHash).toBe(recorded.rootHash);
    // The leaf hash the server states must lead to the root through the proof it gives.
    const ok = verifyInclusion(
      hit.logIndex,
      hit.inclusionProof.treeSize,
      fromHex(hit.leafHash),
      hit.inclusionProof.hashes.map((h) => fromHex(h)),
      fromHex(recorded.rootHash),
    );
    expect(ok.ok).toBe(true);
  });

  it("verify_artifact verifies an artifact's receipt against pinned keys", async () => {
    const r = firstText(
      await stdio.callTool({ name: "verify_artifact", arguments: { digest: artifactDigest } }),
    ) as { ok: boolean; pinned: boolean; receiptDigest: string; checks: { ok: boolean }[] };
    expect(r).toMatchObject({ ok: true, pinned: true, receiptDigest: recorded.digest });
    expect(r.checks.length).toBeGreaterThanOrEqual(6);
  });

  it("reads receipt://{digest} as a proof bundle", async () => {
    const uri = `receipt://${recorded.digest.slice("sha256:".length)}`;
    const b = firstText(await stdio.readResource({ uri })) as { receipt: { digest: string } };
    expect(b.receipt.digest).toBe(recorded.digest);
  });

  it("refuses sign_artifact and record_decision when not enabled (protocol error)", async () => {
    const s = await refusal(
      stdio.callTool({
        name: "sign_artifact",
        arguments: { name: "x.bin", contentBase64: "aGVsbG8=" },
      }),
    );
    expect(s.code).toBe(ErrorCode.InvalidRequest);
    expect(s.message).toMatch(/--allow-sign/);
    const w = await refusal(
      stdio.callTool({ name: "record_decision", arguments: { title: "t", text: "x" } }),
    );
    expect(w.code).toBe(ErrorCode.InvalidRequest);
    expect(w.message).toMatch(/--allow-write/);
  });

  it("answers bad arguments with InvalidParams naming the argument", async () => {
    const e = await refusal(
      stdio.callTool({ name: "verify_artifact", arguments: { digest: "md5:abc" } }),
    );
    expect(e.code).toBe(ErrorCode.InvalidParams);
    expect(e.message).toMatch(/argument digest/);
    const extra = await refusal(
      stdio.callTool({ name: "search_memories", arguments: { query: "x", colour: "red" } }),
    );
    expect(extra.message).toMatch(/argument colour/);
    const missing = await refusal(stdio.callTool({ name: "search_memories", arguments: {} }));
    expect([missing.code, missing.data]).toEqual([
      ErrorCode.InvalidParams,
      expect.objectContaining({ argument: "query" }),
    ]);
  });

  it("answers a malformed receipt:// uri and a prompt without its argument with InvalidParams", async () => {
    const uri = await refusal(stdio.readResource({ uri: "receipt://not-a-digest" }));
    expect([uri.code, uri.data]).toEqual([
      ErrorCode.InvalidParams,
      expect.objectContaining({ argument: "uri" }),
    ]);
    const prompt = await refusal(stdio.getPrompt({ name: "deployment_postmortem", arguments: {} }));
    expect(prompt.code).toBe(ErrorCode.InvalidParams);
    expect(prompt.message).toMatch(/component/);
  });

  it("builds a deployment_postmortem prompt from the component's receipts", async () => {
    const { prompts } = await stdio.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual([
      "decision_summary",
      "deployment_postmortem",
      "risk_register",
    ]);
    const p = await stdio.getPrompt({
      name: "deployment_postmortem",
      arguments: { component: "treaty-router" },
    });
    expect(JSON.stringify(p.messages)).toContain(recorded.digest);
  });
});

describe("remembrancer mcp flags", () => {
  it.each([["--allow-sign"], ["--allow-write"]])(
    "%s without the signing keys exits 2 naming --key-dir (no server starts)",
    async (flag) => {
      const cli = testCli(dir, () => ({ DATABASE_URL: dbUrl }), stopTsa.signal);
      const r = await cli.run("mcp", flag);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`${flag} needs the signing keys: pass --key-dir`));
    },
  );
});

describe("remembrancer mcp over Streamable HTTP", () => {
  let child: ChildProcess;
  let http: Client;

  beforeAll(async () => {
    child = spawn(
      node,
      [bin, "mcp", "--http", "0", "--key-dir", "keys", "--allow-write", "--allow-sign"],
      { cwd: dir, env: { PATH: process.env.PATH ?? "", DATABASE_URL: dbUrl }, stdio: "pipe" },
    );
    const url = await new Promise<string>((done, fail) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m) done(m[1]!);
      });
      child.once("exit", (code) => fail(new Error(`mcp --http exited ${code}: ${out}`)));
    });
    http = new Client({ name: "mcp-http-test", version: "1.0.0" });
    await http.connect(new StreamableHTTPClientTransport(new URL(url)));
  });

  afterAll(async () => {
    await http?.close();
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await exited;
  });

  it("records a decision that adr:// then lists, and signs an artifact", async () => {
    const rec = firstText(
      await http.callTool({
        name: "record_decision",
        arguments: { title: "Use fastify, not FastAPI", text: "# ADR\nWe chose fastify.\n" },
      }),
    ) as { digest: string; type: string };
    expect(rec.type).toBe("decision");
    const adrs = firstText(await http.readResource({ uri: "adr://" })) as {
      receipts: { digest: string }[];
    };
    expect(adrs.receipts.map((r) => r.digest)).toEqual([rec.digest]);
    const sig = firstText(
      await http.callTool({
        name: "sign_artifact",
        arguments: {
          name: "router.tar.gz",
          contentBase64: Buffer.from(artifact).toString("base64"),
        },
      }),
    ) as { digest: string; asc?: string };
    expect(sig.digest).toBe(artifactDigest);
    expect(sig.asc).toContain("BEGIN PGP SIGNATURE");
  });
});
