import { CommanderError } from "commander";
import { EngineError } from "../index.js";
import { InterchangeError } from "../interchange/index.js";

/** Exit codes: 0 done, 1 the user's mistake (bad argument, bad file), 2 storage failed. */
export const EXIT = { ok: 0, user: 1, storage: 2 } as const;

/** A user error found by the CLI itself (no such file, no space yet); `code` is for scripts. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    readonly code: "NO_SPACE" | "NO_FILE" | "INVALID_ARGUMENT",
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

/** A stable string code for `--json` error output. */
export function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "INTERNAL";
}
