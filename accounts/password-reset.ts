/**
 * Password reset: request a key by mail (same answer whether or not the address exists),
 * then redeem it once, before it expires, to set a new password. Redeeming revokes every
 * session of the user.
 */
import type { Knex } from "knex";
import { recordAudit } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { AccountsError } from "./errors.js";
import { resetMail } from "./mail.js";
import { TABLES } from "./migrations.js";
import { clearAttempts, spendAttempt } from "./rate-limits.js";
import { num, numOrNull } from "./rows.js";
import type { ResetRow, UserRow } from "./rows.js";
import { digestSecret, looksLikeSecret, newId, newSecret } from "./secrets.js";
import { guarded } from "./store.js";
import { parseEmail, parseIp, parseNewPassword } from "./validation.js";

/** Input of {@link requestPasswordReset}. */
export interface RequestPasswordResetInput {
  /** The account's e-mail address. */
  readonly email: string;
  /** Client IP for rate limiting (optional). */
  readonly ip?: string;
}

/** Input of {@link resetPassword}. */
export interface ResetPasswordInput {
  /** The key from the reset mail. */
  readonly key: string;
  /** The new password (policy-checked). */
  readonly newPassword: string;
  /** Client IP for rate limiting (optional). */
  readonly ip?: string;
}

const INVALID_KEY = "password reset key is unknown or already used";

/**
 * Mails a single-use reset key (256 random bits, stored as a SHA-256 digest, expiring) if the
 * address belongs to a non-disabled account. Resolves identically, doing the same work up to
 * the insert, whether or not it does.
 */
export async function requestPasswordReset(ctx: AccountsContext, input: RequestPasswordResetInput): Promise<void> {
  const email = parseEmail(input.email);
  const ip = parseIp(input.ip);
  await spendAttempt(ctx.limiters, "mail", email.normalized, ip);
  const key = newSecret();
  const keyHash = digestSecret("reset", key);
  const now = ctx.now();
  const user = await guarded("reading a user", () =>
    ctx.db<UserRow>(TABLES.users).where({ email_normalized: email.normalized }).whereNot({ state: "disabled" }).first(),
  );
  if (user === undefined) return;
  await guarded("storing a reset key", () =>
    ctx.db.transaction(async (trx) => {
      await storeResetKey(trx, user.id, keyHash, now, ctx.settings.resetTtlMs);
      await recordAudit(ctx, { event: "password-reset-requested", userId: user.id, ip }, trx);
    }),
  );
  ctx.mailer.enqueue(resetMail(ctx.mailer.product, user.email, greeting(user), key, ctx.settings.resetTtlMs));
}

/** The name a mail may greet with: only a verified owner's own; an unverified account's name is anyone's text. */
export function greeting(user: Pick<UserRow, "state" | "first_name">): string | undefined {
  return user.state === "verified" && user.first_name !== "" ? user.first_name : undefined;
}

/** Stores a reset key's digest for a user (inside the caller's transaction). */
export async function storeResetKey(trx: Knex.Transaction, userId: string, keyHash: string, now: number, ttlMs: number): Promise<void> {
  await trx(TABLES.resets).insert({ id: newId(), user_id: userId, key_hash: keyHash, created_at: now, expires_at: now + ttlMs, used_at: null });
}

/**
 * Sets a new password with a reset key. The key must be unused and unexpired; it and every
 * other outstanding key of the user are consumed, every session of the user is revoked, and
 * an unverified account becomes verified (the key proved the mailbox). All in one transaction.
 */
export async function resetPassword(ctx: AccountsContext, input: ResetPasswordInput): Promise<void> {
  const newPassword = parseNewPassword(input.newPassword, ctx.settings.password, "newPassword");
  const ip = parseIp(input.ip);
  if (typeof input.key !== "string") throw new AccountsError("INVALID_ARGUMENT", "key must be a string");
  await spendAttempt(ctx.limiters, "reset", undefined, ip);
  if (!looksLikeSecret(input.key)) throw new AccountsError("INVALID_CREDENTIALS", INVALID_KEY);
  const keyHash = digestSecret("reset", input.key);
  const passwordHash = await ctx.hasher.hash(newPassword);
  const now = ctx.now();
  const emailKey = await guarded("resetting a password", () =>
    ctx.db.transaction(async (trx) => {
      const reset = await trx<ResetRow>(TABLES.resets).where({ key_hash: keyHash }).forUpdate().first();
      if (reset === undefined || numOrNull(reset.used_at) !== null) throw new AccountsError("INVALID_CREDENTIALS", INVALID_KEY);
      if (num(reset.expires_at) <= now) throw new AccountsError("EXPIRED", "password reset key has expired; request a new one");
      const user = await trx<UserRow>(TABLES.users).where({ id: reset.user_id }).forUpdate().first();
      if (user === undefined || user.state === "disabled") throw new AccountsError("FORBIDDEN", "this account is disabled");
      await applyNewPassword(trx, user.id, passwordHash, now, undefined);
      await trx(TABLES.resets).where({ user_id: user.id }).whereNull("used_at").update({ used_at: now });
      if (user.state === "unverified") {
        await trx(TABLES.users)
          .where({ id: user.id })
          .update({ state: "verified", verification_code_hash: null, verification_expires_at: null, verification_attempts: 0 });
      }
      await recordAudit(ctx, { event: "password-reset", userId: user.id, ip }, trx);
      return { emailKey: user.email_normalized, userId: user.id };
    }),
  );
  ctx.revoked(emailKey.userId);
  await clearAttempts(ctx.limiters, "signIn", emailKey.emailKey);
}

/**
 * Stores a new password hash and revokes the user's sessions, except `keepSessionId` if
 * given. Must run inside the caller's transaction.
 */
export async function applyNewPassword(
  trx: Knex.Transaction,
  userId: string,
  passwordHash: string,
  now: number,
  keepSessionId: string | undefined,
): Promise<void> {
  await trx(TABLES.users).where({ id: userId }).update({ password_hash: passwordHash, password_changed_at: now });
  const sessions = trx(TABLES.sessions).where({ user_id: userId, revoked: false });
  if (keepSessionId !== undefined) sessions.whereNot({ id: keepSessionId });
  await sessions.update({ revoked: true });
}
