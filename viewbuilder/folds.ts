import type { Core } from "../engine/core.js";
import { invalid } from "../engine/errors.js";
import { checkId } from "../engine/validate.js";

function checkUser(user: unknown): string {
  if (typeof user !== "string" || user.length === 0 || user.length > 200) {
    throw invalid(`user must be a non-empty string of at most 200 characters, got ${JSON.stringify(user)}`);
  }
  return user;
}

/**
 * Folds or unfolds an objective for one user. Folding is view state: stored per user, never
 * versioned, never a new version, and it survives reopening.
 */
export async function setFolded(core: Core, spaceId: string, user: string, oid: string, folded: boolean): Promise<void> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  user = checkUser(user);
  if (typeof folded !== "boolean") throw invalid(`folded must be a boolean, got ${JSON.stringify(folded)}`);
  if (folded) {
    await core.storage.query(
      "insert into fold (space_id, user_id, oid) values ($1, $2, $3) on conflict do nothing",
      [spaceId, user, oid],
    );
  } else {
    await core.storage.query("delete from fold where space_id = $1 and user_id = $2 and oid = $3", [spaceId, user, oid]);
  }
}

/** The oids a user has folded in a space. */
export async function foldsOf(core: Core, spaceId: string, user: string): Promise<string[]> {
  spaceId = checkId("spaceId", spaceId);
  user = checkUser(user);
  const rows = await core.storage.query<{ oid: string }>(
    "select oid from fold where space_id = $1 and user_id = $2 order by oid",
    [spaceId, user],
  );
  return rows.map((r) => r.oid);
}
