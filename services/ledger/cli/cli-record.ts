/**
 * The seed's recording forms and search (issue 17, ADR 0142):
 * `record deploy --component C --version V [--evidence FILE]` (a `deployment` receipt, as
 * `make release` records), `record decision --title T --file ADR.md` (an ADR as a `decision`
 * receipt, the file as its artifact, its text searchable), and `query TEXT` (ranked Postgres
 * full-text search with snippets, `--type`, `--since`).
 */
import { basename } from "node:path";
import type { Command } from "commander";
import { RECEIPT_TYPE_PATTERN } from "../receipt.ts";
import { searchEntries } from "../store/pg-search.ts";
import { openLedger, readInput, type LedgerFlags } from "./cli-context.ts";
import { EXIT, printJson, UsageError, type CliIO } from "./cli-io.ts";
import type { SetExit } from "./cli-keys.ts";
import { limit, parseDate, record, type RecordFlags } from "./cli-ledger.ts";

/** Receipt types the seed forms write. */
export const RECORD_TYPES = { deployment: "deployment", decision: "decision" } as const;

/** The most ADR text kept in a decision's payload (the receipt limit is 1 MiB). */
const MAX_DECISION_TEXT = 512 * 1024;

interface DeployFlags {
  readonly component: string;
  readonly version: string;
  readonly evidence?: string;
}

interface DecisionFlags {
  readonly title: string;
  readonly file: string;
  readonly status?: string;
}

function nonEmpty(value: string, flag: string): string {
  const v = value.trim();
  if (!v) throw new UsageError(`${flag}: expected a non-empty value`);
  return v;
}

/** The record flags of `record deploy`. */
export function deployRecord(f: DeployFlags, shared: LedgerFlags): RecordFlags {
  const component = nonEmpty(f.component, "--component");
  const version = nonEmpty(f.version, "--version");
  return {
    ...shared,
    type: RECORD_TYPES.deployment,
    subject: component,
    payload: JSON.stringify({ component, version }),
    ...(f.evidence ? { artifact: f.evidence } : {}),
  };
}

/** The record flags of `record decision`; the ADR's text goes into the payload for search. */
export function decisionRecord(io: CliIO, f: DecisionFlags, shared: LedgerFlags): RecordFlags {
  const title = nonEmpty(f.title, "--title");
  if (title.length > 512) throw new UsageError("--title: expected at most 512 characters");
  const text = readInput(io, f.file, "--file").toString("utf8");
  if (text.length > MAX_DECISION_TEXT)
    throw new UsageError(`--file: ${f.file} is larger than ${MAX_DECISION_TEXT} characters`);
  return {
    ...shared,
    type: RECORD_TYPES.decision,
    subject: title,
    payload: JSON.stringify({
      title,
      file: basename(f.file),
      ...(f.status ? { status: f.status } : {}),
      text,
    }),
    artifact: f.file,
  };
}

async function query(
  io: CliIO,
  text: string,
  f: LedgerFlags & { type?: string; since?: string; limit?: string },
): Promise<number> {
  const words = nonEmpty(text, "TEXT");
  const since = f.since ? parseDate(f.since, "--since") : undefined;
  if (f.type !== undefined && !RECEIPT_TYPE_PATTERN.test(f.type))
    throw new UsageError(
      `--type: expected a receipt type (1-128 of A-Z a-z 0-9 . _ : / -), got "${f.type.slice(0, 80)}"`,
    );
  const max = limit(f.limit ?? "20");
  const { ledger, close } = await openLedger(io, f, false);
  try {
    const hits = await searchEntries(ledger.store.pool, {
      text: words,
      ...(f.type ? { type: f.type } : {}),
      ...(since ? { since } : {}),
      limit: max,
    });
    if (f.json) printJson(io, hits);
    else if (hits.length === 0) io.stdout(`no receipts match "${words}"\n`);
    else
      for (const h of hits)
        io.stdout(
          `#${h.logIndex} ${h.type} ${h.subject} (${h.issuedAt}, rank ${h.rank}) ${h.digest}\n    ${h.snippet}\n`,
        );
    return EXIT.ok;
  } finally {
    await close();
  }
}

/** Adds `record deploy`, `record decision` and `query` (after `record` is registered). */
export function registerRecordForms(program: Command, io: CliIO, setExit: SetExit): void {
  const rec = program.commands.find((c) => c.name() === "record");
  if (!rec) throw new Error("registerRecordForms: the record command is not registered");
  // Shared flags (--db, --key-dir, --tsa, --json…) are the parent's: read with optsWithGlobals.
  rec
    .command("deploy")
    .description("record a deployment: the seed's form of `record --type deployment`")
    .requiredOption("--component <name>", "the deployed component")
    .requiredOption("--version <version>", "its version")
    .option("--evidence <file>", "a file (tarball, manifest) whose SHA-256 the receipt records")
    .action(async (_o: DeployFlags, cmd: Command) => {
      const all = cmd.optsWithGlobals<DeployFlags & LedgerFlags>();
      setExit(await record(io, deployRecord(all, all)));
    });
  rec
    .command("decision")
    .description("record an ADR as a decision receipt; the file is its artifact")
    .requiredOption("--title <title>", "the decision's title")
    .requiredOption("--file <adr.md>", "the ADR text")
    .option("--status <status>", "e.g. accepted, superseded")
    .action(async (_o: DecisionFlags, cmd: Command) => {
      const all = cmd.optsWithGlobals<DecisionFlags & LedgerFlags>();
      setExit(await record(io, decisionRecord(io, all, all)));
    });
  for (const c of rec.commands) c.exitOverride();
  program
    .command("query <text>")
    .description("ranked full-text search over receipts and decisions, with snippets")
    .option("--type <type>", "only this receipt type (e.g. decision, deployment)")
    .option("--since <date>", "only receipts issued since")
    .option("--limit <n>", "at most this many", "20")
    .option("--db <url>", "Postgres URL (default $DATABASE_URL)")
    .option("--json", "JSON output")
    .action(
      async (text: string, o: LedgerFlags & { type?: string; since?: string; limit?: string }) =>
        setExit(await query(io, text, o)),
    );
}
