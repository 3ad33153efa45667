/**
 * The read side of collaboration (engine/roles.ts): an engine with an actor reads an objective only
 * where the actor's role allows it. Roles follow the objective where it is now, so a past version
 * is read under the entries of its objective's current place (a content checkout never changes
 * who may see it); a removed objective under those of its last place.
 */
import { loadHints, type Placement } from "./chains.js";
import { loadVersions } from "./format/row-cache.js";
import { adjustStats } from "./stats.js";
import type { Objective, VersionRow } from "./types.js";
import { EngineError } from "./errors.js";
import type { Core } from "./core.js";
import { locator } from "./locate.js";
import { readEnv } from "./objective.js";
import { actorEntries, allows, type Need } from "./roles.js";

/** The objective's path (itself, parent, ..., top): in the active tree, else where it last was. */
export async function pathOf(core: Core, spaceId: string, oid: string): Promise<string[]> {
  return (await placesOf(core, spaceId, [oid])).get(oid.toLowerCase()) ?? [oid];
}

/**
 * Each objective's path (itself first, lowercase) in the active tree, else where it last was; an
 * objective the storage never held has none. Adds to `into` when given.
 */
export async function placesOf(core: Core, spaceId: string, oids: readonly string[], into = new Map<string, string[]>()): Promise<Map<string, string[]>> {
  if (oids.length === 0) return into;
  const chains = await locator(readEnv(core, spaceId), { kind: "active" }).chains(oids);
  const gone: string[] = [];
  for (const oid of oids) {
    const chain = chains.get(oid);
    if (!chain) {
      gone.push(oid);
      continue;
    }
    into.set(oid.toLowerCase(), chain.map((p) => p.oid.toLowerCase()));
    // A read this locate guards (a reader's access check) takes the chain instead of locating it again.
    core.located?.set(`${spaceId}|${oid.toLowerCase()}`, chain);
  }
  if (gone.length > 0) {
    for (const [oid, hints] of await loadHints(core.storage, spaceId, gone)) {
      if (hints.length > 0) into.set(oid.toLowerCase(), hints.map((h) => h.oid.toLowerCase()));
    }
  }
  return into;
}

/**
 * FORBIDDEN unless the engine's actor may `need` (default: read) the objective; free without an
 * actor. Returns the objectives hidden from the actor (`none` entries), which reads leave out.
 */
export async function requireAccessTo(core: Core, spaceId: string, oid: string, need: Need = "read"): Promise<ReadonlySet<string>> {
  const actor = core.actor;
  if (actor === undefined) return NOTHING;
  const [path, entries] = await Promise.all([pathOf(core, spaceId, oid), actorEntries(core.storage, spaceId, actor)]);
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
 * Versions as a reader sees them: statistics without the subtrees hidden from the reader below
 * each one (the stored statistics count everything). Active versions by default; with `within`,
 * versions of that past version's tree (a past version's hidden subtrees are found in it, as they
 * were then).
 */
export async function statsSeen<T extends Objective>(core: Core, spaceId: string, items: readonly T[], hidden: ReadonlySet<string>, within?: VersionRow): Promise<T[]> {
  if (hidden.size === 0 || items.length === 0) return [...items];
  const chains = await locator(readEnv(core, spaceId), within ? { kind: "in", root: within } : { kind: "active" }).chains([...hidden]);
  const outer: [string, Placement[]][] = [];
  for (const [oid, chain] of chains) if (chain && !chain.slice(1).some((p) => hidden.has(p.oid))) outer.push([oid, chain]);
  if (outer.length === 0) return [...items];
  const rows = await loadVersions(core.cache, core.storage, spaceId, outer.map(([oid, chain]) => [oid, chain[0]!.seq] as const));
  const below = new Map<string, VersionRow[]>();
  for (const [oid, chain] of outer) {
    const row = rows.get(`${oid}|${chain[0]!.seq}`)!;
    for (const p of chain.slice(1)) below.set(p.oid, [...(below.get(p.oid) ?? []), row]);
  }
  return items.map((it) => {
    const gone = below.get(it.oid.toLowerCase());
    return gone ? { ...it, stats: adjustStats(it.stats, gone, []) } : it;
  });
}

/**
 * What a reader may see of a list naming objectives (history ops, diff changes): those whose
 * objective is neither hidden from them nor below a hidden one, where it is now (or last was).
 */
export async function namingVisible<T extends { readonly oid: string }>(core: Core, spaceId: string, items: readonly T[], hidden: ReadonlySet<string>, readOid: string): Promise<T[]> {
  if (hidden.size === 0 || items.length === 0) return [...items];
  const oids = [...new Set(items.map((i) => i.oid.toLowerCase()))];
  const chains = await locator(readEnv(core, spaceId), { kind: "active" }).chains(oids);
  const gone = oids.filter((o) => !chains.get(o));
  const last = gone.length > 0 ? await loadHints(core.storage, spaceId, gone) : new Map<string, { oid: string }[]>();
  const pathOfOid = (o: string) => chains.get(o)?.map((p) => p.oid) ?? last.get(o)?.map((h) => h.oid) ?? [o];
  // Only the steps below the objective read count: the reader may read it (a `none` above it was
  // overridden on the way down).
  const below = (path: string[]) => {
    const at = path.findIndex((p) => p.toLowerCase() === readOid.toLowerCase());
    return at < 0 ? path : path.slice(0, at);
  };
  const seen = new Set(oids.filter((o) => !below(pathOfOid(o)).some((p) => hidden.has(p.toLowerCase()))));
  return items.filter((i) => seen.has(i.oid.toLowerCase()));
}
