/**
 * Sign-up and re-sending the verification code. Both answer identically whether or not the
 * address already has an account; the mailbox owner learns the difference by mail.
 */
import type { AccountsContext } from "./context.js";
import { TABLES } from "./migrations.js";
import { alreadyRegisteredMail, pendingAgainMail, verificationMail } from "./mail.js";
import { storeResetKey } from "./password-reset.js";
import type { MailMessage } from "./mail.js";
import { spendAttempt } from "./rate-limits.js";
import type { UserRow } from "./rows.js";
import { digestSecret, newId, newSecret, newVerificationCode } from "./secrets.js";
import { guarded, isUniqueViolation } from "./store.js";
import { parseEmail, parseIp, parseName, parseNewPassword } from "./validation.js";

/** Input of {@link signUp}. */
export interface SignUpInput {
  /** E-mail address; becomes the login. */
  readonly email: string;
  /** New password (policy-checked). */
  readonly password: string;
  /** First name, used in mails. */
  readonly firstName: string;
  /** Client IP for rate limiting (optional). */
  readonly ip?: string;
}

/** Input of {@link resendVerification}. */
export interface ResendVerificationInput {
  /** E-mail address of the unverified account. */
  readonly email: string;
  /** Client IP for rate limiting (optional). */
  readonly ip?: string;
}

/**
 * Creates an unverified account and mails a verification code. If the address is taken by a
 * verified account, mails its owner a notice instead. If it is taken by an unverified one, the
 * same password again gets a fresh code; another password makes both unusable (the pending code
 * is void, the password a random one, the name blank) and mails a reset key instead, so only whoever reads the
 * mailbox sets the password: no pending-account takeover by a second sign-up, no squatting by a
 * first one. No mail to an unverified address carries the name anybody typed. Resolves the same
 * way in every case.
 */
export async function signUp(ctx: AccountsContext, input: SignUpInput): Promise<void> {
  const email = parseEmail(input.email);
  const password = parseNewPassword(input.password, ctx.settings.password);
  const firstName = parseName("firstName", input.firstName);
  const ip = parseIp(input.ip);
  await spendAttempt(ctx.limiters, "mail", email.normalized, ip);
  const code = newVerificationCode();
  const [passwordHash, codeHash] = await Promise.all([ctx.hasher.hash(password), ctx.hasher.hash(code)]);
  const now = ctx.now();
  const ttl = ctx.settings.verificationTtlMs;
  const pending = await guarded("reading a user", () =>
    ctx.db<UserRow>(TABLES.users).where({ email_normalized: email.normalized, state: "unverified" }).first(),
  );
  // Checked outside the transaction (argon2 is slow); the update below only applies to the same row state.
  const samePassword = pending !== undefined && (await ctx.hasher.verify(pending.password_hash, password));
  const unusable = pending !== undefined && !samePassword ? await ctx.hasher.hash(newSecret()) : undefined;
  const mail = await guarded("signing up", () =>
    ctx.db.transaction(async (trx): Promise<MailMessage | undefined> => {
      const existing = await trx<UserRow>(TABLES.users).where({ email_normalized: email.normalized }).forUpdate().first();
      if (existing === undefined) {
        try {
          await trx(TABLES.users).insert({
            id: newId(),
            email: email.address,
            email_normalized: email.normalized,
            state: "unverified",
            created_at: now,
            last_login_at: null,
            password_hash: passwordHash,
            first_name: firstName,
            verification_code_hash: codeHash,
            verification_expires_at: now + ttl,
            verification_attempts: 0,
            password_changed_at: now,
          });
        } catch (error) {
          if (isUniqueViolation(error)) return undefined; // lost a race with a concurrent sign-up
          throw error;
        }
        return verificationMail(ctx.mailer.product, email.address, code, ttl);
      }
      if (existing.state === "unverified") {
        // A sign-up that raced this one's first read: it stands, as when an insert loses a race.
        if (existing.password_hash !== pending?.password_hash) return undefined;
        if (samePassword) {
          await trx(TABLES.users).where({ id: existing.id }).update({ verification_code_hash: codeHash, verification_expires_at: now + ttl, verification_attempts: 0 });
          return verificationMail(ctx.mailer.product, existing.email, code, ttl);
        }
        await trx(TABLES.users)
          .where({ id: existing.id })
          .update({ password_hash: unusable, first_name: "", password_changed_at: now, verification_code_hash: null, verification_expires_at: null, verification_attempts: 0 });
        const key = newSecret();
        await storeResetKey(trx, existing.id, digestSecret("reset", key), now, ctx.settings.resetTtlMs);
        return pendingAgainMail(ctx.mailer.product, existing.email, key, ctx.settings.resetTtlMs);
      }
      if (existing.state === "verified") return alreadyRegisteredMail(ctx.mailer.product, existing.email, existing.first_name);
      return undefined;
    }),
  );
  if (mail !== undefined) ctx.mailer.enqueue(mail);
}

/** Mails a fresh verification code if the address has an unverified account; otherwise does nothing, identically. */
export async function resendVerification(ctx: AccountsContext, input: ResendVerificationInput): Promise<void> {
  const email = parseEmail(input.email);
  const ip = parseIp(input.ip);
  await spendAttempt(ctx.limiters, "mail", email.normalized, ip);
  const code = newVerificationCode();
  const codeHash = await ctx.hasher.hash(code);
  const now = ctx.now();
  const mail = await guarded("re-sending a verification code", async () => {
    const user = await ctx.db<UserRow>(TABLES.users).where({ email_normalized: email.normalized, state: "unverified" }).first();
    if (user === undefined) return undefined;
    await ctx.db(TABLES.users).where({ id: user.id, state: "unverified" }).update({
      verification_code_hash: codeHash,
      verification_expires_at: now + ctx.settings.verificationTtlMs,
      verification_attempts: 0,
    });
    return verificationMail(ctx.mailer.product, user.email, code, ctx.settings.verificationTtlMs);
  });
  if (mail !== undefined) ctx.mailer.enqueue(mail);
}
