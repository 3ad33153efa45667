/**
 * Collaboration (docs/collaboration.md): who may read, edit and share each objective's subtree.
 *
 * An entry `(objective, user) → role` lives in the `share` table, one row per change, keyed by the
 * op's seq like every record: the entry is its row with the highest seq, and a null role means the
 * entry was taken away. An entry applies to the objective's subtree until a deeper entry for the
 * same user overrides it, so a user's effective role is the nearest entry on the path from the
 * objective up to its document root: one statement over the path, O(depth).
 *
 * Entries are versioned apart from content: changing one makes no content version, and a checkout
 * of content never changes them. An engine without an actor acts for its owner and is never
 * refused; one with an actor (`openEngine({ actor })`, `engine.as(user)`, or a replayed op's
 * actor) is checked on every write and read.
 */
import type { Queryable } from "../storage/contract.js";
import type { Placement } from "./chains.js";
import type { WriteCtx } from "./write.js";
import { EngineError, invalid } from "./errors.js";

/**
 * A user's role on a subtree: `manager` edits content and entries, `collaborator` edits content,
 * `viewer` reads, `none` hides the subtree from a user who has a role above it.
 */
export type Role = "manager" | "collaborator" | "viewer" | "none";

/** What an action needs. */
export type Need = "read" | "edit" | "manage";

const RANK: Readonly<Record<Role, number>> = { none: 0, viewer: 1, collaborator: 2, manager: 3 };
const NEEDS: Readonly<Record<Need, number>> = { read: 1, edit: 2, manage: 3 };

/** Whether a role allows what an action needs. */
export function allows(role: Role | undefined, need: Need): boolean {
  return role !== undefined && RANK[role] >= NEEDS[need];
}

/** A role from the API: one of the four, or null (take the entry away); else INVALID_ARGUMENT naming it. */
export function checkRole(role: unknown): Role | null {
  if (role === null) return null;
  if (typeof role === "string" && Object.hasOwn(RANK, role)) return role as Role;
  throw invalid(`role must be one of manager, collaborator, viewer, none or null, got ${JSON.stringify(role)}`);
}

/** A user id: 1 to 200 characters. */
export function checkUser(user: unknown): string {
  if (typeof user !== "string" || user.length === 0 || user.length > 200) throw invalid(`user must be a string of 1 to 200 characters, got ${JSON.stringify(user)}`);
  return user;
}

/** One entry on a path: the user, the role and the objective it is set on. */
export interface Entry {
  readonly user: string;
  readonly role: Role;
  /** The objective the entry is set on (the first of the path, or an ascendant it inherits from). */
  readonly oid: string;
}

/**
 * The entries in force at `path[0]` (`path`: the objective, its parent, ..., its top): per user, the
 * nearest entry that is not taken away. `user` narrows it to one user. One statement.
 */
export async function entriesOn(q: Queryable, spaceId: string, path: readonly string[], user?: string): Promise<Entry[]> {
  if (path.length === 0) return [];
  const rows = await q.query<{ oid: string; user_id: string; role: Role | null }>(
    `select distinct on (oid, user_id) oid::text as oid, user_id, role from share
      where space_id = $1 and oid = any($2::uuid[]) and ($3::text is null or user_id = $3)
      order by oid, user_id, seq desc`,
    [spaceId, [...path], user ?? null],
  );
  const depth = new Map(path.map((o, i) => [o.toLowerCase(), i]));
  const nearest = new Map<string, { role: Role | null; at: number; oid: string }>();
  for (const r of rows) {
    const at = depth.get(r.oid)!;
    const had = nearest.get(r.user_id);
    if (!had || at < had.at) nearest.set(r.user_id, { role: r.role, at, oid: path[at]! });
  }
  // A taken-away entry is no entry: the user inherits from further up.
  const out: Entry[] = [];
  for (const [u, e] of nearest) {
    if (e.role !== null) out.push({ user: u, role: e.role, oid: e.oid });
    else {
      const above = rows.filter((r) => r.user_id === u && r.role !== null && depth.get(r.oid)! > e.at).sort((a, b) => depth.get(a.oid)! - depth.get(b.oid)!)[0];
      if (above) out.push({ user: u, role: above.role!, oid: path[depth.get(above.oid)!]! });
    }
  }
  return out.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}

/** A user's effective role at `path[0]` (undefined: no entry on the path). */
export async function roleOn(q: Queryable, spaceId: string, path: readonly string[], user: string): Promise<Role | undefined> {
  return (await entriesOn(q, spaceId, path, user))[0]?.role;
}

/**
 * Refuses (FORBIDDEN, naming the actor, the objective and the role) an actor whose role at
 * `path[0]` does not allow `need`; an actor of null is the engine's owner and always allowed.
 */
export async function requireRole(q: Queryable, spaceId: string, path: readonly string[], actor: string | null, need: Need): Promise<void> {
  if (actor === null) return;
  const role = await roleOn(q, spaceId, path, actor);
  if (!allows(role, need)) {
    throw new EngineError("FORBIDDEN", `user ${actor} may not ${need} objective ${path[0]} in space ${spaceId}: ${role === undefined ? "no role there" : `role ${role}`}`);
  }
}

/** `requireRole` for a write: the actor of its op, at the first placement of `chain`, in its transaction. */
export async function allow(ctx: WriteCtx, chain: readonly Placement[], need: Need): Promise<void> {
  await requireRole(ctx.tx, ctx.spaceId, chain.map((p) => p.oid), ctx.actor, need);
}

/** Records an entry (a row of `share` under the write's seq); the write's last step, after every check. */
export async function writeEntry(ctx: WriteCtx, oid: string, user: string, role: Role | null): Promise<void> {
  await ctx.tx.query("insert into share (space_id, oid, user_id, seq, role) values ($1, $2, $3, $4, $5)", [ctx.spaceId, oid, user, ctx.seq, role]);
}
