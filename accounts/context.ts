/** The shared state every flow receives: store, settings, hasher, mailer, limiters, clock, revocation and verification listeners. */
import type { Knex } from "knex";
import type { AccountsSettings } from "./config.js";
import type { Mailer } from "./mail.js";
import type { Hasher } from "./passwords.js";
import type { RateLimiters } from "./rate-limits.js";
import type { User } from "./types.js";

/** Dependencies of the flows. */
export interface AccountsContext {
  /** The knex instance holding the accounts tables. */
  readonly db: Knex;
  /** Resolved tunables. */
  readonly settings: AccountsSettings;
  /** argon2id hasher with the configured parameters. */
  readonly hasher: Hasher;
  /** Outgoing mail queue. */
  readonly mailer: Mailer;
  /** Rate limiters. */
  readonly limiters: RateLimiters;
  /** Current time in epoch ms (injectable for expiry tests). */
  readonly now: () => number;
  /** Tells the listeners (the sync server's sockets) that sessions of `userId` were revoked; call after the commit. */
  readonly revoked: (userId: string) => void;
  /** Tells the listeners (the sync server's invitations) that `user` proved their address; call after the commit. */
  readonly verified: (user: User) => void;
}
