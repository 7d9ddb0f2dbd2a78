/**
 * `remembrancer mcp`: serves the ledger to MCP clients over stdio (default) or Streamable
 * HTTP (`--http PORT`). Read-only unless `--allow-write` (record_decision) or `--allow-sign`
 * (sign_artifact) is given, and those need the key directory (ADR 0143).
 */
import type { Command } from "commander";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  keyDir,
  loadOpenPgp,
  loadSigner,
  loadTrust,
  openLedger,
  type LedgerFlags,
} from "../cli/cli-context.ts";
import { EXIT, UsageError, type CliIO } from "../cli/cli-io.ts";
import type { SetExit } from "../cli/cli-keys.ts";
import { listenMcpHttp } from "./mcp-http.ts";
import { buildMemoryServer } from "./mcp-server.ts";
import type { MemoryDeps } from "./mcp-views.ts";

interface McpFlags extends LedgerFlags {
  readonly http?: string;
  readonly host: string;
  readonly allowWrite?: boolean;
  readonly allowSign?: boolean;
}

function httpPort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--http: expected a port 0-65535, got ${text}`);
  return port;
}

function untilStopped(io: CliIO, stdinEnds: boolean): Promise<void> {
  return new Promise<void>((done) => {
    if (io.signal) io.signal.addEventListener("abort", () => done(), { once: true });
    for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => done());
    if (stdinEnds) process.stdin.once("end", () => done());
  });
}

async function mcp(io: CliIO, f: McpFlags): Promise<number> {
  const port = httpPort(f.http);
  if ((f.allowWrite || f.allowSign) && !keyDir(io, f))
    throw new UsageError(
      `${f.allowWrite ? "--allow-write" : "--allow-sign"} needs the signing keys: pass --key-dir DIR (or set REMEMBRANCER_KEY_DIR)`,
    );
  const sign = f.allowSign
    ? {
        signer: loadSigner(io, f),
        ...(await loadOpenPgp(io, f).then((p) => (p ? { openpgp: p } : {}))),
      }
    : undefined;
  const trust = loadTrust(io, f);
  const { ledger, close } = await openLedger(io, f, Boolean(f.allowWrite));
  const deps: MemoryDeps = {
    ledger,
    clock: io.clock,
    logger: io.logger,
    allowWrite: Boolean(f.allowWrite),
    ...(trust ? { trust } : {}),
    ...(sign ? { sign } : {}),
  };
  try {
    if (port === undefined) {
      // stdout carries the protocol: nothing else may be written there.
      const server = buildMemoryServer(deps);
      await server.connect(new StdioServerTransport());
      await untilStopped(io, true);
      await server.close();
    } else {
      const endpoint = await listenMcpHttp({
        build: () => buildMemoryServer(deps),
        host: f.host,
        port,
        logger: io.logger,
      });
      io.stdout(`MCP server listening on ${endpoint.url}\n`);
      await untilStopped(io, false);
      await endpoint.close();
    }
  } finally {
    await close();
  }
  return EXIT.ok;
}

/** Registers mcp. */
export function registerMcpCommand(program: Command, io: CliIO, setExit: SetExit): void {
  program
    .command("mcp")
    .description(
      "serve the ledger to AI agents over the Model Context Protocol (stdio, or Streamable HTTP with --http)",
    )
    .option("--db <url>", "Postgres URL (default $DATABASE_URL)")
    .option("--http <port>", "serve Streamable HTTP on this port at /mcp (0 picks a free one)")
    .option("--host <host>", "address to bind with --http", "127.0.0.1")
    .option("--key-dir <dir>", "key directory for --allow-write/--allow-sign, and its trust.json")
    .option("--trust <file...>", "pin verification to these trust files / TSA CA certificates")
    .option("--allow-write", "enable record_decision (appends signed receipts)")
    .option("--allow-sign", "enable sign_artifact (signs with the ledger's keys)")
    .option("--tsa <url>", "time-stamp tree heads written with --allow-write")
    .option("--tsa-ca <pem>", "CA certificate of that TSA")
    .option("--origin <origin>", "log origin (checked against the ledger's)")
    .action(async (o: McpFlags) => setExit(await mcp(io, o)));
}
