import { CommanderError } from "commander";
import { codeOf, exitCodeOf, EXIT, messageOf } from "./errors.js";
import type { Io } from "./io.js";
import { createProgram } from "./program.js";

/**
 * Runs the CLI on `argv` (without node and script) and returns the exit code; never exits. With
 * `--json` every error, commander's usage errors too, is one JSON object on stderr.
 */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const json = argv.includes("--json");
  const program = createProgram(io, { json });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    const code = exitCodeOf(error);
    if (code === EXIT.ok) return code;
    if (json) io.stderr.write(`${JSON.stringify({ error: { code: codeOf(error), message: messageOf(error) } })}\n`);
    // Without --json, commander has already printed its own errors.
    else if (!(error instanceof CommanderError)) io.stderr.write(`logbook: ${messageOf(error)}\n`);
    if (code === EXIT.storage && io.env["LOGBOOK_DEBUG"] && error instanceof Error) io.stderr.write(`${error.stack}\n`);
    return code;
  }
}
