/**
 * Sign-up and re-sending the verification code. Both answer identically whether or not the
 * address already has an account; the mailbox owner learns the difference by mail.
 */
import type { AccountsContext } from "./context.js";
import { TABLES } from "./migrations.js";
import { alreadyRegisteredMail, verificationMail } from "./mail.js";
import type { MailMessage } from "./mail.js";
import { spendAttempt } from "./rate-limits.js";
import type { UserRow } from "./rows.js";
import { newId, newVerificationCode } from "./secrets.js";
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
 * Creates an unverified account and mails a verification code. If the address is taken by
 * a verified account, mails its owner a notice instead; if it is taken by an unverified one,
 * that account's password and name are replaced and a new code is mailed (whoever proves the
 * mailbox owns the account; this defeats pre-registration squatting). Resolves the same way
 * in every case.
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
  const pending = {
    password_hash: passwordHash,
    first_name: firstName,
    verification_code_hash: codeHash,
    verification_expires_at: now + ctx.settings.verificationTtlMs,
    verification_attempts: 0,
    password_changed_at: now,
  };
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
            ...pending,
          });
        } catch (error) {
          if (isUniqueViolation(error)) return undefined; // lost a race with a concurrent sign-up
          throw error;
        }
        return verificationMail(ctx.mailer.product, email.address, firstName, code, ctx.settings.verificationTtlMs);
      }
      if (existing.state === "unverified") {
        await trx(TABLES.users).where({ id: existing.id }).update({ email: email.address, ...pending });
        await trx(TABLES.sessions).where({ user_id: existing.id }).update({ revoked: true });
        return verificationMail(ctx.mailer.product, email.address, firstName, code, ctx.settings.verificationTtlMs);
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
    return verificationMail(ctx.mailer.product, user.email, user.first_name, code, ctx.settings.verificationTtlMs);
  });
  if (mail !== undefined) ctx.mailer.enqueue(mail);
}
