/**
 * Test helper: runs CLI commands in-process with captured output and a fixed clock.
 */
import { pino } from "pino";
import { fixedClock } from "../clock.ts";
import type { CliIO } from "./cli-io.ts";
import { runCli } from "./remembrancer.ts";

/** The outcome of one command. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** A CLI bound to a working directory and environment. */
export interface TestCli {
  run(...args: string[]): Promise<CliRun>;
  /** Starts a long-running command; resolves with its output once `ready` matches it. */
  start(
    args: readonly string[],
    ready: RegExp,
  ): Promise<{ match: RegExpExecArray; done: Promise<number> }>;
}

/** Creates a {@link TestCli}; long-running commands stop when `signal` aborts. */
export function testCli(
  cwd: string,
  env: () => Record<string, string | undefined>,
  signal: AbortSignal,
): TestCli {
  const io = (sink: { out: string; err: string }): CliIO => ({
    stdout: (t) => void (sink.out += t),
    stderr: (t) => void (sink.err += t),
    env: env(),
    cwd,
    clock: fixedClock("2026-06-01T10:00:00Z", 1000),
    logger: pino({ level: "silent" }),
    signal,
  });
  return {
    async run(...args) {
      const sink = { out: "", err: "" };
      const code = await runCli(args, io(sink));
      return { code, ...sink };
    },
    start(args, ready) {
      const sink = { out: "", err: "" };
      const done = runCli(args, io(sink));
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + 30_000;
        const poll = (): void => {
          const m = ready.exec(sink.out);
          if (m) resolve({ match: m, done });
          else if (Date.now() > deadline)
            reject(new Error(`${args.join(" ")} did not start: ${sink.out}${sink.err}`));
          else setTimeout(poll, 20);
        };
        poll();
      });
    },
  };
}
