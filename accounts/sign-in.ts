/**
 * Sign-in: e-mail + password + device → a session token bound to that device. An unknown
 * address costs the same argon2 verification as a wrong password and yields the same error.
 */
import type { Knex } from "knex";
import argon2 from "argon2";
import { recordAudit } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { AccountsError } from "./errors.js";
import { TABLES } from "./migrations.js";
import { clearAttempts, spendAttempt } from "./rate-limits.js";
import { toDevice, toUser } from "./rows.js";
import type { DeviceRow, UserRow } from "./rows.js";
import { digestSecret, newId, newSecret } from "./secrets.js";
import { guarded } from "./store.js";
import type { SignInResult } from "./types.js";
import { parseEmail, parseId, parseIp, parseName, parseOfferedPassword } from "./validation.js";

/** Input of {@link signIn}. */
export interface SignInInput {
  /** Login e-mail. */
  readonly email: string;
  /** Password. */
  readonly password: string;
  /** Name of the device: an existing active device of that name is reused, otherwise one is created. */
  readonly deviceName: string;
  /** Pick an existing device by id instead of by name (its name is then left unchanged). */
  readonly deviceId?: string;
  /** Client IP for rate limiting (optional). */
  readonly ip?: string;
}

/** The one answer for both an unknown address and a wrong password. */
export const WRONG_CREDENTIALS = "e-mail address or password is wrong";

/**
 * Checks the credentials and opens a session on the chosen device, revoking any earlier
 * session of that device (one session per device). Unverified and disabled accounts get
 * `FORBIDDEN` (only after the password was proven right).
 */
export async function signIn(ctx: AccountsContext, input: SignInInput): Promise<SignInResult> {
  const email = parseEmail(input.email);
  const password = parseOfferedPassword(input.password, ctx.settings.password);
  const deviceName = parseName("deviceName", input.deviceName);
  const deviceId = input.deviceId === undefined ? undefined : parseId("deviceId", input.deviceId);
  const ip = parseIp(input.ip);
  await spendAttempt(ctx.limiters, "signIn", email.normalized, ip);
  const user = await guarded("reading a user", () =>
    ctx.db<UserRow>(TABLES.users).where({ email_normalized: email.normalized }).first(),
  );
  if (user === undefined) {
    await ctx.hasher.verifyDummy(password);
    // Recorded like a wrong password (same write, same time), with no user to name.
    await recordAudit(ctx, { event: "sign-in-failed", userId: null, ip });
    throw new AccountsError("INVALID_CREDENTIALS", WRONG_CREDENTIALS);
  }
  if (!(await ctx.hasher.verify(user.password_hash, password))) {
    await recordAudit(ctx, { event: "sign-in-failed", userId: user.id, ip });
    throw new AccountsError("INVALID_CREDENTIALS", WRONG_CREDENTIALS);
  }
  if (user.state !== "verified") {
    const why = user.state === "disabled" ? "is disabled" : "has not been verified yet";
    throw new AccountsError("FORBIDDEN", `account ${email.address} ${why}`);
  }
  await clearAttempts(ctx.limiters, "signIn", email.normalized);
  await upgradeHash(ctx, user, password);
  const token = newSecret();
  const now = ctx.now();
  const expiresAt = now + ctx.settings.sessionTtlMs;
  const sessionId = newId();
  const { device, replaced } = await guarded("opening a session", () =>
    ctx.db.transaction(async (trx) => {
      const row = await pickDevice(trx, user.id, deviceName, deviceId, now);
      const replaced = await trx(TABLES.sessions).where({ device_id: row.id, revoked: false }).update({ revoked: true });
      await trx(TABLES.sessions).insert({
        id: sessionId,
        user_id: user.id,
        device_id: row.id,
        token_hash: digestSecret("session", token),
        created_at: now,
        expires_at: expiresAt,
        revoked: false,
        last_used_at: now,
      });
      await trx(TABLES.users).where({ id: user.id }).update({ last_login_at: now });
      await trx(TABLES.devices).where({ id: row.id }).update({ last_seen_at: now });
      await recordAudit(ctx, { event: "sign-in", userId: user.id, deviceId: row.id, ip }, trx);
      return { device: { ...row, last_seen_at: now }, replaced };
    }),
  );
  if (replaced > 0) ctx.revoked(user.id);
  return {
    token,
    user: toUser({ ...user, last_login_at: now }),
    device: toDevice(device),
    session: { id: sessionId, expiresAt },
  };
}

/** Finds the device to sign in on (by id, else by name among active devices) or creates it. */
async function pickDevice(trx: Knex.Transaction, userId: string, name: string, id: string | undefined, now: number): Promise<DeviceRow> {
  const active = trx<DeviceRow>(TABLES.devices).where({ user_id: userId }).whereNull("revoked_at");
  if (id !== undefined) {
    const byId = await active.clone().where({ id }).forUpdate().first();
    if (byId === undefined) throw new AccountsError("NOT_FOUND", `device ${id} does not exist or was revoked`);
    return byId;
  }
  const byName = await active.clone().where({ name }).forUpdate().first();
  if (byName !== undefined) return byName;
  const row: DeviceRow = { id: newId(), user_id: userId, name, created_at: now, last_seen_at: now, revoked_at: null };
  await trx(TABLES.devices).insert(row);
  return row;
}

/** Re-hashes a password stored with weaker parameters than the configured ones. */
async function upgradeHash(ctx: AccountsContext, user: UserRow, password: string): Promise<void> {
  if (!argon2.needsRehash(user.password_hash, ctx.settings.argon2)) return;
  const hash = await ctx.hasher.hash(password);
  await guarded("upgrading a password hash", () =>
    ctx.db(TABLES.users).where({ id: user.id, password_hash: user.password_hash }).update({ password_hash: hash }),
  );
}
