/**
 * `verify-full` (a proof bundle, or a file with its .sig.json/.asc/.tsr/.proof.json beside
 * it; offline) and `verify-audit` (the whole ledger database).
 */
import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import pg from "pg";
import { parseArtifactSignature, verifyArtifact, type ArtifactEvidence } from "../artifact.ts";
import { BUNDLE_FORMAT, parseBundle, type ProofBundle } from "../bundle.ts";
import { auditLedger } from "../verify-audit.ts";
import { verifyBundle } from "../verify-bundle.ts";
import { databaseUrl, loadTrust, path, readInput, type LedgerFlags } from "./cli-context.ts";
import { databaseFailure } from "./cli-errors.ts";
import { EXIT, printJson, printReport, UsageError, type CliIO } from "./cli-io.ts";
import type { SetExit } from "./cli-keys.ts";

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as unknown;
  } catch (err) {
    throw new UsageError(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function looksLikeBundle(file: string): boolean {
  if (!file.endsWith(".json")) return false;
  try {
    return (
      (JSON.parse(readFileSync(file, "utf8")) as { format?: unknown }).format === BUNDLE_FORMAT
    );
  } catch {
    return false;
  }
}

function artifactEvidence(io: CliIO, file: string): ArtifactEvidence {
  const full = path(io, file);
  const data = readInput(io, file, "file");
  const beside = (ext: string): string | undefined =>
    existsSync(`${full}${ext}`) ? `${full}${ext}` : undefined;
  const [sig, asc, tsr, proof] = [
    beside(".sig.json"),
    beside(".asc"),
    beside(".tsr"),
    beside(".proof.json"),
  ];
  if (!sig && !asc && !tsr && !proof) {
    throw new UsageError(
      `nothing to verify: ${file} has no .sig.json, .asc, .tsr or .proof.json beside it`,
    );
  }
  let bundle: ProofBundle | undefined;
  if (proof) bundle = parseBundle(readJson(proof, "proof bundle"));
  return {
    data: new Uint8Array(data),
    ...(sig ? { signature: parseArtifactSignature(readJson(sig, "signature")) } : {}),
    ...(asc ? { asc: readFileSync(asc, "utf8") } : {}),
    ...(tsr ? { tsr: new Uint8Array(readFileSync(tsr)) } : {}),
    ...(bundle ? { bundle } : {}),
  };
}

async function verifyFull(io: CliIO, target: string, f: LedgerFlags): Promise<number> {
  const full = path(io, target);
  if (!existsSync(full)) throw new UsageError(`no such file: ${target}`);
  const trust = loadTrust(io, f);
  if (looksLikeBundle(full)) {
    const bundle = parseBundle(readJson(full, "proof bundle"));
    return printReport(io, await verifyBundle(bundle, trust), Boolean(f.json), { bundle: full });
  }
  return printReport(
    io,
    await verifyArtifact(artifactEvidence(io, target), trust),
    Boolean(f.json),
    { file: full },
  );
}

async function verifyAudit(io: CliIO, f: LedgerFlags & { signatures?: boolean }): Promise<number> {
  const trust = loadTrust(io, f);
  if (f.signatures && !trust) throw new UsageError("--signatures needs --trust or --key-dir");
  const url = databaseUrl(io, f);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on("error", () => undefined);
  try {
    const r = await auditLedger({
      pool,
      ...(trust ? { trust } : {}),
      signatures: Boolean(f.signatures),
    }).catch((err: unknown) => {
      throw databaseFailure(err, url);
    });
    if (f.json) printJson(io, r);
    else {
      for (const c of r.checks) io.stdout(`${c.ok ? "✔" : "✘"} ${c.link} — ${c.detail}\n`);
      io.stdout(
        r.ok
          ? "audit log integrity verified\n"
          : `audit FAILED: first bad entry ${r.firstBadIndex}\n`,
      );
    }
    return r.ok ? EXIT.ok : EXIT.failed;
  } finally {
    await pool.end();
  }
}

/** Registers verify-full and verify-audit. */
export function registerVerifyCommands(program: Command, io: CliIO, setExit: SetExit): void {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  program
    .command("verify-full <target>")
    .description(
      "check every link of a proof bundle, or of FILE with its .sig.json/.asc/.tsr/.proof.json; offline",
    )
    .option(
      "--trust <file>",
      "trust bundle, PEM certificate or OpenPGP public key to pin (repeatable)",
      collect,
    )
    .option("--key-dir <dir>", "also trust DIR/trust.json")
    .option("--json", "JSON output")
    .action(async (target: string, o: LedgerFlags) => setExit(await verifyFull(io, target, o)));
  program
    .command("verify-audit")
    .description("recompute the Merkle log from every entry and compare with the signed tree heads")
    .option("--db <url>", "Postgres URL (default $DATABASE_URL)")
    .option(
      "--trust <file>",
      "trust bundle to check tree-head signatures with (repeatable)",
      collect,
    )
    .option("--key-dir <dir>", "also trust DIR/trust.json")
    .option("--signatures", "also verify every receipt's Ed25519 signature")
    .option("--json", "JSON output")
    .action(async (o: LedgerFlags & { signatures?: boolean }) => setExit(await verifyAudit(io, o)));
}
