/**
 * The view builder (DESIGN.md §6): rows `[offset, offset + limit)` of the depth-first
 * linearization of any version of a document, reading only what the window needs.
 *
 * The window is a list of lazy items (a child link, a run of links, an unread chunk, a subtree to
 * enter part-way). Each round walks the items up to the window's end, counting each unread item
 * by its visible row count, and reads everything the window still lacks in one batch of version
 * rows and one batch of chunks. Whole subtrees and chunks before the offset are skipped by their
 * counts, so a window costs O(depth × log fanout + limit) rows and about one round trip per level.
 */
import { versionOrActive } from "../engine/read.js";
import { countOf, rowsBefore, rowsOf, type Entry, type KidsNode } from "../engine/children-tree.js";
import type { Core } from "../engine/core.js";
import { notFound } from "../engine/errors.js";
import { chunkLoader, loadVersions } from "../engine/format/row-cache.js";
import type { Props, Stats, VersionRow } from "../engine/types.js";
import { adjustStats } from "../engine/stats.js";
import { checkId, checkLimit, checkOffset, checkVid } from "../engine/validate.js";
import { foldsOf } from "./folds.js";
import { locate, type TreeRef } from "./locate.js";
import { hiddenBefore, visibility, visibleEntry, visibleRef, type Visibility } from "./visibility.js";

/** Options of `view`. */
export interface ViewOptions {
  readonly offset?: number;
  readonly limit?: number;
  /** A past version of the view's root; the active version when omitted. */
  readonly vid?: string;
  /** Objectives to show folded (their subtree hidden). */
  readonly folded?: Iterable<string>;
  /** Also fold what this user folded (`setFolded`). */
  readonly user?: string;
  /**
   * Objectives to leave out with their subtrees: no row, not counted in `total`, and their rows
   * taken out of the statistics of the rows above them (what a reader's `none` entries ask).
   */
  readonly hidden?: Iterable<string>;
}

/** One visible row. Depth 0 is a child of the view's root (the root is the title, not a row). */
export interface Row {
  readonly oid: string;
  readonly vid: string;
  readonly depth: number;
  readonly content: string;
  readonly props: Props;
  readonly stats: Stats;
  readonly childCount: number;
  readonly folded: boolean;
}

/** A window of the view and the number of visible rows in all. */
export interface View {
  readonly total: number;
  readonly rows: Row[];
}

type Item =
  | { t: "row"; e: Entry; depth: number; row?: VersionRow; open: boolean }
  | { t: "kids"; parent: string; node: KidsNode; depth: number; skip: number }
  | { t: "chunk"; parent: string; id: string; depth: number; skip: number; count: number; node?: KidsNode }
  | { t: "enter"; e: Entry; depth: number; skip: number; count: number; row?: VersionRow };

interface Tree extends TreeRef {
  readonly vis: Visibility;
  readonly total: number;
  /** Every hidden objective in this tree (nested ones too). */
  readonly hiddenHere: ReadonlySet<string>;
  /** The versions of the hidden objectives whose rows statistics leave out. */
  readonly stripped: ReadonlyMap<string, VersionRow>;
}

async function openTree(core: Core, spaceId: string, rootOid: string, options: ViewOptions): Promise<Tree> {
  spaceId = checkId("spaceId", spaceId);
  rootOid = checkId("oid", rootOid);
  const q = core.storage;
  // The active version (a document root: its newest row; zoomed in: through its chain), or a past one.
  const { row: root } = await versionOrActive(core, spaceId, rootOid, options.vid === undefined ? undefined : checkVid("vid", options.vid));
  const folded = new Set<string>();
  for (const oid of options.folded ?? []) folded.add(checkId("folded oid", oid));
  if (options.user !== undefined) for (const oid of await foldsOf(core, spaceId, options.user)) folded.add(oid);
  const hidden = new Set<string>();
  for (const oid of options.hidden ?? []) hidden.add(checkId("hidden oid", oid));
  const ref: TreeRef = { core, q, cache: core.cache, spaceId, loader: chunkLoader(core.cache, q, spaceId), root };
  const located = await locate(ref, [...folded, ...hidden]);
  const pick = (set: Set<string>) => new Map([...located].filter(([o]) => set.has(o)));
  const gone = pick(hidden);
  const vis = visibility(root.oid, pick(folded), gone);
  const outer = [...new Set([...vis.strip.values()].flat())];
  const rows = outer.length ? await loadVersions(core.cache, q, spaceId, outer.map((o) => [o, gone.get(o)!.seq] as const)) : new Map<string, VersionRow>();
  const stripped = new Map(outer.map((o) => [o, rows.get(`${o}|${gone.get(o)!.seq}`)!]));
  return { ...ref, vis, total: rowsOf(root.kids) - (vis.hiddenBelow.get(root.oid) ?? 0), hiddenHere: new Set(gone.keys()), stripped };
}

function open(tree: Tree, it: Extract<Item, { t: "kids" }>): Item[] {
  const out: Item[] = [];
  let s = it.skip;
  if ("l" in it.node) {
    for (const e of it.node.l) {
      const v = visibleEntry(tree.vis, e);
      if (s >= v) {
        s -= v;
        continue;
      }
      if (s > 0) out.push({ t: "enter", e, depth: it.depth, skip: s - 1, count: v - s });
      else out.push({ t: "row", e, depth: it.depth, open: false });
      s = 0;
    }
    return out;
  }
  const refs = it.node.i;
  refs.forEach((ref, k) => {
    const v = visibleRef(tree.vis, it.parent, refs, k);
    if (s >= v) {
      s -= v;
      return;
    }
    out.push({ t: "chunk", parent: it.parent, id: ref[0], depth: it.depth, skip: s, count: v - s });
    s = 0;
  });
  return out;
}

async function window(tree: Tree, offset: number, limit: number): Promise<Row[]> {
  const items: Item[] = [{ t: "kids", parent: tree.root.oid, node: tree.root.kids, depth: 0, skip: offset }];
  const folded = tree.vis.folded;
  for (;;) {
    const wantRows: Extract<Item, { t: "row" | "enter" }>[] = [];
    const wantChunks: Extract<Item, { t: "chunk" }>[] = [];
    let seen = 0;
    let i = 0;
    while (i < items.length && seen < limit) {
      const it = items[i]!;
      if (it.t === "kids") {
        items.splice(i, 1, ...open(tree, it));
        continue;
      }
      if (it.t === "chunk") {
        if (it.node) {
          items.splice(i, 1, { t: "kids", parent: it.parent, node: it.node, depth: it.depth, skip: it.skip });
          continue;
        }
        wantChunks.push(it);
        seen += it.count;
      } else if (it.t === "enter") {
        if (it.row) {
          items.splice(i, 1, { t: "kids", parent: it.e[0], node: it.row.kids, depth: it.depth + 1, skip: it.skip });
          continue;
        }
        wantRows.push(it);
        seen += it.count;
      } else if (!it.row) {
        wantRows.push(it);
        seen += visibleEntry(tree.vis, it.e);
      } else {
        if (!it.open && !folded.has(it.e[0]) && it.e[3] > 1) {
          it.open = true;
          items.splice(i + 1, 0, { t: "kids", parent: it.e[0], node: it.row.kids, depth: it.depth + 1, skip: 0 });
        }
        seen += 1;
      }
      i++;
    }
    if (wantRows.length + wantChunks.length === 0) break;
    const [rows, chunks] = await Promise.all([
      loadVersions(tree.cache, tree.q, tree.spaceId, wantRows.map((it) => [it.e[0], it.e[1]] as const)),
      wantChunks.length ? tree.loader.getMany(wantChunks.map((it) => it.id)) : Promise.resolve([]),
    ]);
    for (const it of wantRows) {
      const row = rows.get(`${it.e[0]}|${it.e[1]}`);
      // A version whose rows this database lacks (a copy's or a partial replica's holes) ends the
      // view with its name, not a wait for rows that never come.
      if (!row) throw notFound(`version ${it.e[0]}@${it.e[1]} is not held in space ${tree.spaceId}`);
      it.row = row;
    }
    wantChunks.forEach((it, k) => (it.node = chunks[k]!));
  }
  const out: Row[] = [];
  for (const it of items) {
    if (out.length === limit) break;
    if (it.t !== "row") continue;
    const r = it.row!;
    out.push({
      oid: r.oid,
      vid: r.vid,
      depth: it.depth,
      content: r.content,
      props: r.props,
      stats: statsSeen(tree, r.oid, r.stats),
      childCount: countOf(r.kids),
      folded: folded.has(r.oid),
    });
  }
  return out;
}

/** A row's statistics without the hidden subtrees below it. */
function statsSeen(tree: Tree, oid: string, stats: Stats): Stats {
  const below = tree.vis.strip.get(oid);
  return below ? adjustStats(stats, below.map((o) => tree.stripped.get(o)!), []) : stats;
}

/**
 * Rows `[offset, offset + limit)` of a document (or any objective, zoomed in) at its active or a
 * past version, with folded objectives as one row each.
 *
 * @example
 * const { total, rows } = await engine.view(spaceId, doc.oid, { offset: 0, limit: 50, user: "ana" });
 */
export async function view(core: Core, spaceId: string, rootOid: string, options: ViewOptions = {}): Promise<View> {
  const offset = checkOffset(options.offset);
  const limit = checkLimit(options.limit, 50, 10_000);
  const tree = await openTree(core, spaceId, rootOid, options);
  return { total: tree.total, rows: offset >= tree.total ? [] : await window(tree, offset, limit) };
}

/**
 * The row index of `oid` in the view, or -1 when it is not in that version or is hidden under a
 * folded ascendant.
 */
export async function rowIndex(core: Core, spaceId: string, rootOid: string, oid: string, options: ViewOptions = {}): Promise<number> {
  oid = checkId("oid", oid);
  const tree = await openTree(core, spaceId, rootOid, options);
  const found = (await locate(tree, [oid])).get(oid);
  if (!found) return -1;
  if (found.path.slice(0, -1).some((step) => tree.vis.folded.has(step.oid)) || found.path.some((step) => tree.hiddenHere.has(step.oid))) return -1;
  const parents = [tree.root.oid, ...found.path.slice(0, -1).map((s) => s.oid)];
  const seqs = new Map<string, number>([[tree.root.oid, tree.root.seq], ...found.path.map((p) => [p.oid, p.seq] as const)]);
  const rows = await loadVersions(tree.cache, tree.q, tree.spaceId, parents.map((p) => [p, seqs.get(p)!] as const));
  let index = found.path.length - 1; // each ascendant row comes before it
  for (let i = 0; i < found.path.length; i++) {
    const parent = rows.get(`${parents[i]}|${seqs.get(parents[i]!)}`)!;
    const pos = found.path[i]!.pos;
    index += (await rowsBefore(parent.kids, pos, tree.loader)) - hiddenBefore(tree.vis, parents[i]!, pos);
  }
  return index;
}

/** The offset of a `limit`-row window that shows `oid` near its middle, or -1 if it is not visible. */
export async function scrollTo(
  core: Core,
  spaceId: string,
  rootOid: string,
  oid: string,
  limit: number,
  options: ViewOptions = {},
): Promise<number> {
  limit = checkLimit(limit, 50, 10_000);
  const index = await rowIndex(core, spaceId, rootOid, oid, options);
  if (index < 0) return -1;
  const { total } = await openTree(core, spaceId, rootOid, options);
  return Math.max(0, Math.min(index - Math.floor(limit / 2), total - limit));
}
