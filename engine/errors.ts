import { EngineError } from "../storage/errors.js";

export { EngineError, StorageError, type EngineErrorCode } from "../storage/errors.js";

/** Shorthand for the commonest throw: a bad argument, naming it. */
export function invalid(message: string): EngineError {
  return new EngineError("INVALID_ARGUMENT", message);
}

/** Shorthand for an unknown id. */
export function notFound(message: string): EngineError {
  return new EngineError("NOT_FOUND", message);
}
