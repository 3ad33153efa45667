/**
 * What a user may reach of a whole space (docs/collaboration.md, "On the server"): whether they are
 * a member (a role that reads something) and whether they read all of it, which is what a sync
 * server asks before it serves the space's log: a device holds a whole replica, so only a user who
 * may read every document, and has nothing hidden, pulls it.
 */
import type { Core } from "./core.js";
import { actorEntries, allows, checkUser, type Role } from "./roles.js";
import { checkId } from "./validate.js";

/** A user's reach in a space. */
export interface SpaceAccess {
  /** Some role of theirs reads something here (an entry, or a document they created). */
  readonly member: boolean;
  /** They read every document the space ever had, and no entry hides anything from them. */
  readonly readsAll: boolean;
  /** Their entries in force (taken-away ones left out), with the documents they created as `manager`. */
  readonly entries: readonly { readonly oid: string; readonly role: Role }[];
}

/**
 * The reach of `user` in a space: two statements (their entries, the space's documents).
 *
 * @example
 * const { member, readsAll } = await engine.accessOf(spaceId, "bob@example.com");
 */
export async function accessOf(core: Core, spaceId: string, user: string): Promise<SpaceAccess> {
  spaceId = checkId("spaceId", spaceId);
  user = checkUser(user);
  const [mine, docs] = await Promise.all([
    actorEntries(core.storage, spaceId, user),
    // Removed documents too: their history is in the log a whole replica pulls.
    core.storage.query<{ oid: string }>("select oid::text as oid from document where space_id = $1", [spaceId]),
  ]);
  const entries = [...mine].filter((e): e is [string, Role] => e[1] !== null).map(([oid, role]) => ({ oid, role }));
  const member = entries.some((e) => allows(e.role, "read"));
  const readsAll = member && !entries.some((e) => e.role === "none") && docs.every((d) => allows(mine.get(d.oid.toLowerCase()) ?? undefined, "read"));
  return { member, readsAll, entries };
}
