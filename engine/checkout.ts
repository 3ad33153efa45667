/**
 * Checkout (DESIGN.md §4): make one objective's subtree look as it did in one of its versions,
 * change nothing else, and stay editable.
 *
 * The version rows are already there, so the new state is the target version re-linked under the
 * objective's current parent: one new version of it and of each ascendant (O(depth)). Nothing
 * below it is visited and no index is fixed, since there is none: an objective below is found
 * through its parent's links (engine/locate.ts), which now are the target's.
 *
 * What needs care is the rule that a checkout never shows one objective in two places: an
 * objective of the target that lives elsewhere now stays there, and is cut out of the restored
 * subtree. Such objectives left the subtree since the target, on their own or inside another
 * objective that left: every way out is recorded in the `lost` lists of the records of the
 * objectives they left (moves out, removals, and objectives a checkout brought back elsewhere),
 * and every way into an objective by a move in its `gained` list, so the checkout reads only
 * those: O(depth + departures).
 * When the objective's own history since the target is not one line (a checkout above restored
 * it), departures inside it may be unrecorded, and the two versions are compared instead
 * (O(changes), pruned by equal links, the rare case).
 */
import type { Hint, Placement } from "./chains.js";
import { allowWhole } from "./roles.js";
import { allChildren, diffChildren } from "./children-tree.js";
import type { Core } from "./core.js";
import { notFound } from "./errors.js";
import { seqOfVid } from "./find-version.js";
import { cachedSeqOfVid } from "./format/row-cache.js";
import { locator } from "./locate.js";
import { checkActive, toObjective } from "./objective.js";
import { planChains, promote, type Plan } from "./promote.js";
import type { Objective, VersionRow } from "./types.js";
import { checkId, checkVid } from "./validate.js";
import { isTaken, readVersions, runWrite, writeMark, type Origin, type WriteCtx } from "./write.js";

/** Checks an objective's subtree out to one of its versions; returns the new active version. */
export async function checkout(core: Core, spaceId: string, oid: string, vid: string, origin?: Origin): Promise<Objective> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  vid = checkVid("vid", vid);
  return runWrite(core, spaceId, [oid], async (ctx, chains) => {
    const chain = await checkActive(chains.get(oid), spaceId, oid, (o) => isTaken(ctx, o));
    await allowWhole(ctx, chain, "edit");
    const plan = await planChains(ctx, [chain]);
    const self = plan.get(oid)!;
    const seq = cachedSeqOfVid(ctx.core.cache, spaceId, oid, vid) ?? (await seqOfVid(ctx.reader, oid, vid));
    const target = seq === undefined ? undefined : (await readVersions(ctx, [[oid, seq]])).get(`${oid}|${seq}`);
    if (!target || target.vid !== vid) throw notFound(`objective ${oid} has no version ${vid} in space ${spaceId}`);
    if (target.seq === self.row.seq) return toObjective(spaceId, self.row, chain);
    self.replaceWith = target;
    await reviveTarget(ctx, chain, self.row, target, plan);
    await promote(ctx, plan);
    await writeNotes(ctx);
    const row = self.done!;
    ctx.op = { kind: "checkout", oid, vidBefore: self.row.vid, vidAfter: row.vid, data: { target: vid } };
    return toObjective(spaceId, row, [{ ...chain[0]!, seq: row.seq }, ...chain.slice(1)]);
  }, origin);
}

/**
 * Decides what of the target stays where it is now (cut out of the restored subtree: new
 * versions of its target ancestors join the plan) and what comes back from outside (noted, for
 * `writeNotes` after promotion). `chain` is the objective's placement and its ascendants'; a
 * restore of a removed objective (engine/restore.ts) passes its last version as both `current`
 * and `target`.
 */
export async function reviveTarget(ctx: WriteCtx, chain: readonly Placement[], current: VersionRow, target: VersionRow, plan: Plan, linear?: boolean): Promise<void> {
  const root = current.oid;
  const inTarget = locator(ctx.reader, { kind: "in", root: target });
  // The fast path trusts the lost lists: the objective's own history since the target is one line
  // (`linear`: the caller knows it is, as a restore does: no version of it came after the target).
  const own = (await ctx.reader.since([root], target.seq)).get(root)!;
  const natural = process.env["SLOW_CHECKOUT"] ? false : linear === true || (chain[0]!.latest === current.seq && !own.restored);
  const seen = new Set<string>([root]);
  let open = own.lost.map((d) => d.oid);
  if (!natural) open.push(...(await changedSince(ctx, current, target)));
  const cuts: { oid: string; path: Placement[] }[] = [];
  const notes = new Map<string, string[]>();
  const revived = new Map<string, Placement>();
  // Newest rows the rounds read: where a mark on one of them goes (no second read for those).
  const newest = new Map<string, Hint>();
  for (;;) {
    const listed = [...new Set(open)].filter((o) => !seen.has(o));
    open = [];
    if (listed.length === 0) break;
    for (const o of listed) seen.add(o);
    // Everything this round asks about them since the target, in one read.
    const since = await ctx.reader.since(listed, target.seq);
    for (const [o, x] of since) if (x.newest) newest.set(o, x.newest);
    ctx.locate.knowNewest(listed.flatMap((o) => newest.get(o) ?? []));
    const lost = (o: string) => since.get(o)!.lost.map((d) => d.oid);
    const gained = (o: string) => since.get(o)!.gained.map((d) => d.oid);
    // What did not exist at the target is not in it (no walk). What moved into it since may be
    // (and may need a cut or a note).
    for (const o of listed) if (!since.get(o)!.existed) open.push(...gained(o));
    const batch = listed.filter((o) => since.get(o)!.existed);
    if (batch.length === 0) continue;
    // Where each one is now decides what the target's copy of it needs: one active elsewhere is
    // cut out (if the target has it), one active nowhere comes back (noted where it was last, if
    // that is outside), one inside stays the target's. Only the first two need the target's tree.
    const here = await ctx.locate.chains(batch);
    const outside = new Set(batch.filter((o) => here.get(o)?.every((p) => p.oid !== root)));
    const gone = batch.filter((o) => !here.get(o));
    const regions = await lastRegions(ctx, gone, chain, newest);
    const noting = gone.filter((o) => (regions.get(o) ?? []).length > 0);
    const there = await inTarget.chains(natural ? [...outside, ...gone] : batch);
    for (const o of outside) if (there.get(o)) cuts.push({ oid: o, path: there.get(o)! });
    // What comes back is linked where the target has it; its newest row may name another place.
    for (const o of gone) if (there.get(o)) revived.set(o, there.get(o)![0]!);
    // What moved into those since the target left with them (if the target has it under the root),
    // and what moved into one active nowhere is active nowhere with it: if the target has it, it
    // comes back, and the one that holds it must learn that it left (a note), or a restore of that
    // one would bring it back a second time.
    for (const o of [...outside, ...gone]) open.push(...gained(o));
    // What comes back brings its target subtree but for what left it since (for any that might
    // be in the target: a superset costs a lookup, never a wrong tree).
    const back = batch.filter((o) => !outside.has(o) && (natural || there.get(o)));
    for (const o of back) {
      open.push(...lost(o));
      if (!natural) open.push(...(await targetChildren(ctx, there.get(o)![0]!)));
    }
    for (const o of noting) if (there.get(o)) for (const p of regions.get(o)!) notes.set(p, [...(notes.get(p) ?? []), o]);
  }
  await cutOut(ctx, root, cuts, plan);
  for (const [oid, lost] of notes) {
    const c = plan.get(oid);
    if (c) c.lost = [...(c.lost ?? []), ...lost];
  }
  const marks = new Map<string, Mark>();
  for (const [oid, lost] of notes) marks.set(oid, { lost });
  for (const [oid, at] of revived) marks.set(oid, { ...marks.get(oid), at });
  noted.set(ctx, { marks: [...marks].filter(([oid]) => !plan.has(oid)), newest });
}

/**
 * A mark the write leaves on an objective it gives no new version: objectives that left it
 * (`lost`), and for one that comes back, the version it comes back with (`at`): its newest row then
 * names the place it has, so finding it, and a later checkout's or restore's notes about it, do
 * not go by a place it no longer has.
 */
interface Mark {
  readonly lost?: string[];
  readonly at?: Placement;
}

/**
 * Marks for objectives the checkout does not give a new version (written after promotion), with
 * the newest rows of those `reviveTarget` read (promotion writes none of theirs).
 */
const noted = new WeakMap<WriteCtx, { marks: [string, Mark][]; newest: ReadonlyMap<string, Hint> }>();

/** The children of an objective in the target (the slow path lists restored subtrees whole). */
async function targetChildren(ctx: WriteCtx, at: Placement): Promise<string[]> {
  const row = (await readVersions(ctx, [[at.oid, at.seq]])).get(`${at.oid}|${at.seq}`)!;
  return (await allChildren(row.kids, ctx.loader)).map((e) => e[0]);
}

/** Objectives of the target whose link differs in the current version (the slow path). */
async function changedSince(ctx: WriteCtx, current: VersionRow, target: VersionRow): Promise<string[]> {
  const out: string[] = [];
  let pairs: [string, number, number][] = [[current.oid, current.seq, target.seq]];
  while (pairs.length > 0) {
    const rows = await readVersions(ctx, pairs.flatMap(([o, a, b]) => [[o, a] as const, [o, b] as const]));
    const next: [string, number, number][] = [];
    for (const [o, a, b] of pairs) {
      const { onlyA, onlyB } = await diffChildren(rows.get(`${o}|${a}`)!.kids, rows.get(`${o}|${b}`)!.kids, ctx.loader);
      const here = new Map(onlyA.map((e) => [e[0], e]));
      for (const e of onlyB) {
        const h = here.get(e[0]);
        if (h && h[2] === e[2]) next.push([e[0], h[1], e[1]]);
        else out.push(e[0]);
      }
    }
    pairs = next;
  }
  return out;
}

/**
 * Where objectives that are not active now were last, as far as a note must say they left: the
 * objectives up each one's newest rows, until the first one the checkout's chain shares, or the
 * first removed one (included), which took it out of the tree; none for one removed itself. That
 * may be inside the checked-out subtree too: a removed objective there that held it (restored
 * later, it must not bring it back a second time). One hint walk for all of them but those whose
 * newest row (`newest`, read already) removes them.
 */
async function lastRegions(ctx: WriteCtx, oids: readonly string[], chain: readonly Placement[], newest: ReadonlyMap<string, Hint>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  // Its own removal is in the lost lists of every objective that held it then: a later checkout
  // or restore of any of them that would bring it back reads it there. Nothing to note.
  const walked = oids.filter((o) => newest.get(o)?.removed !== true);
  for (const o of oids) out.set(o, []);
  if (walked.length === 0) return out;
  const hints = await ctx.reader.hints(walked, undefined);
  const shared = new Set(chain.map((p) => p.oid));
  for (const oid of walked) {
    const walk = hints.get(oid) ?? [];
    const region: string[] = [];
    if (!walk[0]?.removed) {
      for (const h of walk.slice(1)) {
        if (shared.has(h.oid)) break;
        region.push(h.oid);
        // A holder's removal is in the lists of those above it, and its note covers what it held.
        if (h.removed) break;
      }
    }
    out.set(oid, region);
  }
  return out;
}

/** Adds new versions of the cut objectives' target ancestors (without them) to the plan. */
async function cutOut(ctx: WriteCtx, root: string, cuts: readonly { oid: string; path: Placement[] }[], plan: Plan): Promise<void> {
  const cutSet = new Set(cuts.map((c) => c.oid));
  const outer = cuts.filter((c) => !c.path.slice(1).some((p) => p.oid !== root && cutSet.has(p.oid)));
  if (outer.length === 0) return;
  const want = outer.flatMap((c) => c.path.slice(0, -1).map((p) => [p.oid, p.seq] as const));
  const rows = await readVersions(ctx, want);
  const rootDepth = plan.get(root)!.depth;
  // The newest rows of every target ancestor that joins the plan, in one walk.
  const joining = [...new Set(outer.flatMap((c) => c.path.slice(1, -1).map((p) => p.oid)))].filter((o) => !plan.has(o));
  const newestOf = joining.length > 0 ? await ctx.reader.newest(joining) : new Map<string, Hint>();
  for (const c of outer) {
    // path: [cut, parent, ..., root] in the target's tree.
    for (let i = 1; i < c.path.length - 1; i++) {
      const p = c.path[i]!;
      if (plan.has(p.oid)) continue;
      const newest = newestOf.get(p.oid);
      plan.set(p.oid, { at: { ...p, latest: newest?.vseq, latestRow: newest?.key }, row: rows.get(`${p.oid}|${p.seq}`)!, depth: rootDepth + (c.path.length - 1 - i), kidOps: [] });
    }
    const self = c.path[0]!;
    const cutRow = rows.get(`${self.oid}|${self.seq}`)!;
    plan.get(self.parentOid!)!.kidOps.push({ pos: self.pos!, entry: null, removed: cutRow, added: null });
  }
}

/**
 * Writes the marks `reviveTarget` left for objectives promotion gave no new version: on those
 * outside that last held a revived one, that it left them (a note keeps a removed objective
 * removed), and on each revived one, the version and place it came back with.
 */
export async function writeNotes(ctx: WriteCtx): Promise<void> {
  const { marks, newest } = noted.get(ctx) ?? { marks: [], newest: new Map<string, Hint>() };
  if (marks.length === 0) return;
  const unread = marks.map(([o]) => o).filter((o) => !newest.has(o));
  const hints = new Map([...newest, ...(unread.length > 0 ? await ctx.reader.newest(unread) : [])]);
  const keys = marks.map(([o, m]) => [o, m.at?.seq ?? hints.get(o)!.vseq] as const);
  const rows = await readVersions(ctx, keys);
  marks.forEach(([oid, m], i) => {
    const newest = hints.get(oid)!;
    // One that comes back is active (no longer removed), with a version that may be older than
    // its newest: its history is no longer one line (RESTORED, read by later checkouts of it).
    writeMark(ctx, rows.get(`${oid}|${keys[i]![1]}`)!, m.at ? false : newest.removed, newest.key, m.lost, m.at !== undefined);
  });
}
