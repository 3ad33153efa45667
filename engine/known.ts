/**
 * What this engine knows of each space as of its counter: the newest row of every objective its
 * own writes read or made. A write whose reads are all known, and whose versions and chunks are all
 * cached, needs no read at all: it is built in memory and sent as ONE statement that bumps the
 * space's counter only if it still is what this engine saw, and inserts the rows only if it did
 * (engine/write.ts). On one embedded database (PGlite) that is every edit after the first; another
 * engine writing to the same database makes the statement write nothing, and the write runs again
 * the long way (lock, read, write).
 */
import { walkUp, type Hint } from "./chains.js";
import type { Role } from "./roles.js";

/** One space's known newest rows, exact as of `seq`. */
export interface SpaceKnowledge {
  seq: number;
  readonly hints: Map<string, Hint>;
  /** Per actor: their entries (engine/roles.ts `actorEntries`), exact as of `seq` too. */
  roles?: Map<string, Map<string, Role | null>>;
}

/** Per space. */
export type Known = Map<string, SpaceKnowledge>;

/** Most objectives remembered per space; past it the knowledge restarts (it is only a shortcut). */
const MAX_HINTS = 200_000;

/** Creates the (empty) knowledge of an engine. */
export function createKnown(): Known {
  return new Map();
}

/**
 * Records what a committed write at `seq` read (`read`: newest rows as of `seq - 1`) and made
 * (`made`: the rows it wrote). Knowledge from before `seq - 1` is kept only if nobody else wrote in
 * between (then the space's counter was `seq - 1` when this write read it).
 */
export function learn(known: Known, spaceId: string, seq: number, read: Iterable<Hint>, made: Iterable<Hint>): void {
  let k = known.get(spaceId);
  if (!k || k.seq !== seq - 1 || k.hints.size > MAX_HINTS) known.set(spaceId, (k = { seq, hints: new Map() }));
  k.seq = seq;
  for (const h of read) k.hints.set(h.oid, h);
  for (const h of made) k.hints.set(h.oid, h);
}

/**
 * Takes a space's knowledge away for a page of replayed ops (engine/apply-batch.ts): the page may
 * start from it if, under the page's lock, the space's counter is still its `seq`; meanwhile no
 * write of this engine uses it (the page's writes are not followed one by one).
 */
export function take(known: Known, spaceId: string): SpaceKnowledge | undefined {
  const k = known.get(spaceId);
  known.delete(spaceId);
  return k;
}

/**
 * After a committed page that left the space's counter at `seq`: the newest rows the page read and
 * wrote, exact as of `seq`, so that the next page (or the next local edit) reads none of them
 * again. Knowledge some write learnt meanwhile (a later seq) is kept instead.
 */
export function learnPage(known: Known, spaceId: string, seq: number, hints: Map<string, Hint>): void {
  const k = known.get(spaceId);
  if ((k && k.seq >= seq) || hints.size > MAX_HINTS) return;
  // The page is done with the map: it becomes the knowledge.
  known.set(spaceId, { seq, hints });
}

/** Forgets a space (an undo, an import: writes this cache does not follow). */
export function forget(known: Known, spaceId: string): void {
  known.delete(spaceId);
}

/** The known newest-row chains of objectives up to their tops, or undefined if any step is unknown. */
export function knownChains(known: Known, spaceId: string, oids: readonly string[]): Map<string, Hint[]> | undefined {
  const k = known.get(spaceId);
  if (!k) return undefined;
  const out = new Map<string, Hint[]>();
  for (const oid of oids) {
    const { chain, missing } = walkUp(oid, (o) => k.hints.get(o));
    if (missing !== null || chain.length > 10_000) return undefined;
    out.set(oid, chain);
  }
  return out;
}

/**
 * After a committed write at `seq` by `actor`: what it knows of roles stays exact unless the write
 * changed entries (a share op: forgotten); documents the actor made are theirs to manage; `read`
 * (the actor's entries as the write read them, before it) is kept.
 */
export function learnRoles(known: Known, spaceId: string, seq: number, kind: string, actor: string | null, documents: readonly string[], read: Map<string, Role | null> | undefined): void {
  const k = known.get(spaceId);
  if (!k || k.seq !== seq) return;
  if (kind === "share") {
    delete k.roles;
    return;
  }
  if (actor === null) return;
  const roles = (k.roles ??= new Map());
  const mine = read ? new Map(read) : roles.get(actor);
  if (!mine) return;
  for (const oid of documents) mine.set(oid.toLowerCase(), "manager");
  roles.set(actor, mine);
}
