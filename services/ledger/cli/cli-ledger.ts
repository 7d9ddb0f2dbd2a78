/**
 * Commands on the ledger database: `record`, `export-proof`, `list` and `timeline`.
 */
import { existsSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import { exportBundle } from "../bundle.ts";
import { digestString, type JsonValue } from "../canonical-json.ts";
import type { LedgerEntry } from "../ledger.ts";
import type { ReceiptSubject } from "../receipt.ts";
import { entryByArtifactDigest } from "../store/pg-log-queries.ts";
import { openLedger, path, readInput, type LedgerFlags } from "./cli-context.ts";
import { EXIT, printJson, UsageError, type CliIO } from "./cli-io.ts";
import type { SetExit } from "./cli-keys.ts";
import { registerRecordForms } from "./cli-record.ts";

/** Flags of `record` (and of its seed forms, which fill type, subject and payload). */
export interface RecordFlags extends LedgerFlags {
  readonly type: string;
  readonly subject: string;
  readonly payload?: string;
  readonly artifact?: string;
}

function parseJsonArg(io: CliIO, text: string, what: string): unknown {
  const raw = text.startsWith("@")
    ? readInput(io, text.slice(1), `${what} file`).toString("utf8")
    : text;
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function recordInput(
  io: CliIO,
  f: RecordFlags,
): { type: string; subject: ReceiptSubject; payload: JsonValue } {
  const subject = f.subject.trim().startsWith("{")
    ? (parseJsonArg(io, f.subject, "--subject") as ReceiptSubject)
    : f.subject;
  let payload = (
    f.payload === undefined ? {} : parseJsonArg(io, f.payload, "--payload")
  ) as JsonValue;
  if (f.artifact) {
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      throw new UsageError("--payload must be a JSON object when --artifact is given");
    }
    const data = readInput(io, f.artifact, "artifact");
    payload = {
      ...payload,
      artifact: { name: basename(f.artifact), sha256: digestString(data), size: data.length },
    };
  }
  return { type: f.type, subject, payload };
}

/** Signs a receipt, appends it and prints it. */
export async function record(io: CliIO, f: RecordFlags): Promise<number> {
  const input = recordInput(io, f);
  const { ledger, close } = await openLedger(io, f, true);
  try {
    const r = await ledger.append(input);
    const head = (await ledger.publish()) ?? r.treeHead;
    if (f.json)
      printJson(io, { receipt: r.receipt, entry: r.entry, existing: r.existing, treeHead: head });
    else {
      io.stdout(
        `${r.existing ? "already recorded" : "recorded"} ${r.receipt.digest} at log index ${r.entry.logIndex} (tree size ${head.treeSize}${head.stamp?.timestampToken ? ", timestamped" : ""})\n`,
      );
      printJson(io, r.receipt);
    }
    return EXIT.ok;
  } finally {
    await close();
  }
}

async function exportProof(
  io: CliIO,
  ref: string,
  f: LedgerFlags & { out?: string },
): Promise<number> {
  const { ledger, close } = await openLedger(
    io,
    f,
    Boolean(f.keyDir ?? io.env.REMEMBRANCER_KEY_DIR),
  );
  try {
    let digest: string | undefined;
    let logIndex: number | undefined;
    let defaultOut: string | undefined;
    if (/^sha256:[0-9a-f]{64}$/.test(ref)) digest = ref;
    else if (/^[0-9]+$/.test(ref) && !existsSync(path(io, ref))) logIndex = Number(ref);
    else {
      const data = readInput(io, ref, "receipt or artifact");
      const asJson = ((): unknown => {
        try {
          return JSON.parse(data.toString("utf8"));
        } catch {
          return undefined;
        }
      })() as { digest?: unknown; apiVersion?: unknown } | undefined;
      if (typeof asJson?.digest === "string" && typeof asJson.apiVersion === "string")
        digest = asJson.digest;
      else {
        const row = await entryByArtifactDigest(ledger.store.pool, digestString(data));
        if (!row)
          throw new UsageError(
            `no receipt in the ledger records artifact ${ref} (${digestString(data)})`,
          );
        logIndex = row.logIndex;
        defaultOut = `${ref}.proof.json`;
      }
    }
    const bundle = await exportBundle(
      ledger,
      digest !== undefined ? { digest } : { logIndex: logIndex! },
    );
    const out = f.out ?? defaultOut;
    if (out) {
      writeFileSync(path(io, out), `${JSON.stringify(bundle, null, 2)}\n`);
      if (f.json)
        printJson(io, {
          out: path(io, out),
          digest: bundle.receipt.digest,
          treeSize: bundle.inclusionProof.treeSize,
        });
      else
        io.stdout(
          `wrote ${out}: receipt ${bundle.receipt.digest}, index ${bundle.entry.logIndex} of ${bundle.inclusionProof.treeSize}${bundle.treeHead.timestampToken ? "" : " (tree head not timestamped)"}\n`,
        );
    } else printJson(io, bundle);
    return EXIT.ok;
  } finally {
    await close();
  }
}

/** Parses a date flag, naming the flag when it is not a date. */
export function parseDate(text: string, flag: string): Date {
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new UsageError(`${flag}: not a date: ${text} (use YYYY-MM-DD or RFC 3339)`);
  return new Date(t);
}

function printEntries(io: CliIO, entries: readonly LedgerEntry[], json: boolean | undefined): void {
  if (json) return printJson(io, entries);
  for (const e of entries) {
    const subject =
      typeof e.receipt.subject === "string" ? e.receipt.subject : JSON.stringify(e.receipt.subject);
    io.stdout(
      `${String(e.logIndex).padStart(7)}  ${e.receipt.issuedAt}  ${e.receipt.type}  ${subject}  ${e.receipt.digest.slice(0, 19)}…\n`,
    );
  }
  if (entries.length === 0) io.stdout("no entries\n");
}

/** Parses --limit (1-100000). */
export function limit(text: string | undefined): number {
  const n = Number(text ?? "100");
  if (!Number.isInteger(n) || n < 1 || n > 100000)
    throw new UsageError("--limit: expected 1-100000");
  return n;
}

/** `record`'s own --type and --subject (not commander-required: see registerLedgerCommands). */
function requireTypeAndSubject(o: Partial<RecordFlags>): RecordFlags {
  if (!o.type || !o.subject)
    throw new UsageError(
      `required option '--${o.type ? "subject" : "type"}' not specified (or use \`record deploy\` / \`record decision\`)`,
    );
  return o as RecordFlags;
}

/** Registers record, export-proof, list and timeline. */
export function registerLedgerCommands(program: Command, io: CliIO, setExit: SetExit): void {
  const db = (c: Command): Command =>
    c.option("--db <url>", "Postgres URL (default $DATABASE_URL)").option("--json", "JSON output");
  db(program.command("record"))
    .description("sign a receipt, append it to the ledger and print it")
    // Not commander-required: the seed forms (`record deploy|decision`) are subcommands, and
    // commander checks a parent's required options before dispatching to them.
    .option("--type <type>", "receipt type, e.g. deploy or workload.completed (required)")
    .option("--subject <subject>", "what the receipt is about: a name or a JSON object (required)")
    .option("--payload <json>", "payload JSON, or @file")
    .option("--artifact <file>", "record this file's SHA-256 as payload.artifact")
    .option("--key-dir <dir>", "key directory (default $REMEMBRANCER_KEY_DIR)")
    .option(
      "--tsa <url>",
      "time-stamp the new tree head at this TSA (default $REMEMBRANCER_TSA_URL)",
    )
    .option("--tsa-ca <pem>", "CA certificate of that TSA, shipped in proof bundles")
    .option(
      "--origin <origin>",
      "log origin, taken at genesis and checked after (default $REMEMBRANCER_ORIGIN, else derived from the key)",
    )
    .action(async (o: Partial<RecordFlags>) => setExit(await record(io, requireTypeAndSubject(o))));
  registerRecordForms(program, io, setExit);
  db(program.command("export-proof <receipt>"))
    .description(
      "write a self-contained proof bundle for a receipt (digest, log index, receipt file or artifact)",
    )
    .option("--out <file>", "bundle file (default FILE.proof.json for an artifact, else stdout)")
    .option("--key-dir <dir>", "keys to publish the tree head with, if it is not yet published")
    .option("--tsa <url>", "TSA for that publication")
    .option("--tsa-ca <pem>", "CA certificate of that TSA")
    .action(async (ref: string, o: LedgerFlags & { out?: string }) =>
      setExit(await exportProof(io, ref, o)),
    );
  db(program.command("list [type]"))
    .description("list receipts in log order, optionally of one type")
    .option("--type <type>", "only this receipt type")
    .option("--limit <n>", "at most this many", "100")
    .action(
      async (type: string | undefined, o: LedgerFlags & { type?: string; limit?: string }) => {
        const { ledger, close } = await openLedger(io, o, false);
        try {
          const t = o.type ?? type;
          printEntries(
            io,
            await ledger.list({ ...(t ? { type: t } : {}), limit: limit(o.limit) }),
            o.json,
          );
          setExit(EXIT.ok);
        } finally {
          await close();
        }
      },
    );
  db(program.command("timeline"))
    .description("receipts issued in a time window, oldest first")
    .requiredOption("--since <date>", "start (inclusive)")
    .option("--until <date>", "end (exclusive)")
    .option("--limit <n>", "at most this many", "1000")
    .action(async (o: LedgerFlags & { since: string; until?: string; limit?: string }) => {
      const since = parseDate(o.since, "--since");
      const until = o.until ? parseDate(o.until, "--until") : undefined;
      const { ledger, close } = await openLedger(io, o, false);
      try {
        printEntries(
          io,
          await ledger.list({
            since,
            ...(until ? { until } : {}),
            limit: limit(o.limit),
            byTime: true,
          }),
          o.json,
        );
        setExit(EXIT.ok);
      } finally {
        await close();
      }
    });
}
