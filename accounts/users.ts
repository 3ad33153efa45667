/** Administrative reads and writes of users (not exposed over HTTP). */
import { recordAudit } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { AccountsError, quoteValue } from "./errors.js";
import { TABLES } from "./migrations.js";
import { toUser } from "./rows.js";
import type { UserRow } from "./rows.js";
import { guarded } from "./store.js";
import { USER_STATES } from "./types.js";
import type { User, UserState } from "./types.js";
import { parseEmail, parseId } from "./validation.js";

/** The user with this id; `NOT_FOUND` if none. */
export async function getUser(ctx: AccountsContext, userId: string): Promise<User> {
  const id = parseId("userId", userId);
  const row = await guarded("reading a user", () => ctx.db<UserRow>(TABLES.users).where({ id }).first());
  if (row === undefined) throw new AccountsError("NOT_FOUND", `user ${id} does not exist`);
  return toUser(row);
}

/** The user with this e-mail address (case-insensitive), or undefined. For administration, not for public endpoints. */
export async function findUserByEmail(ctx: AccountsContext, email: string): Promise<User | undefined> {
  const { normalized } = parseEmail(email);
  const row = await guarded("reading a user", () => ctx.db<UserRow>(TABLES.users).where({ email_normalized: normalized }).first());
  return row === undefined ? undefined : toUser(row);
}

/** Sets a user's state (e.g. disables an account). Disabling also revokes every session. */
export async function setUserState(ctx: AccountsContext, userId: string, state: UserState): Promise<User> {
  const id = parseId("userId", userId);
  if (!USER_STATES.includes(state)) throw new AccountsError("INVALID_ARGUMENT", `state ${quoteValue(String(state))} is not one of ${USER_STATES.join(", ")}`);
  const user = await guarded("changing a user's state", () =>
    ctx.db.transaction(async (trx) => {
      const row = await trx<UserRow>(TABLES.users).where({ id }).forUpdate().first();
      if (row === undefined) throw new AccountsError("NOT_FOUND", `user ${id} does not exist`);
      await trx(TABLES.users).where({ id }).update({ state });
      if (state !== "verified") await trx(TABLES.sessions).where({ user_id: id }).update({ revoked: true });
      await recordAudit(ctx, { event: "state-changed", userId: id }, trx);
      return toUser({ ...row, state });
    }),
  );
  if (state !== "verified") ctx.revoked(id);
  return user;
}
