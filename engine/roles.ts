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
 * The entries in force at `path[0]` (`path`: the objective, its parent, ..., its document root):
 * per user, the nearest entry that is not taken away. The document's creator (the actor of the op
 * that made it) manages it: an entry of its own at the root that no other entry there overrides,
 * read from that op, so every replica derives it alike. `user` narrows it to one user; `creator`
 * finds the creator where storage may not hold it yet (a page of replayed ops).
 */
export async function entriesOn(
  q: Queryable,
  spaceId: string,
  path: readonly string[],
  user?: string,
  creator: (documentOid: string) => Promise<string | null> = (oid) => creatorOf(q, spaceId, oid),
): Promise<Entry[]> {
  if (path.length === 0) return [];
  const top = path[path.length - 1]!;
  const [rows, made] = await Promise.all([
    q.query<{ oid: string; user_id: string; role: Role | null }>(
      `select distinct on (oid, user_id) oid::text as oid, user_id, role from share
        where space_id = $1 and oid = any($2::uuid[]) and ($3::text is null or user_id = $3)
        order by oid, user_id, seq desc`,
      [spaceId, [...path], user ?? null],
    ),
    creator(top),
  ]);
  const depth = new Map(path.map((o, i) => [o.toLowerCase(), i]));
  const all = rows.map((r) => ({ ...r, at: depth.get(r.oid)!, first: false }));
  if (made !== null && (user === undefined || made === user)) all.push({ oid: top.toLowerCase(), user_id: made, role: "manager", at: path.length - 1, first: true });
  const out: Entry[] = [];
  for (const u of new Set(all.map((r) => r.user_id))) {
    // Nearest first; at the root the creator's entry comes before any other. A taken-away entry
    // is no entry: the user inherits from further up.
    const mine = all.filter((r) => r.user_id === u).sort((a, b) => a.at - b.at || Number(b.first) - Number(a.first));
    const found = mine.find((r) => r.role !== null);
    if (found) out.push({ user: u, role: found.role!, oid: path[found.at]! });
  }
  return out.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}

/** Who created a document (the actor of the op that made it; null: its owner, or no such document). */
export async function creatorOf(q: Queryable, spaceId: string, documentOid: string): Promise<string | null> {
  const rows = await q.query<{ actor: string | null }>(
    "select o.actor from document d join op o on o.space_id = d.space_id and o.seq = d.seq and o.seq is not null where d.space_id = $1 and d.oid = $2::uuid",
    [spaceId, documentOid],
  );
  return rows[0]?.actor ?? null;
}

/**
 * The actor's own entries in a space, per objective (the newest row of each; a user's entries in a
 * space are few), with the documents the actor created as `manager` (engine/roles.ts): one
 * statement serves both the role on a path and the subtrees hidden from them.
 */
export async function actorEntries(q: Queryable, spaceId: string, actor: string): Promise<Map<string, Role | null>> {
  const rows = await q.query<{ oid: string; role: Role | null; creator: boolean }>(
    `select oid::text as oid, role, false as creator from (
       select distinct on (oid) oid, role from share where space_id = $1 and user_id = $2 order by oid, seq desc) e
     union all
     select d.oid::text, 'manager', true from document d
      where d.space_id = $1 and (select o.actor from op o where o.space_id = d.space_id and o.seq = d.seq and o.seq is not null) = $2`,
    [spaceId, actor],
  );
  const out = new Map<string, Role | null>();
  for (const r of rows) if (r.creator || !out.has(r.oid)) out.set(r.oid, r.role);
  return out;
}

/**
 * Refuses a write's actor (FORBIDDEN, naming the actor, the objective and the role) whose role at
 * the first placement of `chain` does not allow `need`; an actor of null is the engine's owner and
 * always allowed. Read in the write's transaction (a page's documents through its reader).
 */
export async function allow(ctx: WriteCtx, chain: readonly Placement[], need: Need): Promise<void> {
  const actor = ctx.actor;
  if (actor === null) return;
  const path = chain.map((p) => p.oid);
  const entries = await ctx.reader.actorEntries(actor);
  const role = path.map((o) => entries.get(o.toLowerCase())).find((r) => r !== undefined && r !== null) ?? undefined;
  if (!allows(role, need)) {
    throw new EngineError("FORBIDDEN", `user ${actor} may not ${need} objective ${path[0]} in space ${ctx.spaceId}: ${role === undefined ? "no role there" : `role ${role}`}`);
  }
}

/** Records an entry (a row of `share` under the write's seq); the write's last step, after every check. */
export async function writeEntry(ctx: WriteCtx, oid: string, user: string, role: Role | null): Promise<void> {
  await ctx.tx.query("insert into share (space_id, oid, user_id, seq, role) values ($1, $2, $3, $4, $5)", [ctx.spaceId, oid, user, ctx.seq, role]);
}

/**
 * `allow` for a write that changes a whole subtree at once (remove, checkout, move): besides the
 * role at the objective, none of the actor's own entries below it may rank under `need` (a
 * collaborator on a subtree does not remove, rewind or carry away a part they may only view).
 */
export async function allowWhole(ctx: WriteCtx, chain: readonly Placement[], need: Need): Promise<void> {
  await allow(ctx, chain, need);
  const found = await lowerEntryIn(ctx, chain[0]!.oid, need, false);
  if (found) {
    throw new EngineError("FORBIDDEN", `user ${ctx.actor} may not ${need} objective ${chain[0]!.oid} in space ${ctx.spaceId} whole: their role on ${found[0]} below it is ${found[1]}`);
  }
}

/**
 * `allowWhole` for what is not in the active tree (a restore brings a removed subtree back): none
 * of the actor's own entries that rank under `need` may lie in it, where each was last (its newest
 * rows). What of it is active elsewhere now stays there, so its entries do not count.
 */
export async function allowWholeRemoved(ctx: WriteCtx, oid: string, need: Need): Promise<void> {
  const found = await lowerEntryIn(ctx, oid, need, true);
  if (found) throw new EngineError("FORBIDDEN", `user ${ctx.actor} may not ${need} objective ${oid} in space ${ctx.spaceId} whole: their role on ${found[0]} in it is ${found[1]}`);
}

/**
 * One of the actor's own entries that ranks under `need` and lies below `top`: in the active tree,
 * or (`removed`: `top` is a removed objective) where each was last, for those not active now.
 */
async function lowerEntryIn(ctx: WriteCtx, top: string, need: Need, removed: boolean): Promise<readonly [string, Role] | undefined> {
  if (ctx.actor === null) return undefined;
  top = top.toLowerCase();
  const lower = [...(await ctx.reader.actorEntries(ctx.actor))].filter((e): e is [string, Role] => e[1] !== null && !allows(e[1], need) && e[0] !== top);
  if (lower.length === 0) return undefined;
  const under = (path: readonly { readonly oid: string }[]) => path.slice(1).some((p) => p.oid.toLowerCase() === top);
  const active = await ctx.locate.chains(lower.map(([o]) => o));
  if (!removed) return lower.find(([o]) => under(active.get(o) ?? []));
  const gone = lower.filter(([o]) => !active.get(o));
  if (gone.length === 0) return undefined;
  const last = await ctx.reader.hints(gone.map(([o]) => o), undefined);
  return gone.find(([o]) => under(last.get(o) ?? []));
}
