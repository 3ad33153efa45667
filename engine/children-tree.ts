/**
 * The children list of a version, as a persistent counted B+tree ordered by position keys.
 *
 * A version record holds the root node inline; every other node is an immutable, content-addressed
 * `link` row ("chunk") shared by all versions that contain it. Changing one child rewrites one leaf
 * and its inner ancestors: O(log fanout) chunks, never the whole list (DESIGN.md §2). Inner refs
 * carry child and row counts, so the view builder skips whole chunks by row count.
 */
import { chunkBytes, chunkIdOf } from "./format/chunk.js";

/**
 * A link to a child version: `[oid, seq, pos, rows]`. `seq` is the local seq of the op that made
 * the child's version (its storage key, engine/format/), rows = 1 + the child's descendants.
 */
export type Entry = readonly [oid: string, seq: number, pos: string, rows: number];
/** A link to a chunk: `[chunkId, lowest pos, children count, rows]`. */
export type ChunkRef = readonly [id: string, lo: string, count: number, rows: number];
/** A tree node: a leaf of entries or an inner node of chunk refs. */
export type KidsNode = { readonly l: readonly Entry[] } | { readonly i: readonly ChunkRef[] };

/** Reads chunks (batched, cached) by id. */
export interface ChunkLoader {
  getMany(ids: readonly string[]): Promise<KidsNode[]>;
}

/** Collects the chunks an edit creates; returns each one's content id. */
export interface ChunkSink {
  put(node: KidsNode): string;
}

/** Most links in a node before it splits. */
export const MAX_LINKS = 64;
/** Fewest links before a non-root node merges with a neighbour. */
export const MIN_LINKS = 16;

/** The empty children list. */
export const EMPTY: KidsNode = Object.freeze({ l: Object.freeze([]) as readonly Entry[] });

/** Content id of a chunk: equal chunks share one row. */
export function chunkId(node: KidsNode): string {
  return chunkIdOf(chunkBytes(node));
}

/** Number of children. */
export function countOf(node: KidsNode): number {
  if ("l" in node) return node.l.length;
  let n = 0;
  for (const r of node.i) n += r[2];
  return n;
}

/** Rows below: the sum of the children's subtree sizes. */
export function rowsOf(node: KidsNode): number {
  let n = 0;
  if ("l" in node) for (const e of node.l) n += e[3];
  else for (const r of node.i) n += r[3];
  return n;
}

function lowOf(node: KidsNode): string {
  return "l" in node ? (node.l[0]?.[2] ?? "") : (node.i[0]?.[1] ?? "");
}

function sizeOf(node: KidsNode): number {
  return "l" in node ? node.l.length : node.i.length;
}

/** Stores a node as a chunk and returns the ref its parent node holds. */
export function refOf(node: KidsNode, sink: ChunkSink): ChunkRef {
  return [sink.put(node), lowOf(node), countOf(node), rowsOf(node)];
}

async function load(loader: ChunkLoader, id: string): Promise<KidsNode> {
  const [node] = await loader.getMany([id]);
  return node!;
}

/** First index whose pos is >= `pos` (entries are sorted by pos). */
function lowerBound(entries: readonly Entry[], pos: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]![2] < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the child ref whose range holds `pos`: the last with lo <= pos, else the first. */
function refFor(refs: readonly ChunkRef[], pos: string): number {
  let lo = 0;
  let hi = refs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (refs[mid]![1] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function split<T>(items: readonly T[]): T[][] {
  if (items.length <= MAX_LINKS) return [items.slice()];
  const parts = Math.ceil(items.length / MAX_LINKS);
  const size = Math.ceil(items.length / parts);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function make(kind: "l" | "i", items: readonly unknown[]): KidsNode {
  return kind === "l" ? { l: items as Entry[] } : { i: items as ChunkRef[] };
}

async function editNode(
  node: KidsNode,
  pos: string,
  entry: Entry | null,
  loader: ChunkLoader,
  sink: ChunkSink,
): Promise<KidsNode[]> {
  if ("l" in node) {
    const entries = spliceLinks(node.l, pos, entry);
    return split(entries).map((part) => make("l", part));
  }
  const refs = node.i.slice();
  const at = refFor(refs, pos);
  const child = await load(loader, refs[at]![0]);
  let replaced = (await editNode(child, pos, entry, loader, sink)).filter((n) => sizeOf(n) > 0);
  let from = at;
  let remove = 1;
  if (replaced.length === 1 && sizeOf(replaced[0]!) < MIN_LINKS && refs.length > 1) {
    // Merge an underfull node into a neighbour so the tree stays O(log fanout) deep.
    const other = at + 1 < refs.length ? at + 1 : at - 1;
    const neighbour = await load(loader, refs[other]![0]);
    const kind = "l" in neighbour ? "l" : "i";
    const mine = replaced[0]!;
    const a = "l" in mine ? mine.l : mine.i;
    const b = "l" in neighbour ? neighbour.l : neighbour.i;
    const merged: unknown[] = other > at ? [...a, ...b] : [...b, ...a];
    replaced = split(merged).map((part) => make(kind, part));
    from = Math.min(at, other);
    remove = 2;
  }
  refs.splice(from, remove, ...replaced.map((n) => refOf(n, sink)));
  return split(refs).map((part) => make("i", part));
}

/**
 * Puts (`entry`) or deletes (`null`) the link at `pos` and returns the new inline root; new chunks
 * go to `sink`. An entry whose pos exists replaces it.
 */
export async function editChildren(
  root: KidsNode,
  pos: string,
  entry: Entry | null,
  loader: ChunkLoader,
  sink: ChunkSink,
): Promise<KidsNode> {
  const nodes = (await editNode(root, pos, entry, loader, sink)).filter((n) => sizeOf(n) > 0);
  if (nodes.length === 0) return EMPTY;
  if (nodes.length > 1) return { i: nodes.map((n) => refOf(n, sink)) };
  let top = nodes[0]!;
  while ("i" in top && top.i.length === 1) top = await load(loader, top.i[0]![0]);
  return top;
}

/** The link at `pos` of a leaf root and its index (no chunk to read: no await). */
export function findInLeaf(node: { readonly l: readonly Entry[] }, pos: string): { entry: Entry; index: number } | undefined {
  const at = lowerBound(node.l, pos);
  const entry = node.l[at];
  return entry && entry[2] === pos ? { entry, index: at } : undefined;
}

/** A leaf's links with the one at `pos` replaced, inserted or (entry null) removed, in key order. */
function spliceLinks(links: readonly Entry[], pos: string, entry: Entry | null): Entry[] {
  const entries = links.slice();
  const at = lowerBound(entries, pos);
  const hit = entries[at]?.[2] === pos;
  if (entry === null) {
    if (!hit) throw new Error(`children tree: no link at pos ${pos}`);
    entries.splice(at, 1);
  } else if (hit) entries[at] = entry;
  else entries.splice(at, 0, entry);
  return entries;
}

/**
 * `editChildren` of a leaf root that stays one leaf (no chunk to read or write: no await), or
 * undefined when the edit splits it.
 */
export function editLeaf(node: { readonly l: readonly Entry[] }, pos: string, entry: Entry | null): KidsNode | undefined {
  const entries = spliceLinks(node.l, pos, entry);
  if (entries.length > MAX_LINKS) return undefined;
  return entries.length === 0 ? EMPTY : { l: entries };
}

/** The link at `pos` and its index, or undefined. */
export async function findChild(
  root: KidsNode,
  pos: string,
  loader: ChunkLoader,
): Promise<{ entry: Entry; index: number } | undefined> {
  let node = root;
  let base = 0;
  while ("i" in node) {
    const at = refFor(node.i, pos);
    for (let k = 0; k < at; k++) base += node.i[k]![2];
    node = await load(loader, node.i[at]![0]);
  }
  const at = lowerBound(node.l, pos);
  const entry = node.l[at];
  return entry && entry[2] === pos ? { entry, index: base + at } : undefined;
}

/** The links at indexes `[offset, offset + limit)`, reading only the chunks that hold them. */
export async function sliceChildren(
  root: KidsNode,
  offset: number,
  limit: number,
  loader: ChunkLoader,
): Promise<Entry[]> {
  const out: Entry[] = [];
  // Breadth-first, one batched read per level.
  let level: { node: KidsNode; start: number }[] = [{ node: root, start: 0 }];
  const end = offset + limit;
  while (level.length > 0) {
    const want: { id: string; start: number }[] = [];
    for (const { node, start } of level) {
      if ("l" in node) {
        node.l.forEach((e, k) => {
          if (start + k >= offset && start + k < end) out.push(e);
        });
        continue;
      }
      let s = start;
      for (const r of node.i) {
        if (s < end && s + r[2] > offset) want.push({ id: r[0], start: s });
        s += r[2];
      }
    }
    if (want.length === 0) break;
    const nodes = await loader.getMany(want.map((w) => w.id));
    level = nodes.map((node, k) => ({ node, start: want[k]!.start }));
  }
  return out;
}

/** Every link, in order. */
export function allChildren(root: KidsNode, loader: ChunkLoader): Promise<Entry[]> {
  return sliceChildren(root, 0, countOf(root), loader);
}

/**
 * The links only in `a` and only in `b`. Chunks with equal ids are equal and skipped unread, so
 * a change among 10,000 children costs O(log fanout) chunk reads.
 */
export async function diffChildren(
  a: KidsNode,
  b: KidsNode,
  loader: ChunkLoader,
): Promise<{ onlyA: Entry[]; onlyB: Entry[] }> {
  const entriesA = new Map<string, Entry>();
  const entriesB = new Map<string, Entry>();
  let nodesA = [a];
  let nodesB = [b];
  while (nodesA.length + nodesB.length > 0) {
    const idsA = new Set<string>();
    const idsB = new Set<string>();
    for (const n of nodesA) {
      if ("l" in n) for (const e of n.l) entriesA.set(e.join("\u0000"), e);
      else for (const r of n.i) idsA.add(r[0]);
    }
    for (const n of nodesB) {
      if ("l" in n) for (const e of n.l) entriesB.set(e.join("\u0000"), e);
      else for (const r of n.i) idsB.add(r[0]);
    }
    for (const id of idsA) {
      if (idsB.delete(id)) idsA.delete(id);
    }
    const both = await loader.getMany([...idsA, ...idsB]);
    nodesA = both.slice(0, idsA.size);
    nodesB = both.slice(idsA.size);
  }
  const onlyA: Entry[] = [];
  for (const [key, e] of entriesA) if (!entriesB.delete(key)) onlyA.push(e);
  return { onlyA, onlyB: [...entriesB.values()] };
}

/** Rows (subtree sizes summed) of the links before `pos`: the skip count of everything before it. */
export async function rowsBefore(root: KidsNode, pos: string, loader: ChunkLoader): Promise<number> {
  let node = root;
  let sum = 0;
  while ("i" in node) {
    const at = refFor(node.i, pos);
    for (let k = 0; k < at; k++) sum += node.i[k]![3];
    node = await load(loader, node.i[at]![0]);
  }
  for (const e of node.l) {
    if (e[2] >= pos) break;
    sum += e[3];
  }
  return sum;
}

/**
 * Deletes from `fresh` the chunks no root reaches. A write puts every intermediate node its edits
 * build into the sink, and many edits under one parent in one write (a batch of inserts, an import
 * appending thousands of children) leave most of them superseded: only reachable ones get a row.
 * Refs to chunks not in `fresh` are stored already, so the walk stops there.
 */
export function keepReachable(fresh: Map<string, KidsNode>, roots: Iterable<KidsNode>): void {
  if (fresh.size === 0) return;
  const reached = new Set<string>();
  const stack: KidsNode[] = [...roots];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if ("l" in node) continue;
    for (const [id] of node.i) {
      const child = fresh.get(id);
      if (child && !reached.has(id)) {
        reached.add(id);
        stack.push(child);
      }
    }
  }
  for (const id of fresh.keys()) if (!reached.has(id)) fresh.delete(id);
}
