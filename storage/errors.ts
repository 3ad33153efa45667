/**
 * The library's one error type, at the bottom layer so that storage, the engine and everything
 * above can throw it without importing upwards. The engine re-exports both classes.
 */

/** String codes of every error the engine throws; stable across releases. */
export type EngineErrorCode =
  | "NOT_FOUND"
  | "INVALID_ARGUMENT"
  | "CYCLE"
  | "CONFLICT"
  | "FORBIDDEN"
  | "SCHEMA_TOO_NEW"
  | "STORAGE"
  | "CLOSED";

/**
 * The one error type the engine throws. `code` is for programs, `message` for people and
 * names the bad value.
 *
 * @example
 * try { await engine.move(s, a, { parentOid: a }) }
 * catch (e) { if (e instanceof EngineError && e.code === "CYCLE") showToast(e.message) }
 */
export class EngineError extends Error {
  override readonly name: string = "EngineError";
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A failure of the database underneath; `sqlstate` is Postgres' five-character code when known. */
export class StorageError extends EngineError {
  override readonly name = "StorageError";
  constructor(
    message: string,
    readonly sqlstate: string | undefined,
    options?: { cause?: unknown },
  ) {
    super("STORAGE", message, options);
  }
}
