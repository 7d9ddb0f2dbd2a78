/**
 * The CLI's boundary: injected streams, environment and clock (so tests run commands
 * in-process), the exit-code contract (0 verified, 1 verification failed, 2 usage or input
 * error) and the mapping of known errors to one-sentence messages — never a stack trace.
 */
import type { Logger } from "pino";
import { ArtifactFormatError } from "../artifact.ts";
import { BundleFormatError, ReceiptNotFoundError } from "../bundle.ts";
import { CanonicalJsonError } from "../canonical-json.ts";
import { CheckpointFormatError } from "../checkpoint.ts";
import type { Clock } from "../clock.ts";
import { ReceiptFormatError } from "../receipt.ts";
import { TrustFormatError } from "../trust-bundle.ts";
import type { VerifyReport } from "../verify-report.ts";
import { TimestampFormatError } from "../../tsa/rfc3161-request.ts";
import { TsaRequestError } from "../../tsa/tsa-client.ts";
import { classifyError, CLI_REASON } from "./cli-errors.ts";

/** Exit codes of every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** What a command may touch. */
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Aborted to stop long-running commands (`tsa serve`). */
  readonly signal?: AbortSignal;
}

/** A usage or input error: exit 2 with this message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const INPUT_ERRORS = [
  UsageError,
  ArtifactFormatError,
  BundleFormatError,
  ReceiptNotFoundError,
  CanonicalJsonError,
  CheckpointFormatError,
  ReceiptFormatError,
  TrustFormatError,
  TimestampFormatError,
  TsaRequestError,
];

/** Turns any error into the sentence the user sees, ending in `[reason]` when one is known. */
export function describeError(err: unknown): string {
  if (INPUT_ERRORS.some((E) => err instanceof E)) return (err as Error).message;
  const known = classifyError(err);
  if (known) return known.reason ? `${known.message} [${known.reason}]` : known.message;
  const e = err as { code?: unknown; severity?: unknown; message?: unknown };
  if (typeof e?.code === "string" && typeof e.severity === "string")
    return `database: ${String(e.message)} (SQLSTATE ${e.code})`;
  return err instanceof Error ? err.message : String(err);
}

/** What to do about a failed check that carries a known reason code. */
function remedy(code: string | undefined): string | undefined {
  if (code === CLI_REASON.tsaIssuerUntrusted)
    return "pass the TSA's issuing CA certificate with --trust FILE.pem (the development TSA serves it at <tsa-url>/tsa-ca.crt and `tsa serve --dir D` writes D/tsa-ca.crt)";
  return undefined;
}

/** Prints a verification report as ✔/✘ lines (or JSON) and returns its exit code. */
export function printReport(
  io: CliIO,
  r: VerifyReport,
  json: boolean,
  extra: Record<string, unknown> = {},
): number {
  if (json) {
    const checks = r.checks.map((c) => {
      const fix = c.ok ? undefined : remedy(c.code);
      return fix ? { ...c, remedy: fix } : c;
    });
    io.stdout(`${JSON.stringify({ ok: r.ok, pinned: r.pinned, checks, ...extra }, null, 2)}\n`);
  } else {
    for (const c of r.checks) {
      io.stdout(`${c.ok ? "✔" : "✘"} ${c.link} — ${c.detail}${c.code ? ` [${c.code}]` : ""}\n`);
      const fix = c.ok ? undefined : remedy(c.code);
      if (fix) io.stdout(`  → ${fix}\n`);
    }
    if (!r.pinned)
      io.stdout("! keys were taken from the evidence itself; pass --trust to pin them\n");
    const bad = r.checks.find((c) => !c.ok);
    io.stdout(r.ok ? "verified\n" : `verification FAILED at: ${bad?.link ?? "no evidence"}\n`);
  }
  return r.ok ? EXIT.ok : EXIT.failed;
}

/** Writes a JSON value, pretty-printed, to stdout. */
export function printJson(io: CliIO, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
