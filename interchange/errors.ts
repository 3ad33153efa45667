/** String codes of every interchange error; stable across releases. */
export type InterchangeErrorCode =
  | "EMPTY"
  | "ENCODING"
  | "TOO_LONG"
  | "SYNTAX"
  | "FORBIDDEN"
  | "STRUCTURE"
  | "LIMIT"
  | "FORMAT";

/**
 * Bad input in an outline file. The message names the file and the line (`notes.opml:12: ...`),
 * so a person can go and fix it; `code` is for programs.
 *
 * @example
 * try { await collect(parseOpml(chunks, "a.opml")) }
 * catch (e) { if (e instanceof InterchangeError) console.error(e.message, e.line) }
 */
export class InterchangeError extends Error {
  override readonly name = "InterchangeError";
  constructor(
    readonly code: InterchangeErrorCode,
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? "" : `:${line}`}: ${reason}`);
  }
}
