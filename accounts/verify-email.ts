/**
 * Redeeming an e-mail verification code. Codes are 6 digits, stored as argon2id hashes,
 * expire, and are discarded after a few wrong guesses; attempts are also rate-limited per
 * account and per IP.
 */
import type { AccountsContext } from "./context.js";
import { AccountsError } from "./errors.js";
import { TABLES } from "./migrations.js";
import { clearAttempts, spendAttempt } from "./rate-limits.js";
import { num, toUser } from "./rows.js";
import type { UserRow } from "./rows.js";
import { looksLikeVerificationCode } from "./secrets.js";
import { guarded } from "./store.js";
import type { User } from "./types.js";
import { parseEmail, parseIp } from "./validation.js";

/** Input of {@link verifyEmail}. */
export interface VerifyEmailInput {
  /** The address the code was sent to. */
  readonly email: string;
  /** The code from the mail. */
  readonly code: string;
  /** Client IP for rate limiting (optional). */
  readonly ip?: string;
}

const WRONG = "verification code is wrong, or this address has no pending verification";

/**
 * Marks the account verified if `code` is its current, unexpired code. A wrong code counts
 * against the code's attempt limit (the code is discarded when it is reached); the answer for
 * an unknown address is the same as for a wrong code. `EXPIRED` is only reported for a
 * correct but expired code.
 */
export async function verifyEmail(ctx: AccountsContext, input: VerifyEmailInput): Promise<User> {
  const email = parseEmail(input.email);
  const ip = parseIp(input.ip);
  if (typeof input.code !== "string" || !looksLikeVerificationCode(input.code.trim())) {
    throw new AccountsError("INVALID_ARGUMENT", "code must be the 6-digit code from the verification mail");
  }
  const code = input.code.trim();
  await spendAttempt(ctx.limiters, "verify", email.normalized, ip);
  const user = await guarded("reading a user", () =>
    ctx.db<UserRow>(TABLES.users).where({ email_normalized: email.normalized }).first(),
  );
  const codeHash = user?.state === "unverified" ? user.verification_code_hash : null;
  if (user === undefined || codeHash === null) {
    await ctx.hasher.verifyDummy(code);
    throw new AccountsError("INVALID_CREDENTIALS", WRONG);
  }
  if (!(await ctx.hasher.verify(codeHash, code))) {
    await recordWrongCode(ctx, user.id, codeHash);
    throw new AccountsError("INVALID_CREDENTIALS", WRONG);
  }
  if (num(user.verification_expires_at) <= ctx.now()) {
    throw new AccountsError("EXPIRED", `verification code for ${email.address} has expired; request a new one`);
  }
  const changed = await guarded("verifying a user", () =>
    ctx.db(TABLES.users)
      .where({ id: user.id, state: "unverified", verification_code_hash: codeHash })
      .update({ state: "verified", verification_code_hash: null, verification_expires_at: null, verification_attempts: 0 }),
  );
  if (changed !== 1) throw new AccountsError("INVALID_CREDENTIALS", WRONG); // raced with a newer code
  await clearAttempts(ctx.limiters, "verify", email.normalized);
  const verified = toUser({ ...user, state: "verified" });
  ctx.verified(verified);
  return verified;
}

/** Counts a wrong guess against the current code, discarding the code at the limit. */
async function recordWrongCode(ctx: AccountsContext, userId: string, codeHash: string): Promise<void> {
  const max = ctx.settings.verificationMaxAttempts;
  await guarded("recording a wrong verification code", async () => {
    const current = { id: userId, verification_code_hash: codeHash };
    await ctx.db(TABLES.users).where(current).increment("verification_attempts", 1);
    await ctx.db(TABLES.users)
      .where(current)
      .where("verification_attempts", ">=", max)
      .update({ verification_code_hash: null, verification_expires_at: null });
  });
}
