import { CommanderError } from "commander";
import { codeOf, exitCodeOf } from "./errors.js";
import type { Io } from "./io.js";
import { createProgram } from "./program.js";

/** Runs the CLI on `argv` (without node and script) and returns the exit code; never exits. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    const code = exitCodeOf(error);
    if (!(error instanceof CommanderError)) {
      const message = error instanceof Error ? error.message : String(error);
      if (argv.includes("--json")) io.stderr.write(`${JSON.stringify({ error: { code: codeOf(error), message } })}\n`);
      else io.stderr.write(`logbook: ${message}\n`);
      if (code === 2 && io.env["LOGBOOK_DEBUG"] && error instanceof Error) io.stderr.write(`${error.stack}\n`);
    }
    return code;
  }
}
