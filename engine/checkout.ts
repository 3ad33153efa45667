/**
 * Checkout (DESIGN.md §4): make one objective's subtree look as it did in one of its versions,
 * change nothing else, and stay editable.
 *
 * The version rows are already there, so the new state is the target version re-linked under the
 * objective's current parent (promotion, O(depth)). What costs more is keeping the mutable
 * `active_version` index exact: it is fixed only where the current and target subtrees differ,
 * found by walking both with equal vids pruned (O(changes since the target)). Three cases need care:
 * - an objective of the target that lives elsewhere now stays there: it is cut out of the target
 *   (new versions for its target ancestors, O(depth) each);
 * - an objective of the target that was removed since is re-attached; if its removed subtree is
 *   untouched (a clean detached top with the target's vid) its rows are reused as they are;
 * - objectives of the current subtree missing from the target are detached like a removal.
 */
import { isActive, type Placement } from "./chains.js";
import { allChildren, diffChildren, type Entry } from "./children-tree.js";
import type { Core } from "./core.js";
import { notFound } from "./errors.js";
import { checkActive, toObjective } from "./objective.js";
import { planChains, promote, type Plan } from "./promote.js";
import type { Objective, VersionRow } from "./types.js";
import { checkId, checkVid } from "./validate.js";
import { readChains, readVersions, runWrite, type WriteCtx, type Origin } from "./write.js";

interface Place {
  readonly parent: string | null;
  readonly pos: string | null;
  readonly vid: string;
}

/** Checks an objective's subtree out to one of its versions; returns the new active version. */
export async function checkout(core: Core, spaceId: string, oid: string, vid: string, origin?: Origin): Promise<Objective> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  vid = checkVid("vid", vid);
  return runWrite(core, spaceId, [oid], async (ctx, chains) => {
    const chain = checkActive(chains.get(oid), spaceId, oid);
    const current = chain[0]!;
    const rows = await readVersions(ctx, [[oid, current.vid], [oid, vid]]);
    const target = rows.get(`${oid}|${vid}`);
    if (!target) throw notFound(`objective ${oid} has no version ${vid} in space ${spaceId}`);
    const plan = await planChains(ctx, [chain]);
    if (vid === current.vid) return toObjective(spaceId, plan.get(oid)!.row, chain);
    const result = await restore(ctx, oid, plan.get(oid)!.row, target, plan, chain.length - 1);
    await promote(ctx, plan);
    writePlacements(ctx, result);
    const row = plan.get(oid)!.done!;
    ctx.op = { kind: "checkout", oid, vidBefore: current.vid, vidAfter: row.vid, data: { target: vid } };
    return toObjective(spaceId, row, [{ ...current, vid: row.vid }, ...chain.slice(1)]);
  }, origin);
}

interface Restore {
  readonly root: string;
  readonly cur: Map<string, Place>;
  readonly tgt: Map<string, Place>;
  readonly pruned: Set<string>;
  /** Every known current parent pointer (from walked links and loaded chains). */
  readonly parentOf: Map<string, string | null>;
  /** Current rows of re-attached removed objectives. */
  readonly previous: Map<string, Placement>;
  /** Every `active_version` row loaded on the way. */
  readonly known: Map<string, Placement>;
  /** Rows of removed objectives left out of their restored parent: detached unless placed anew. */
  readonly orphans: Map<string, Placement>;
}

async function restore(
  ctx: WriteCtx,
  root: string,
  currentRow: VersionRow,
  target: VersionRow,
  plan: Plan,
  rootDepth: number,
): Promise<Restore> {
  const r: Restore = { root, cur: new Map(), tgt: new Map(), pruned: new Set(), parentOf: new Map(), previous: new Map(), known: new Map(), orphans: new Map() };
  const rowsT = new Map<string, VersionRow>([[root, target]]);
  const matched = new Set<string>([root]);
  const classified = new Set<string>();
  let pairs: [string, string, string][] = [[root, currentRow.vid, target.vid]];
  const added: string[] = [];
  const put = (side: Map<string, Place>, parent: string, entries: readonly Entry[]) => {
    for (const e of entries) {
      side.set(e[0], { parent, pos: e[2], vid: e[1] });
      if (side === r.cur) r.parentOf.set(e[0], parent);
      added.push(e[0]);
    }
  };
  const match = () => {
    const next: [string, string, string][] = [];
    for (const o of added.splice(0)) {
      const c = r.cur.get(o);
      const t = r.tgt.get(o);
      if (!c || !t || matched.has(o)) continue;
      matched.add(o);
      if (c.vid !== t.vid) next.push([o, c.vid, t.vid]);
    }
    return next;
  };
  for (;;) {
    while (pairs.length > 0) {
      const rows = await readVersions(ctx, pairs.flatMap(([o, c, t]) => [[o, c] as const, [o, t] as const]));
      for (const [o, c, t] of pairs) {
        const rc = rows.get(`${o}|${c}`)!;
        const rt = rows.get(`${o}|${t}`)!;
        rowsT.set(o, rt);
        const { onlyA, onlyB } = await diffChildren(rc.kids, rt.kids, ctx.loader);
        put(r.cur, o, onlyA);
        put(r.tgt, o, onlyB);
      }
      pairs = match();
    }
    // Target objectives not found in the walked part of the current subtree: ask the index.
    const open = [...r.tgt.keys()].filter((o) => !r.cur.has(o) && !classified.has(o));
    if (open.length === 0) break;
    const chains = await readChains(ctx, open);
    const expand: { oid: string; frozenVid: string; trusted: boolean }[] = [];
    for (const o of open) {
      classified.add(o);
      const ch = chains.get(o);
      if (!ch) throw new Error(`objective ${o} of version ${target.vid} has no active_version row`);
      for (const p of ch) {
        if (!r.parentOf.has(p.oid)) r.parentOf.set(p.oid, p.parentOid);
        r.known.set(p.oid, p);
      }
      const self = ch[0]!;
      const want = r.tgt.get(o)!;
      if (ch.some((p) => p.oid === root)) {
        // Inside the current subtree, under something the target lacks: pair it as usual.
        r.cur.set(o, { parent: self.parentOid, pos: self.pos, vid: self.vid });
        added.push(o);
      } else if (isActive(ch)) {
        r.pruned.add(o); // moved out since: it stays where it is now
      } else {
        r.previous.set(o, self);
        // A removed subtree's rows are exact unless its top lost a member since (dirty).
        const trusted = !ch[ch.length - 1]!.dirty;
        const clean = ch.length === 1 && trusted && self.vid === want.vid;
        if (!clean) expand.push({ oid: o, frozenVid: self.vid, trusted });
      }
    }
    if (expand.length > 0) await expandRemoved(ctx, r, rowsT, expand, put);
    pairs = match();
  }
  await prune(ctx, r, rowsT, plan, rootDepth, target);
  return r;
}

/**
 * Brings back removed objectives whose frozen rows cannot be reused as they are. Trusted (clean
 * top): compare the frozen version with the target and recurse only where they differ. Untrusted:
 * list the whole target subtree. Either way, frozen children the target lacks are left detached.
 */
async function expandRemoved(
  ctx: WriteCtx,
  r: Restore,
  rowsT: Map<string, VersionRow>,
  expand: readonly { oid: string; frozenVid: string; trusted: boolean }[],
  put: (side: Map<string, Place>, parent: string, entries: readonly Entry[]) => void,
): Promise<void> {
  const rows = await readVersions(ctx, expand.flatMap((x) => [[x.oid, r.tgt.get(x.oid)!.vid] as const, [x.oid, x.frozenVid] as const]));
  const loose: { entry: Entry; parent: string; trusted: boolean }[] = [];
  for (const x of expand) {
    const target = rows.get(`${x.oid}|${r.tgt.get(x.oid)!.vid}`)!;
    const frozen = rows.get(`${x.oid}|${x.frozenVid}`)!;
    rowsT.set(x.oid, target);
    let gone: Entry[];
    if (x.trusted) {
      const { onlyA, onlyB } = await diffChildren(frozen.kids, target.kids, ctx.loader);
      put(r.tgt, x.oid, onlyB);
      const kept = new Set(onlyB.map((e) => e[0]));
      gone = onlyA.filter((e) => !kept.has(e[0]));
    } else {
      const wanted = await allChildren(target.kids, ctx.loader);
      put(r.tgt, x.oid, wanted);
      const kept = new Set(wanted.map((e) => e[0]));
      gone = (await allChildren(frozen.kids, ctx.loader)).filter((e) => !kept.has(e[0]));
    }
    for (const entry of gone) loose.push({ entry, parent: x.oid, trusted: x.trusted });
  }
  if (loose.length === 0) return;
  // Only rows that still hang under the restored parent are detached (a dirty subtree may have
  // lost them to another place already).
  const chains = await readChains(ctx, loose.map((l) => l.entry[0]));
  for (const l of loose) {
    const self = chains.get(l.entry[0])?.[0];
    if (!self || self.parentOid !== l.parent) continue;
    r.orphans.set(self.oid, { ...self, parentOid: null, pos: null, isRoot: false, dirty: self.dirty || !l.trusted });
    r.parentOf.set(self.oid, l.parent);
  }
}

/** Cuts the objectives that live elsewhere now out of the target, promoting inside the target. */
async function prune(
  ctx: WriteCtx,
  r: Restore,
  rowsT: Map<string, VersionRow>,
  plan: Plan,
  rootDepth: number,
  target: VersionRow,
): Promise<void> {
  plan.get(r.root)!.replaceWith = target;
  const cut = [...r.pruned].filter((o) => !hasPrunedAncestor(r, o));
  if (cut.length === 0) return;
  const rows = await readVersions(ctx, cut.map((o) => [o, r.tgt.get(o)!.vid] as const));
  const depthOf = (o: string): number => (o === r.root ? rootDepth : 1 + depthOf(r.tgt.get(o)!.parent!));
  for (const o of cut) {
    const place = r.tgt.get(o)!;
    for (let y = place.parent!; y !== r.root && !plan.has(y); y = r.tgt.get(y)!.parent!) {
      const t = r.tgt.get(y)!;
      plan.set(y, {
        at: { oid: y, vid: t.vid, parentOid: t.parent, pos: t.pos, isRoot: false, dirty: false },
        row: rowsT.get(y)!,
        depth: depthOf(y),
        kidOps: [],
      });
    }
    plan.get(place.parent!)!.kidOps.push({ pos: place.pos!, entry: null, removed: rows.get(`${o}|${place.vid}`)!, added: null });
  }
}

function hasPrunedAncestor(r: Restore, o: string): boolean {
  for (let p = r.tgt.get(o)?.parent; p && p !== r.root; p = r.tgt.get(p)?.parent) if (r.pruned.has(p)) return true;
  return false;
}

/** Brings `active_version` in line with the restored subtree. */
function writePlacements(ctx: WriteCtx, r: Restore): void {
  const inFinal = (o: string) => o === r.root || (r.tgt.has(o) && !r.pruned.has(o) && !hasPrunedAncestor(r, o));
  const dirtyTops = new Set<string>();
  const detachedRows = new Map<string, Placement>();
  // The top of the detached forest that still links `o` (its frozen copy is no longer exact).
  const markDirty = (o: string) => {
    let x = o;
    for (let p = r.parentOf.get(x); p != null && !inFinal(p); p = r.parentOf.get(x)) x = p;
    dirtyTops.add(x);
  };
  for (const [o, t] of r.tgt) {
    if (!inFinal(o)) continue;
    const before = r.cur.get(o) ?? r.previous.get(o);
    const prevParent = r.cur.get(o)?.parent ?? r.previous.get(o)?.parentOid ?? null;
    if (prevParent !== null && prevParent !== t.parent && !inFinal(prevParent)) markDirty(prevParent);
    if (ctx.placements.has(o)) continue; // promoted: already written with its new vid
    const unchanged = r.cur.has(o) && before && prevParent === t.parent && r.cur.get(o)!.pos === t.pos && before.vid === t.vid;
    if (!unchanged) ctx.placements.set(o, { oid: o, vid: t.vid, parentOid: t.parent, pos: t.pos, isRoot: false, dirty: false });
  }
  for (const [o, c] of r.cur) {
    if (inFinal(o) || c.parent === null || !inFinal(c.parent)) continue;
    detachedRows.set(o, { oid: o, vid: c.vid, parentOid: null, pos: null, isRoot: false, dirty: false });
  }
  for (const [o, row] of r.orphans) if (!inFinal(o)) detachedRows.set(o, row);
  for (const top of dirtyTops) {
    const row = detachedRows.get(top) ?? r.known.get(top);
    if (!row) throw new Error(`checkout lost track of the removed subtree above ${top}`);
    if (!inFinal(top)) ctx.placements.set(top, { ...row, dirty: true });
  }
  for (const row of detachedRows.values()) if (!dirtyTops.has(row.oid)) ctx.placements.set(row.oid, row);
}
