/** Plain data returned by the accounts API. Times are epoch milliseconds. */

/** Lifecycle of an account. */
export type UserState = "unverified" | "verified" | "disabled";

/** All user states, for validation. */
export const USER_STATES: readonly UserState[] = ["unverified", "verified", "disabled"];

/** A user as callers see it (no hashes). */
export interface User {
  /** Random UUID. */
  readonly id: string;
  /** E-mail address as entered (trimmed, NFC). */
  readonly email: string;
  /** First name. */
  readonly firstName: string;
  /** Account state. */
  readonly state: UserState;
  /** Creation time. */
  readonly createdAt: number;
  /** Last successful sign-in, or null. */
  readonly lastLoginAt: number | null;
}

/** A device of a user. */
export interface Device {
  /** Random UUID. */
  readonly id: string;
  /** Owner. */
  readonly userId: string;
  /** User-chosen name, unique among the user's active devices. */
  readonly name: string;
  /** Creation time. */
  readonly createdAt: number;
  /** Last sign-in or authenticated request (to the configured `lastSeenResolutionMs`). */
  readonly lastSeenAt: number;
}

/** A session as callers see it (the token itself is only returned once, at sign-in). */
export interface SessionInfo {
  /** Random UUID. */
  readonly id: string;
  /** Expiry time. */
  readonly expiresAt: number;
}

/** The result of `Accounts.authenticate`. */
export interface Authenticated {
  /** The signed-in user. */
  readonly user: User;
  /** The device the session belongs to. */
  readonly device: Device;
  /** The session. */
  readonly session: SessionInfo;
}

/** The result of `Accounts.signIn`: the only time the token is visible. */
export interface SignInResult extends Authenticated {
  /** Bearer token (256 random bits, base64url); only its hash is stored. */
  readonly token: string;
}
