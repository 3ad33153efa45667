/** Resolving a session token to its user and device, and signing out. */
import { recordAudit } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { AccountsError } from "./errors.js";
import { TABLES } from "./migrations.js";
import { bool, num, toDevice, toUser } from "./rows.js";
import type { DeviceRow, SessionRow, UserRow } from "./rows.js";
import { digestSecret, looksLikeSecret } from "./secrets.js";
import { guarded } from "./store.js";
import type { Authenticated } from "./types.js";

const REFUSED = "session token is unknown, expired or revoked";

/**
 * Returns the user, device and session a token belongs to. Refuses (`UNAUTHENTICATED`) a
 * malformed, unknown, expired, idle (unused for `sessionIdleMs`) or revoked token, a token of
 * a revoked device, and a token of an account that is no longer verified. Refreshes the
 * device's `lastSeenAt` and the session's last use.
 */
export async function authenticate(ctx: AccountsContext, token: unknown): Promise<Authenticated> {
  if (typeof token !== "string" || !looksLikeSecret(token)) throw new AccountsError("UNAUTHENTICATED", REFUSED);
  const row = await guarded("reading a session", () =>
    ctx.db(`${TABLES.sessions} as s`)
      .join(`${TABLES.devices} as d`, "d.id", "s.device_id")
      .join(`${TABLES.users} as u`, "u.id", "s.user_id")
      .where("s.token_hash", digestSecret("session", token))
      .first(
        "s.id as session_id",
        "s.expires_at as session_expires_at",
        "s.revoked as session_revoked",
        "s.last_used_at as session_last_used_at",
        "s.created_at as session_created_at",
        "d.id as device_id",
        "d.name as device_name",
        "d.created_at as device_created_at",
        "d.last_seen_at as device_last_seen_at",
        "d.revoked_at as device_revoked_at",
        "u.*",
      ),
  );
  const now = ctx.now();
  if (row === undefined || bool(row.session_revoked) || row.device_revoked_at !== null) {
    throw new AccountsError("UNAUTHENTICATED", REFUSED);
  }
  if (num(row.session_expires_at) <= now) throw new AccountsError("UNAUTHENTICATED", REFUSED);
  const lastUsed = num(row.session_last_used_at ?? row.session_created_at);
  if (now - lastUsed >= ctx.settings.sessionIdleMs) throw new AccountsError("UNAUTHENTICATED", REFUSED);
  const user = row as UserRow;
  if (user.state !== "verified") throw new AccountsError("UNAUTHENTICATED", REFUSED);
  const device: DeviceRow = {
    id: row.device_id,
    user_id: user.id,
    name: row.device_name,
    created_at: row.device_created_at,
    last_seen_at: row.device_last_seen_at,
    revoked_at: null,
  };
  const seen = await touchDevice(ctx, device, now);
  if (now - lastUsed >= ctx.settings.lastSeenResolutionMs) {
    await guarded("updating a session", () => ctx.db(TABLES.sessions).where({ id: row.session_id }).update({ last_used_at: now }));
  }
  return { user: toUser(user), device: toDevice(seen), session: { id: row.session_id, expiresAt: num(row.session_expires_at) } };
}

/** Updates `last_seen_at` if it is older than the configured resolution. */
async function touchDevice(ctx: AccountsContext, device: DeviceRow, now: number): Promise<DeviceRow> {
  if (now - num(device.last_seen_at) < ctx.settings.lastSeenResolutionMs) return device;
  await guarded("updating a device", () => ctx.db(TABLES.devices).where({ id: device.id }).update({ last_seen_at: now }));
  return { ...device, last_seen_at: now };
}

/** Revokes the session of `token`. Idempotent: an unknown or malformed token is ignored. */
export async function signOut(ctx: AccountsContext, token: unknown, ip?: string): Promise<void> {
  if (typeof token !== "string" || !looksLikeSecret(token)) return;
  const where = { token_hash: digestSecret("session", token), revoked: false };
  const session = await guarded("revoking a session", () =>
    ctx.db.transaction(async (trx) => {
      const row = await trx<SessionRow>(TABLES.sessions).where(where).forUpdate().first();
      if (row === undefined) return undefined;
      await trx(TABLES.sessions).where({ id: row.id }).update({ revoked: true });
      await recordAudit(ctx, { event: "sign-out", userId: row.user_id, deviceId: row.device_id, ip }, trx);
      return row;
    }),
  );
  if (session) ctx.revoked(session.user_id);
}
