/**
 * `openAccounts`: the user store of the sync design (DESIGN.md §10) as one object of
 * functions over a knex connection, a mail transport and rate limiters.
 */
import type { Knex } from "knex";
import { auditTrail } from "./audit.js";
import type { AuditEntry, AuditQuery } from "./audit.js";
import { changePassword } from "./change-password.js";
import type { ChangePasswordInput } from "./change-password.js";
import { resolveSettings } from "./config.js";
import type { AccountsSettings, AccountsSettingsOverride } from "./config.js";
import type { AccountsContext } from "./context.js";
import { listDevices, renameDevice, revokeDevice } from "./devices.js";
import { AccountsError } from "./errors.js";
import { createMailer } from "./mail.js";
import type { MailConfig, MailMessage } from "./mail.js";
import { migrateAccounts } from "./migrations.js";
import { requestPasswordReset, resetPassword } from "./password-reset.js";
import type { RequestPasswordResetInput, ResetPasswordInput } from "./password-reset.js";
import { createHasher } from "./passwords.js";
import { memoryRateLimiters } from "./rate-limits.js";
import type { RateLimiters } from "./rate-limits.js";
import { authenticate, signOut } from "./sessions.js";
import { signIn } from "./sign-in.js";
import type { SignInInput } from "./sign-in.js";
import { resendVerification, signUp } from "./sign-up.js";
import type { ResendVerificationInput, SignUpInput } from "./sign-up.js";
import { guarded, openStore } from "./store.js";
import type { StoreConfig } from "./store.js";
import type { Authenticated, Device, SignInResult, User, UserState } from "./types.js";
import { findUserByEmail, getUser, setUserState } from "./users.js";
import { verifyEmail } from "./verify-email.js";
import type { VerifyEmailInput } from "./verify-email.js";

/** Options of {@link openAccounts}. Give exactly one of `store` and `database`. */
export interface AccountsOptions {
  /** A store to open (and close with the instance). */
  readonly store?: StoreConfig;
  /** An existing knex instance to use (not closed by the instance). */
  readonly database?: Knex;
  /** Mail transport and sender. */
  readonly mail: MailConfig;
  /** Overrides of the defaults (argon2 cost, lifetimes, rate limits). */
  readonly settings?: AccountsSettingsOverride;
  /** Replacement rate limiters (default: in-process memory limiters from `settings.limits`). */
  readonly rateLimiters?: RateLimiters;
  /** Run the migrations on open (default true). */
  readonly migrate?: boolean;
  /** Clock in epoch ms (default `Date.now`). */
  readonly now?: () => number;
}

/** The accounts API. Every function validates its input and throws {@link AccountsError}. */
export interface Accounts extends AsyncDisposable {
  /** The knex instance (for transactions spanning modules, and for tests reading raw rows). */
  readonly database: Knex;
  /** The resolved settings. */
  readonly settings: AccountsSettings;
  /** Creates an unverified account and mails a code; same answer if the address is taken. */
  readonly signUp: (input: SignUpInput) => Promise<void>;
  /** Mails a new code to an unverified account; same answer otherwise. */
  readonly resendVerification: (input: ResendVerificationInput) => Promise<void>;
  /** Redeems a verification code. */
  readonly verifyEmail: (input: VerifyEmailInput) => Promise<User>;
  /** Checks credentials and returns a session token for the chosen device. */
  readonly signIn: (input: SignInInput) => Promise<SignInResult>;
  /** Resolves a session token to user, device and session. */
  readonly authenticate: (token: unknown) => Promise<Authenticated>;
  /** Revokes a session token (idempotent); `ip` goes to the audit trail. */
  readonly signOut: (token: unknown, ip?: string) => Promise<void>;
  /** Active devices of a user. */
  readonly listDevices: (userId: string) => Promise<readonly Device[]>;
  /** Renames a device of a user. */
  readonly renameDevice: (userId: string, deviceId: string, name: string) => Promise<Device>;
  /** Revokes a device of a user and its sessions; `ip` goes to the audit trail. */
  readonly revokeDevice: (userId: string, deviceId: string, ip?: string) => Promise<void>;
  /** Mails a reset key; same answer whether or not the address exists. */
  readonly requestPasswordReset: (input: RequestPasswordResetInput) => Promise<void>;
  /** Redeems a reset key; revokes every session of the user. */
  readonly resetPassword: (input: ResetPasswordInput) => Promise<void>;
  /** Changes a password given the old one or a reset key. */
  readonly changePassword: (input: ChangePasswordInput) => Promise<void>;
  /** Administration: a user by id. */
  readonly getUser: (userId: string) => Promise<User>;
  /** Administration: a user by e-mail, or undefined. */
  readonly findUserByEmail: (email: string) => Promise<User | undefined>;
  /** Administration: sets a user's state (disabling revokes all sessions). */
  readonly setUserState: (userId: string, state: UserState) => Promise<User>;
  /** The audit trail (sign-ins and failures, sign-outs, resets, password changes, revocations), newest first. */
  readonly auditTrail: (query?: AuditQuery) => Promise<readonly AuditEntry[]>;
  /**
   * Calls `listener(userId)` after sessions of that user were revoked through this instance
   * (sign-out, sign-in replacing a device's session, device revoked, password reset or change,
   * account disabled); the sync server re-checks that user's sockets. Returns the unsubscribe.
   */
  readonly onSessionsRevoked: (listener: (userId: string) => void) => () => void;
  /**
   * Calls `listener(user)` after a user proved their address through this instance (the sync
   * server turns the invitations waiting for that address into roles). Returns the unsubscribe.
   */
  readonly onVerified: (listener: (user: User) => void) => () => void;
  /**
   * Queues a mail through the accounts transport (the sync server's invitations), sent in the
   * background like every accounts mail; `drainMail` waits for it.
   */
  readonly sendMail: (message: MailMessage) => void;
  /** The product name the mails carry (`mail.product`, default "Logbook"). */
  readonly product: string;
  /** Waits until every queued mail has been handed to the transport. */
  readonly drainMail: () => Promise<void>;
  /** Sends queued mail, closes the transport and (if opened here) the database. Idempotent. */
  readonly close: () => Promise<void>;
}

/** Listeners of one event: each is called in turn, and one that throws is logged, not fatal. */
function listenerSet<T>(what: string): { add: (listener: (value: T) => void) => () => void; emit: (value: T) => void } {
  const listeners = new Set<(value: T) => void>();
  return {
    add(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    emit(value) {
      for (const listener of listeners) {
        try {
          listener(value);
        } catch (error) {
          console.error(`accounts: ${what} failed:`, error);
        }
      }
    },
  };
}

/** Opens the accounts store: connects, migrates, and returns the API. */
export async function openAccounts(options: AccountsOptions): Promise<Accounts> {
  if ((options.store === undefined) === (options.database === undefined)) {
    throw new AccountsError("INVALID_ARGUMENT", "openAccounts needs exactly one of store and database");
  }
  const owned = options.database === undefined;
  const db = options.database ?? openStore(options.store as StoreConfig);
  try {
    if (options.migrate !== false) await guarded("migrating the accounts tables", () => migrateAccounts(db));
  } catch (error) {
    if (owned) await db.destroy();
    throw error;
  }
  const settings = resolveSettings(options.settings);
  const mailer = createMailer(options.mail);
  const revocations = listenerSet<string>("a revocation listener");
  const verifications = listenerSet<User>("a verification listener");
  const ctx: AccountsContext = {
    db,
    settings,
    hasher: createHasher(settings.argon2),
    mailer,
    limiters: options.rateLimiters ?? memoryRateLimiters(settings.limits),
    now: options.now ?? Date.now,
    revoked: revocations.emit,
    verified: verifications.emit,
  };
  let closing: Promise<void> | undefined;
  const open = <A extends unknown[], R>(fn: (c: AccountsContext, ...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (closing !== undefined) return Promise.reject(new AccountsError("CLOSED", "accounts instance is closed"));
      return fn(ctx, ...args);
    };
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await mailer.close();
      if (owned) await db.destroy();
    })();
    return closing;
  };
  return {
    database: db,
    settings,
    signUp: open(signUp),
    resendVerification: open(resendVerification),
    verifyEmail: open(verifyEmail),
    signIn: open(signIn),
    authenticate: open(authenticate),
    signOut: open(signOut),
    listDevices: open(listDevices),
    renameDevice: open(renameDevice),
    revokeDevice: open(revokeDevice),
    requestPasswordReset: open(requestPasswordReset),
    resetPassword: open(resetPassword),
    changePassword: open(changePassword),
    getUser: open(getUser),
    findUserByEmail: open(findUserByEmail),
    setUserState: open(setUserState),
    auditTrail: open(auditTrail),
    onSessionsRevoked: revocations.add,
    onVerified: verifications.add,
    product: mailer.product,
    sendMail: (message) => {
      if (closing !== undefined) throw new AccountsError("CLOSED", "accounts instance is closed");
      mailer.enqueue(message);
    },
    drainMail: mailer.drain,
    close,
    [Symbol.asyncDispose]: close,
  };
}
