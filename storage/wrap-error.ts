import { EngineError, StorageError } from "./errors.js";

const SQLSTATE = /^[0-9A-Z]{5}$/;

function sqlstateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && SQLSTATE.test(code) ? code : undefined;
}

/**
 * Turns whatever a driver threw into a `StorageError` carrying the SQLSTATE, so no driver
 * type escapes `storage/`.
 */
export function wrapError(error: unknown, sql: string): StorageError {
  if (error instanceof StorageError) return error;
  const sqlstate = sqlstateOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const head = sql.replace(/\s+/g, " ").trim().slice(0, 120);
  return new StorageError(`${message}${sqlstate ? ` (SQLSTATE ${sqlstate})` : ""} in: ${head}`, sqlstate, {
    cause: error,
  });
}

/**
 * For errors surfacing from BEGIN/COMMIT: engine errors and programming errors pass through
 * untouched, driver errors are wrapped.
 */
export function wrapTransactionError(error: unknown): unknown {
  if (error instanceof EngineError) return error;
  if (sqlstateOf(error) !== undefined || (error as Error | null)?.name === "TransactionAbortedError") {
    return wrapError(error, "transaction");
  }
  return error;
}
