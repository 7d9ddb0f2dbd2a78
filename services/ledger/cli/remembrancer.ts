/**
 * The `remembrancer` CLI: builds the commander program over injected I/O and runs it,
 * returning the exit code (0 verified/ok, 1 verification failed, 2 usage or input error).
 */
import { Command, CommanderError } from "commander";
import { pino } from "pino";
import { logOptions } from "../../logging/log-options.ts";
import { systemClock } from "../clock.ts";
import { registerFederationCommands } from "./cli-federation.ts";
import { registerKeyCommands } from "./cli-keys.ts";
import { registerLedgerCommands } from "./cli-ledger.ts";
import { registerMcpCommand } from "../mcp/mcp-command.ts";
import { registerServeCommand } from "./cli-serve.ts";
import { registerSnapshotCommands } from "./cli-snapshot.ts";
import { registerVerifyCommands } from "./cli-verify.ts";
import { describeError, EXIT, type CliIO } from "./cli-io.ts";

/** Runs the CLI with `args` (without the node and script paths). */
export async function runCli(args: readonly string[], io: CliIO): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command("remembrancer")
    .description("Remembrancer: signed, time-stamped, Merkle-logged receipts")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError("(run with --help for usage)");
  const setExit = (c: number): void => {
    code = c;
  };
  registerKeyCommands(program, io, setExit);
  registerLedgerCommands(program, io, setExit);
  registerVerifyCommands(program, io, setExit);
  registerServeCommand(program, io, setExit);
  registerFederationCommands(program, io, setExit);
  registerSnapshotCommands(program, io, setExit);
  registerMcpCommand(program, io, setExit);
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync([...args], { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = ["commander.helpDisplayed", "commander.version", "commander.help"].includes(
        err.code,
      );
      return ok ? EXIT.ok : EXIT.usage;
    }
    io.stderr(`remembrancer: ${describeError(err)}\n`);
    return EXIT.usage;
  }
}

/** The real process I/O. */
export function processIO(): CliIO {
  const level = process.env.REMEMBRANCER_LOG_LEVEL ?? "warn";
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock,
    logger: pino(logOptions(level), pino.destination(2)),
  };
}

/** Entry point for bin/remembrancer.js. */
export async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2), processIO());
}
