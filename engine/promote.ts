/**
 * Path copying (DESIGN.md §2): a change makes a new version of the changed objective and of every
 * ascendant up to its top. Each new parent version re-links the new child and shares all other
 * links (and untouched chunks) with the version it replaces; its record (engine/format/) is
 * usually a delta of one link and the statistics.
 */
import { generateKeyBetween } from "fractional-indexing";
import type { Placement } from "./chains.js";
import { countOf, editChildren, editLeaf, findChild, sliceChildren, type Entry, type KidsNode } from "./children-tree.js";
import { adjustStats } from "./stats.js";
import type { Props, VersionRow } from "./types.js";
import { readVersions, writeVersion, type WriteCtx } from "./write.js";

/** A change to one link of a parent: put `entry` at `pos` (or delete it), with the child versions. */
export interface KidOp {
  readonly pos: string;
  readonly entry: Entry | null;
  readonly removed: VersionRow | null;
  readonly added: VersionRow | null;
}

/** What happens to one objective in this write. */
export interface NodeChange {
  readonly at: Placement;
  readonly row: VersionRow;
  readonly depth: number;
  content?: string;
  props?: Props;
  /** Replace the whole version (checkout): kids, content, props and stats come from here. */
  replaceWith?: VersionRow;
  moveTo?: { readonly parentOid: string; readonly pos: string };
  readonly kidOps: KidOp[];
  /** Objectives that leave this objective's subtree by this write (its record lists them). */
  lost?: string[];
  /** Objectives that entered its subtree by this op (a move's destination side). */
  gained?: string[];
  done?: VersionRow;
}

/** The objectives a write touches, by oid. */
export type Plan = Map<string, NodeChange>;

/** Registers every objective of the chains (from `readChains`) with its current version. */
export async function planChains(ctx: WriteCtx, chains: readonly (readonly Placement[])[], plan: Plan = new Map()): Promise<Plan> {
  const want: [string, number][] = [];
  for (const chain of chains) for (const p of chain) if (!plan.has(p.oid)) want.push([p.oid, p.seq]);
  const rows = await readVersions(ctx, want);
  for (const chain of chains) {
    chain.forEach((p, i) => {
      if (plan.has(p.oid)) return;
      const row = rows.get(`${p.oid}|${p.seq}`);
      if (!row) throw new Error(`version ${p.oid}@${p.seq} is missing`);
      plan.set(p.oid, { at: p, row, depth: chain.length - 1 - i, kidOps: [] });
    });
  }
  return plan;
}

/** The link entry of a version at a position. */
export function entryOf(row: VersionRow, pos: string): Entry {
  return [row.oid, row.seq, pos, 1 + row.stats.descendants];
}

function pending(c: NodeChange): boolean {
  return c.done === undefined && (c.kidOps.length > 0 || c.content !== undefined || c.props !== undefined || c.moveTo !== undefined || c.replaceWith !== undefined);
}

function parentOf(plan: Plan, p: string): NodeChange {
  const parent = plan.get(p);
  if (!parent || parent.done) throw new Error(`promotion reached ${p} out of order`);
  return parent;
}

async function apply(ctx: WriteCtx, plan: Plan, oid: string, c: NodeChange): Promise<void> {
  const source = c.replaceWith ?? c.row;
  let kids: KidsNode = source.kids;
  const removed: VersionRow[] = [];
  const added: VersionRow[] = [];
  for (const op of c.kidOps) {
    // A leaf root that stays a leaf (most objectives) is edited without awaiting anything.
    kids = ("l" in kids ? editLeaf(kids, op.pos, op.entry) : undefined) ?? (await editChildren(kids, op.pos, op.entry, ctx.loader, ctx.sink));
    if (op.removed) removed.push(op.removed);
    if (op.added) added.push(op.added);
  }
  const parentOid = c.moveTo ? c.moveTo.parentOid : c.at.parentOid;
  const pos = c.moveTo ? c.moveTo.pos : c.at.pos;
  const state = {
    parentOid,
    pos,
    content: c.content ?? source.content,
    props: c.props ?? source.props,
    kids,
    stats: adjustStats(source.stats, removed, added),
  };
  const row = writeVersion(ctx, oid, c.row, state, c.at, c.lost, c.gained);
  c.done = row;
  if (c.moveTo) {
    if (c.at.parentOid) parentOf(plan, c.at.parentOid).kidOps.push({ pos: c.at.pos!, entry: null, removed: c.row, added: null });
    parentOf(plan, c.moveTo.parentOid).kidOps.push({ pos: c.moveTo.pos, entry: entryOf(row, c.moveTo.pos), removed: null, added: row });
  } else if (c.at.parentOid) {
    parentOf(plan, c.at.parentOid).kidOps.push({ pos: c.at.pos!, entry: entryOf(row, c.at.pos!), removed: c.row, added: row });
  }
}

/**
 * Writes new versions for every objective of the plan that has something to do: `first` in the
 * given order, then the rest deepest first, so each parent sees all its children's new links.
 */
export async function promote(ctx: WriteCtx, plan: Plan, first: readonly string[] = []): Promise<void> {
  for (const oid of first) {
    const c = plan.get(oid)!;
    if (pending(c)) await apply(ctx, plan, oid, c);
  }
  const rest = [...plan.entries()].sort((a, b) => b[1].depth - a[1].depth);
  for (const [oid, c] of rest) if (pending(c)) await apply(ctx, plan, oid, c);
}

/**
 * A position key for a new link at `index` of `kids`; `skipIndex` is the index of a link to leave
 * out (the moved objective itself when it stays under the same parent), as if already removed.
 */
export async function positionAt(ctx: WriteCtx, kids: KidsNode, index: number, skipIndex = -1): Promise<string> {
  const toList = (j: number) => (skipIndex >= 0 && j >= skipIndex ? j + 1 : j);
  const n = countOf(kids) - (skipIndex >= 0 ? 1 : 0);
  const lo = index > 0 ? toList(index - 1) : null;
  const hi = index < n ? toList(index) : null;
  const start = lo ?? hi;
  if (start === null) return generateKeyBetween(null, null);
  const end = hi ?? lo!;
  const slice = await sliceChildren(kids, start, end - start + 1, ctx.loader);
  const before = lo === null ? null : slice[0]![2];
  const after = hi === null ? null : slice[hi - start]![2];
  return generateKeyBetween(before, after);
}

/**
 * `pos` if no other objective holds it in `kids`, else the first key after it that is free, made
 * between it and the next link: deterministic, so every device resolves the same collision alike.
 */
export async function freePosition(ctx: WriteCtx, kids: KidsNode, pos: string, oid: string): Promise<string> {
  for (let key = pos; ; ) {
    const hit = await findChild(kids, key, ctx.loader);
    if (!hit || hit.entry[0] === oid) return key;
    const next = (await sliceChildren(kids, hit.index + 1, 1, ctx.loader))[0];
    key = generateKeyBetween(key, next?.[2] ?? null);
  }
}
