/**
 * Signs an SLO report and records it in the ledger as a receipt of type `slo.report`, with the
 * remembrancer's own commands run in-process — the steps `make release` takes for an image
 * (sign, timestamp, record with the file as artifact, export the proof, verify-full), so the
 * evidence beside the report is checked by `remembrancer verify-full` like any other (ADR 0116).
 */
import { basename } from "node:path";
import type { Logger } from "pino";
import type { Clock } from "../ledger/clock.ts";
import type { CliIO } from "../ledger/cli/cli-io.ts";
import { runCli } from "../ledger/cli/remembrancer.ts";
import { SLO_REPORT_RECEIPT_TYPE, type SloReport } from "./slo-report.ts";

/** Where the signing keys, ledger and TSA are (each falls back to the remembrancer's env vars). */
export interface RecordTarget {
  readonly db?: string;
  readonly keyDir?: string;
  readonly tsa?: string;
  readonly tsaCa?: string;
}

/** Recording failed at one step. */
export class RecordError extends Error {
  override readonly name = "RecordError";
}

/** What recording produced. */
export interface RecordedReport {
  readonly digest: string;
  readonly logIndex: number;
  /** The evidence files beside the report. */
  readonly files: readonly string[];
}

/** The evidence files recording writes beside `file`. */
export function evidenceFiles(file: string): string[] {
  return [".sig.json", ".asc", ".tsr", ".proof.json"].map((e) => `${file}${e}`);
}

const flag = (name: string, v: string | undefined): string[] => (v ? [name, v] : []);

/**
 * Signs `file` (the report as written), timestamps it, appends the `slo.report` receipt, writes
 * FILE.proof.json and verifies the whole chain. Recording the same file twice is a no-op.
 */
export async function recordSloReport(
  file: string,
  report: SloReport,
  target: RecordTarget,
  ctx: {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly cwd: string;
    readonly clock: Clock;
    readonly logger: Logger;
  },
): Promise<RecordedReport> {
  const run = async (step: string, args: string[]): Promise<string> => {
    let out = "";
    let err = "";
    const io: CliIO = {
      ...ctx,
      stdout: (t) => void (out += t),
      stderr: (t) => void (err += t),
    };
    const code = await runCli(args, io);
    if (code !== 0) {
      const why = (err.trim() || out.trim()).split("\n").pop() ?? `exit ${code}`;
      throw new RecordError(`recording the report failed at ${step}: ${why}`);
    }
    return out;
  };
  const keys = flag("--key-dir", target.keyDir);
  const tsaCa = flag("--tsa-ca", target.tsaCa);
  await run("sign", ["sign", file, ...keys]);
  await run("timestamp", ["timestamp", file, ...flag("--tsa", target.tsa), ...tsaCa]);
  const subject = {
    report: basename(file),
    window: report.window.duration,
    end: report.window.end,
  };
  const payload = {
    format: report.format,
    window: report.window,
    pass: report.pass,
    kpis: report.kpis.map((k) => ({ name: k.name, value: k.value, pass: k.pass })),
  };
  const recorded = JSON.parse(
    await run("record", [
      "record",
      "--type",
      SLO_REPORT_RECEIPT_TYPE,
      "--subject",
      JSON.stringify(subject),
      "--payload",
      JSON.stringify(payload),
      "--artifact",
      file,
      "--json",
      ...flag("--db", target.db),
      ...keys,
      ...flag("--tsa", target.tsa),
      ...tsaCa,
    ]),
  ) as { receipt: { digest: string }; entry: { logIndex: number } };
  await run("export-proof", [
    "export-proof",
    file,
    "--out",
    `${file}.proof.json`,
    ...flag("--db", target.db),
    ...tsaCa,
  ]);
  await run("verify-full", ["verify-full", file, ...keys, ...flag("--trust", target.tsaCa)]);
  return {
    digest: recorded.receipt.digest,
    logIndex: recorded.entry.logIndex,
    files: evidenceFiles(file),
  };
}
