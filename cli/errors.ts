import { CommanderError } from "commander";
import { EngineError } from "../index.js";
import { InterchangeError } from "../interchange/index.js";

/** Exit codes: 0 done, 1 the user's mistake (bad argument, bad file), 2 storage failed. */
export const EXIT = { ok: 0, user: 1, storage: 2 } as const;

/** A user error found by the CLI itself (no such file, no space yet); `code` is for scripts. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    readonly code: "NO_SPACE" | "NO_FILE" | "INVALID_ARGUMENT" | "NOT_SIGNED_IN" | "SYNC",
    message: string,
  ) {
    super(message);
  }
}

const STORAGE_CODES = new Set(["STORAGE", "SCHEMA_TOO_NEW", "CLOSED"]);

/** The exit code for an error: storage (and anything unexpected) is 2, the rest is the user's. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.user;
  if (error instanceof CliError || error instanceof InterchangeError) return EXIT.user;
  if (error instanceof EngineError) return STORAGE_CODES.has(error.code) ? EXIT.storage : EXIT.user;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "EISDIR" || code === "EACCES") return EXIT.user;
  return EXIT.storage;
}

/**
 * A stable string code for `--json` error output. Commander's usage errors get the same shape as
 * ours: `commander.unknownCommand` is `UNKNOWN_COMMAND`; no command at all is `MISSING_COMMAND`.
 */
export function codeOf(error: unknown): string {
  if (error instanceof CommanderError) {
    if (error.code === "commander.help") return "MISSING_COMMAND";
    return error.code.replace(/^commander\./, "").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "INTERNAL";
}

/** The message of an error for people and scripts, without commander's `error: ` prefix. */
export function messageOf(error: unknown): string {
  // Commander's help-and-exit carries a placeholder, not a message.
  if (error instanceof CommanderError && error.code === "commander.help") return "no command given (run `logbook --help` for the commands)";
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof CommanderError ? message.replace(/^error: /, "") : message;
}
