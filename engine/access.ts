/**
 * The read side of collaboration (engine/roles.ts): an engine with an actor reads an objective only
 * where the actor's role allows it. Roles follow the objective where it is now, so a past version
 * is read under the entries of its objective's current place (a content checkout never changes
 * who may see it); a removed objective under those of its last place.
 */
import { loadHints } from "./chains.js";
import { EngineError } from "./errors.js";
import type { Core } from "./core.js";
import { locator } from "./locate.js";
import { readEnv } from "./objective.js";
import { allows, type Need, type Role } from "./roles.js";

/** The objective's path (itself, parent, ..., top): in the active tree, else where it last was. */
export async function pathOf(core: Core, spaceId: string, oid: string): Promise<string[]> {
  const chain = (await locator(readEnv(core, spaceId), { kind: "active" }).chains([oid])).get(oid);
  if (chain) return chain.map((p) => p.oid);
  const hints = (await loadHints(core.storage, spaceId, [oid])).get(oid);
  return hints && hints.length > 0 ? hints.map((h) => h.oid) : [oid];
}

/**
 * The actor's own entries in a space, per objective (the newest row of each; a user's entries in a
 * space are few): one statement serves both the role on a path and the subtrees hidden from them.
 */
async function actorEntries(core: Core, spaceId: string, actor: string): Promise<Map<string, Role | null>> {
  const rows = await core.storage.query<{ oid: string; role: Role | null }>(
    "select distinct on (oid) oid::text as oid, role from share where space_id = $1 and user_id = $2 order by oid, seq desc",
    [spaceId, actor],
  );
  return new Map(rows.map((r) => [r.oid, r.role]));
}

/**
 * FORBIDDEN unless the engine's actor may `need` (default: read) the objective; free without an
 * actor. Returns the objectives hidden from the actor (`none` entries), which reads leave out.
 */
export async function requireAccessTo(core: Core, spaceId: string, oid: string, need: Need = "read"): Promise<ReadonlySet<string>> {
  const actor = core.actor;
  if (actor === undefined) return NOTHING;
  const [path, entries] = await Promise.all([pathOf(core, spaceId, oid), actorEntries(core, spaceId, actor)]);
  const role = path.map((o) => entries.get(o.toLowerCase())).find((r) => r !== undefined && r !== null) ?? undefined;
  if (!allows(role, need)) {
    throw new EngineError("FORBIDDEN", `user ${actor} may not ${need} objective ${oid} in space ${spaceId}: ${role === undefined ? "no role there" : `role ${role}`}`);
  }
  return new Set([...entries].filter(([, r]) => r === "none").map(([o]) => o));
}

const NOTHING: ReadonlySet<string> = new Set();

/** Rows of a readable objective's subtree (depth-first, with levels) without the hidden ones and what is below them. */
export function withoutHidden<T extends { readonly oid: string; readonly level: number }>(rows: readonly T[], hidden: ReadonlySet<string>): T[] {
  if (hidden.size === 0) return [...rows];
  const out: T[] = [];
  let skipBelow = Infinity;
  for (const r of rows) {
    if (r.level > skipBelow) continue;
    skipBelow = Infinity;
    if (hidden.has(r.oid.toLowerCase())) skipBelow = r.level;
    else out.push(r);
  }
  return out;
}

/**
 * FORBIDDEN when a subtree hidden from the actor lies inside the subtree of `rootOid`: a view counts
 * rows by the stored statistics, which include it, so such a view is refused rather than shown
 * with the hidden rows (open the readable parts as their own views).
 */
export async function requireNothingHiddenBelow(core: Core, spaceId: string, rootOid: string, hidden: ReadonlySet<string>): Promise<void> {
  if (hidden.size === 0) return;
  const root = rootOid.toLowerCase();
  const chains = await locator(readEnv(core, spaceId), { kind: "active" }).chains([...hidden]);
  for (const [oid, chain] of chains) {
    if (chain?.some((p, i) => i > 0 && p.oid.toLowerCase() === root)) {
      throw new EngineError("FORBIDDEN", `user ${core.actor} may not view ${rootOid} in space ${spaceId} whole: ${oid} below it is hidden from them`);
    }
  }
}
