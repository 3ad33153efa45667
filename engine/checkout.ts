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
 * subtree. Such objectives left the subtree since the target, and every way out is recorded in
 * the `lost` lists of the records of the objectives they left (moves out, removals, and objectives
 * a checkout brought back elsewhere), so the checkout reads only those: O(depth + departures).
 * When the objective's own history since the target is not one line (a checkout above restored
 * it), departures inside it may be unrecorded, and the two versions are compared instead
 * (O(changes), pruned by equal links, the rare case).
 */
import type { Placement } from "./chains.js";
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
    const plan = await planChains(ctx, [chain]);
    const self = plan.get(oid)!;
    const seq = cachedSeqOfVid(ctx.core.cache, spaceId, oid, vid) ?? (await seqOfVid(ctx.reader, oid, vid));
    const target = seq === undefined ? undefined : (await readVersions(ctx, [[oid, seq]])).get(`${oid}|${seq}`);
    if (!target || target.vid !== vid) throw notFound(`objective ${oid} has no version ${vid} in space ${spaceId}`);
    if (target.seq === self.row.seq) return toObjective(spaceId, self.row, chain);
    self.replaceWith = target;
    await restore(ctx, chain, self.row, target, plan);
    await promote(ctx, plan);
    await writeNotes(ctx, noted.get(ctx) ?? []);
    const row = self.done!;
    ctx.op = { kind: "checkout", oid, vidBefore: self.row.vid, vidAfter: row.vid, data: { target: vid } };
    return toObjective(spaceId, row, [{ ...chain[0]!, seq: row.seq }, ...chain.slice(1)]);
  }, origin);
}

/**
 * Decides what of the target stays where it is now (cut out of the restored subtree: new
 * versions of its target ancestors join the plan) and what comes back from outside (noted).
 */
async function restore(ctx: WriteCtx, chain: readonly Placement[], current: VersionRow, target: VersionRow, plan: Plan): Promise<void> {
  const root = current.oid;
  const inTarget = locator(ctx.reader, { kind: "in", root: target });
  // The fast path trusts the lost lists: the objective's own history since the target is one line.
  const natural = process.env["SLOW_CHECKOUT"] ? false : chain[0]!.latest === current.seq && !(await ctx.reader.restoredSince(root, target.seq));
  const seen = new Set<string>([root]);
  let open = (await ctx.reader.departures(root, target.seq)).map((d) => d.oid);
  if (!natural) open.push(...(await changedSince(ctx, current, target)));
  const cuts: { oid: string; path: Placement[] }[] = [];
  const notes = new Map<string, string[]>();
  for (;;) {
    const batch = [...new Set(open)].filter((o) => !seen.has(o));
    open = [];
    if (batch.length === 0) break;
    for (const o of batch) seen.add(o);
    const there = await inTarget.chains(batch);
    const inT = batch.filter((o) => there.get(o));
    const here = await ctx.locate.chains(inT);
    for (const o of inT) {
      const now = here.get(o);
      if (now && !now.some((p) => p.oid === root)) {
        cuts.push({ oid: o, path: there.get(o)! });
        continue;
      }
      // It comes back with the target, and so does its target subtree but for what left it since.
      open.push(...(await ctx.reader.departures(o, target.seq)).map((d) => d.oid));
      if (!natural) open.push(...(await targetChildren(ctx, there.get(o)![0]!)));
      if (!now) for (const p of await lastRegion(ctx, o, chain)) notes.set(p, [...(notes.get(p) ?? []), o]);
    }
  }
  await cutOut(ctx, root, cuts, plan);
  for (const [oid, lost] of notes) {
    const c = plan.get(oid);
    if (c) c.lost = [...(c.lost ?? []), ...lost];
  }
  noted.set(ctx, [...notes].filter(([oid]) => !plan.has(oid)));
}

/** Notes for objectives the checkout does not give a new version (marks, written after promotion). */
const noted = new WeakMap<WriteCtx, [string, string[]][]>();

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
 * Where an objective that is not active now was last, outside the checked-out subtree: the
 * objectives up its newest rows until the first one the checkout's chain shares (they lose it).
 */
async function lastRegion(ctx: WriteCtx, oid: string, chain: readonly Placement[]): Promise<string[]> {
  const hints = (await ctx.reader.hints([oid], undefined)).get(oid) ?? [];
  const shared = new Set(chain.map((p) => p.oid));
  const out: string[] = [];
  for (const h of hints.slice(1)) {
    if (shared.has(h.oid)) return h.oid === chain[0]!.oid ? [] : out;
    out.push(h.oid);
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
  for (const c of outer) {
    // path: [cut, parent, ..., root] in the target's tree.
    for (let i = 1; i < c.path.length - 1; i++) {
      const p = c.path[i]!;
      if (plan.has(p.oid)) continue;
      const newest = (await ctx.reader.hints([p.oid], undefined)).get(p.oid)?.[0];
      plan.set(p.oid, { at: { ...p, latest: newest?.vseq, latestRow: newest?.key }, row: rows.get(`${p.oid}|${p.seq}`)!, depth: rootDepth + (c.path.length - 1 - i), kidOps: [] });
    }
    const self = c.path[0]!;
    const cutRow = rows.get(`${self.oid}|${self.seq}`)!;
    plan.get(self.parentOid!)!.kidOps.push({ pos: self.pos!, entry: null, removed: cutRow, added: null });
  }
}

/** Records, on objectives outside the checkout that last held a revived one, that it left them. */
async function writeNotes(ctx: WriteCtx, marks: readonly [string, string[]][]): Promise<void> {
  if (marks.length === 0) return;
  const hints = await ctx.reader.hints(marks.map(([o]) => o), undefined);
  const keys = marks.map(([o]) => [o, hints.get(o)![0]!.vseq] as const);
  const rows = await readVersions(ctx, keys);
  marks.forEach(([oid, lost], i) => writeMark(ctx, rows.get(`${oid}|${keys[i]![1]}`)!, false, hints.get(oid)![0]!.key, lost));
}
