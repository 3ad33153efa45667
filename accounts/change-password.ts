/** Changing a password with either the old password or a reset key. */
import { recordAudit } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { AccountsError } from "./errors.js";
import { TABLES } from "./migrations.js";
import { applyNewPassword, resetPassword } from "./password-reset.js";
import { clearAttempts, spendAttempt } from "./rate-limits.js";
import type { UserRow } from "./rows.js";
import { guarded } from "./store.js";
import { parseId, parseIp, parseNewPassword, parseOfferedPassword } from "./validation.js";

/** Input of {@link changePassword}: prove the right to change with the old password or a reset key. */
export type ChangePasswordInput =
  | {
      /** The signed-in user (from `authenticate`). */
      readonly userId: string;
      /** The current password. */
      readonly oldPassword: string;
      /** The new password (policy-checked). */
      readonly newPassword: string;
      /** A session to keep alive (the caller's own); every other session is revoked. */
      readonly keepSessionId?: string;
      /** Client IP for rate limiting (optional). */
      readonly ip?: string;
    }
  | {
      /** A key from a reset mail; behaves exactly like `resetPassword`. */
      readonly resetKey: string;
      /** The new password (policy-checked). */
      readonly newPassword: string;
      /** Client IP for rate limiting (optional). */
      readonly ip?: string;
    };

/**
 * Changes the password. With the old password: checks it (wrong → `INVALID_CREDENTIALS`,
 * rate-limited like sign-in), stores the new hash, and revokes every session except
 * `keepSessionId`. With a reset key: see `resetPassword` (revokes every session).
 */
export async function changePassword(ctx: AccountsContext, input: ChangePasswordInput): Promise<void> {
  if ("resetKey" in input) {
    const { resetKey, newPassword, ip } = input;
    await resetPassword(ctx, ip === undefined ? { key: resetKey, newPassword } : { key: resetKey, newPassword, ip });
    return;
  }
  const userId = parseId("userId", input.userId);
  const oldPassword = parseOfferedPassword(input.oldPassword, ctx.settings.password, "oldPassword");
  const newPassword = parseNewPassword(input.newPassword, ctx.settings.password, "newPassword");
  const keep = input.keepSessionId === undefined ? undefined : parseId("keepSessionId", input.keepSessionId);
  const ip = parseIp(input.ip);
  const user = await guarded("reading a user", () => ctx.db<UserRow>(TABLES.users).where({ id: userId }).first());
  if (user === undefined) throw new AccountsError("NOT_FOUND", `user ${userId} does not exist`);
  await spendAttempt(ctx.limiters, "signIn", user.email_normalized, ip);
  if (!(await ctx.hasher.verify(user.password_hash, oldPassword))) {
    throw new AccountsError("INVALID_CREDENTIALS", "oldPassword is wrong");
  }
  await clearAttempts(ctx.limiters, "signIn", user.email_normalized);
  const hash = await ctx.hasher.hash(newPassword);
  await guarded("changing a password", () =>
    ctx.db.transaction(async (trx) => {
      const current = await trx<UserRow>(TABLES.users).where({ id: userId, password_hash: user.password_hash }).forUpdate().first();
      if (current === undefined) throw new AccountsError("CONFLICT", "the password changed concurrently; try again");
      await applyNewPassword(trx, userId, hash, ctx.now(), keep);
      await recordAudit(ctx, { event: "password-changed", userId, ip }, trx);
    }),
  );
  ctx.revoked(userId);
}
