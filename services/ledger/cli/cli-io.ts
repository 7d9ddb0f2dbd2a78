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

/** Turns any error into the sentence the user sees. */
export function describeError(err: unknown): string {
  if (INPUT_ERRORS.some((E) => err instanceof E)) return (err as Error).message;
  const e = err as NodeJS.ErrnoException & { code?: string; address?: string; port?: number };
  if (e?.code === "ECONNREFUSED")
    return `cannot connect to ${e.address ?? "the server"}:${e.port ?? ""} (connection refused)`;
  if (e?.code === "ENOENT" && e.path) return `no such file: ${e.path}`;
  if (e?.code === "EACCES" && e.path) return `permission denied: ${e.path}`;
  if (e?.code === "3D000" || e?.code === "28P01" || e?.code === "28000")
    return `database: ${e.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Prints a verification report as ✔/✘ lines (or JSON) and returns its exit code. */
export function printReport(
  io: CliIO,
  r: VerifyReport,
  json: boolean,
  extra: Record<string, unknown> = {},
): number {
  if (json) {
    io.stdout(
      `${JSON.stringify({ ok: r.ok, pinned: r.pinned, checks: r.checks, ...extra }, null, 2)}\n`,
    );
  } else {
    for (const c of r.checks) io.stdout(`${c.ok ? "✔" : "✘"} ${c.link} — ${c.detail}\n`);
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
