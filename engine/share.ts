/**
 * Sharing an objective's subtree (docs/collaboration.md): set, change or take away a user's entry.
 * A `share` op of its own kind: it syncs and replays in clock order like every op, makes no
 * content version and no vid, and is undone with the ops after a late one like every op.
 */
import type { Core } from "./core.js";
import { checkActive } from "./objective.js";
import { allow, checkRole, checkUser, entriesOn, writeEntry, type Entry, type Role } from "./roles.js";
import { pathOf, requireAccessTo } from "./access.js";
import { checkId } from "./validate.js";
import { isTaken, runWrite, type Origin } from "./write.js";

/**
 * Gives `user` the role `role` on the subtree of `oid` (null takes the user's entry there away, so
 * the role above applies again). Only a manager there may (or an engine without an actor). Returns
 * the entries in force at `oid` afterwards. Setting what is already set writes nothing.
 *
 * @example
 * await engine.share(spaceId, projectOid, "bob@example.com", "collaborator");
 * await engine.share(spaceId, privateNotesOid, "bob@example.com", "none"); // hidden from bob below
 */
export async function share(core: Core, spaceId: string, oid: string, user: string, role: Role | null, origin?: Origin): Promise<Entry[]> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  user = checkUser(user);
  const wanted = checkRole(role);
  return runWrite(core, spaceId, [oid], async (ctx, chains) => {
    const chain = await checkActive(chains.get(oid), spaceId, oid, (o) => isTaken(ctx, o));
    await allow(ctx, chain, "manage");
    const path = chain.map((p) => p.oid);
    const own = await ctx.tx.query<{ role: Role | null }>(
      "select role from share where space_id = $1 and oid = $2 and user_id = $3 order by seq desc limit 1",
      [spaceId, oid, user],
    );
    const inForce = () => entriesOn(ctx.tx, spaceId, path, undefined, (o) => ctx.reader.creatorOf(o));
    if ((own[0]?.role ?? null) === wanted) return inForce();
    await writeEntry(ctx, oid, user, wanted);
    ctx.op = { kind: "share", oid, vidBefore: null, vidAfter: null, data: { user, role: wanted } };
    return inForce();
  }, origin, { once: true });
}

/** The entries in force on an objective (its own and inherited), per user: who may do what there. */
export async function collaborators(core: Core, spaceId: string, oid: string): Promise<Entry[]> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  await requireAccessTo(core, spaceId, oid);
  const path = await pathOf(core, spaceId, oid);
  return entriesOn(core.storage, spaceId, path);
}

/** One change of an entry on an objective: who set what for whom, when. */
export interface EntryChange {
  readonly user: string;
  /** The role set; null: the entry was taken away. */
  readonly role: Role | null;
  /** The op that made the change, its time (ms since the epoch) and who made it (null: the owner). */
  readonly opId: string;
  readonly at: number;
  readonly by: string | null;
}

/** The entries' history on one objective, newest first (its config versions, apart from content). */
export async function shareHistory(core: Core, spaceId: string, oid: string): Promise<EntryChange[]> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  await requireAccessTo(core, spaceId, oid);
  const rows = await core.storage.query<{ user_id: string; role: Role | null; op_id: string; at: string | number; actor: string | null }>(
    `select s.user_id, s.role, o.op_id, o.at, o.actor from share s join op o on o.space_id = s.space_id and o.seq = s.seq and o.seq is not null
      where s.space_id = $1 and s.oid = $2 order by s.seq desc`,
    [spaceId, oid],
  );
  return rows.map((r) => ({ user: r.user_id, role: r.role, opId: r.op_id, at: Number(r.at), by: r.actor }));
}
