/**
 * The one error type of the accounts library. Callers branch on {@link AccountsError.code};
 * the message names the offending value (never a password, token, code or reset key).
 */

/** Every reason an accounts operation can fail. */
export type AccountsErrorCode =
  /** An input is malformed, too long or otherwise unacceptable. */
  | "INVALID_ARGUMENT"
  /** Wrong e-mail/password, code, or reset key; deliberately says no more than that. */
  | "INVALID_CREDENTIALS"
  /** A session token is missing, unknown, expired or revoked. */
  | "UNAUTHENTICATED"
  /** The credentials are right but the account may not do this (unverified or disabled). */
  | "FORBIDDEN"
  /** Too many attempts; see {@link AccountsError.retryAfterMs}. */
  | "RATE_LIMITED"
  /** A referenced row (device) does not exist for this user. */
  | "NOT_FOUND"
  /** A code or reset key was valid once but has run out of time. */
  | "EXPIRED"
  /** The change collides with existing data (e.g. a device name already in use). */
  | "CONFLICT"
  /** The database driver failed; the driver error is the `cause`. */
  | "STORAGE"
  /** The instance has been closed. */
  | "CLOSED";

/** Options for {@link AccountsError}. */
export interface AccountsErrorOptions {
  /** The underlying error, if any. */
  readonly cause?: unknown;
  /** For `RATE_LIMITED`: milliseconds until another attempt can succeed. */
  readonly retryAfterMs?: number;
}

/** A typed failure of the accounts library. */
export class AccountsError extends Error {
  /** Machine-readable reason. */
  readonly code: AccountsErrorCode;
  /** For `RATE_LIMITED`: milliseconds until another attempt may succeed; otherwise undefined. */
  readonly retryAfterMs: number | undefined;

  /** Creates an error with a code and a human-readable message. */
  constructor(code: AccountsErrorCode, message: string, options: AccountsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AccountsError";
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True if `error` is an {@link AccountsError}, optionally with the given code. */
export function isAccountsError(error: unknown, code?: AccountsErrorCode): error is AccountsError {
  return error instanceof AccountsError && (code === undefined || error.code === code);
}

/** Shortens a user-supplied value for inclusion in an error message. */
export function quoteValue(value: string, max = 40): string {
  const shown = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(shown);
}
