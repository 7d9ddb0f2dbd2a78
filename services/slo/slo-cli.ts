/**
 * The `vaultmesh` CLI: `vaultmesh slo-report --prometheus URL --window 72h` measures the four KPIs
 * and writes canary_slo_report.json (and with --html a self-contained page with their charts);
 * with --record it signs the report and records it in the ledger as an `slo.report` receipt.
 * Exit codes: 0 every KPI meets its target, 1 the report was written and a KPI misses its
 * target, 2 no report (bad input, Prometheus unreachable, a KPI without data) — one line on stderr.
 */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { pino } from "pino";
import { systemClock } from "../ledger/clock.ts";
import type { CliIO } from "../ledger/cli/cli-io.ts";
import { PrometheusError, prometheusApi } from "./prometheus-api.ts";
import { evidenceFiles, recordSloReport, RecordError, type RecordedReport } from "./slo-receipt.ts";
import { buildSloReport, kpiSeries, NoDataError } from "./slo-report.ts";
import { renderSloReportHtml } from "./slo-report-html.ts";
import { parseWindow, WindowError } from "./slo-window.ts";

/** Exit codes of `vaultmesh slo-report`. */
export const SLO_EXIT = { pass: 0, targetMissed: 1, error: 2 } as const;

/** Default report file, as the seed names it. */
export const DEFAULT_REPORT_FILE = "canary_slo_report.json";

interface SloReportFlags {
  readonly prometheus: string;
  readonly window: string;
  readonly out: string;
  readonly html?: string | boolean;
  readonly record?: boolean;
  readonly db?: string;
  readonly keyDir?: string;
  readonly tsa?: string;
  readonly tsaCa?: string;
}

const KNOWN_ERRORS = [WindowError, PrometheusError, NoDataError, RecordError];

/** Writes `text` to `file` whole or not at all (a temporary file renamed over it). */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function htmlFile(out: string, html: string | boolean | undefined): string | undefined {
  if (html === undefined || html === false) return undefined;
  if (typeof html === "string") return html;
  return out.endsWith(".json") ? `${out.slice(0, -5)}.html` : `${out}.html`;
}

async function sloReport(io: CliIO, f: SloReportFlags): Promise<number> {
  const window = parseWindow(f.window);
  const prom = prometheusApi(f.prometheus);
  const report = await buildSloReport(prom, window, io.clock);
  const html = htmlFile(f.out, f.html);
  // Everything is measured before anything is written: an error leaves no file behind.
  const page = html ? renderSloReportHtml(report, await kpiSeries(prom, report)) : undefined;
  const out = resolve(io.cwd, f.out);
  const htmlOut = html ? resolve(io.cwd, html) : undefined;
  writeAtomically(out, `${JSON.stringify(report, null, 2)}\n`);
  if (htmlOut && page) writeAtomically(htmlOut, page);
  // Recording signs the file as written, so it is written first; if recording fails, the report,
  // its page and any evidence already beside it are removed: exit 2 always means no file.
  let recorded: RecordedReport | undefined;
  if (f.record) {
    try {
      recorded = await recordSloReport(
        out,
        report,
        {
          db: f.db,
          keyDir: f.keyDir,
          tsa: f.tsa,
          tsaCa: f.tsaCa ?? io.env.REMEMBRANCER_TSA_CA,
        },
        io,
      );
    } catch (err) {
      for (const file of [out, ...(htmlOut ? [htmlOut] : []), ...evidenceFiles(out)]) {
        rmSync(file, { force: true });
      }
      throw err;
    }
  }
  for (const k of report.kpis) {
    io.stdout(
      `${k.pass ? "pass" : "FAIL"}  ${k.name}  ${k.value} (target ${k.target.op} ${k.target.value})\n`,
    );
  }
  io.stdout(`wrote ${f.out}${html ? ` and ${html}` : ""} (window ${window.text})\n`);
  if (recorded) {
    io.stdout(
      `recorded slo.report ${recorded.digest} at log index ${recorded.logIndex}; verified\n`,
    );
  }
  return report.pass ? SLO_EXIT.pass : SLO_EXIT.targetMissed;
}

/** Runs the CLI with `args` (without node and script paths); returns the exit code. */
export async function runVaultmeshCli(args: readonly string[], io: CliIO): Promise<number> {
  let code: number = SLO_EXIT.pass;
  const program = new Command("vaultmesh")
    .description("VaultMesh operations")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  program
    .command("slo-report")
    .description("measure the four KPIs over a window and write the SLO report")
    .requiredOption("--prometheus <url>", "Prometheus base URL, e.g. http://127.0.0.1:9090")
    .option("--window <duration>", "report window (Prometheus duration)", "72h")
    .option("--out <file>", "report file", DEFAULT_REPORT_FILE)
    .option("--html [file]", "also write a self-contained HTML page (default OUT with .html)")
    .option("--record", "sign the report and record it in the ledger (receipt slo.report)")
    .option("--db <url>", "ledger Postgres URL (default $DATABASE_URL)")
    .option("--key-dir <dir>", "signing keys (default $REMEMBRANCER_KEY_DIR)")
    .option("--tsa <url>", "RFC 3161 TSA (default $REMEMBRANCER_TSA_URL)")
    .option("--tsa-ca <pem>", "that TSA's CA certificate (default $REMEMBRANCER_TSA_CA)")
    .exitOverride()
    .action(async (o: SloReportFlags) => {
      code = await sloReport(io, o);
    });
  try {
    await program.parseAsync([...args], { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.help"
        ? SLO_EXIT.pass
        : SLO_EXIT.error;
    }
    const known = KNOWN_ERRORS.some((E) => err instanceof E);
    const msg = known ? (err as Error).message : `unexpected error: ${String(err)}`;
    io.stderr(`vaultmesh: ${msg.split("\n")[0]}\n`);
    return SLO_EXIT.error;
  }
}

/** Entry point for bin/vaultmesh.js. */
export async function main(): Promise<void> {
  process.exitCode = await runVaultmeshCli(process.argv.slice(2), {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock,
    logger: pino({ level: process.env.VAULTMESH_LOG_LEVEL ?? "warn" }, pino.destination(2)),
  });
}
