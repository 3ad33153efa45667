import type { Props } from "../../index.js";
import { below, lcg, type Rand } from "../lib/rng.js";
import type { FlatRow } from "./tree-model.js";

/** The outline shapes of issue 5. */
export const SHAPES = ["balanced", "deep", "wide", "realistic"] as const;
export type Shape = (typeof SHAPES)[number];

/** A generated outline: flat rows in depth-first order (root first), plus the named objectives the measures use. */
export interface Outline {
  readonly shape: Shape;
  readonly size: number;
  readonly rootId: string;
  readonly rows: FlatRow[];
  /** The probe chain: `probe[d]` is an objective at depth d below the root (d = 1..21). */
  readonly probe: string[];
  /** The largest child of the root: the subtree every system checks out. */
  readonly checkoutTarget: string;
  readonly checkoutTargetSize: number;
}

/** Depth of the probe chain (edits are measured at depth 5, 10, 20). */
export const PROBE_DEPTH = 21;

/** A deterministic UUID (v7-shaped) for the i-th objective of a workload. */
export function idOf(seed: number, i: number): string {
  const hex = i.toString(16).padStart(12, "0");
  const s = (seed & 0xffff).toString(16).padStart(4, "0");
  return `0190${s}-0000-7000-8000-${hex}`;
}

interface Builder {
  readonly rows: FlatRow[];
  readonly rand: Rand;
  readonly seed: number;
  add(parent: string, label: string): string;
}

function builder(seed: number): Builder {
  const rows: FlatRow[] = [];
  const rand = lcg(seed);
  return {
    rows,
    rand,
    seed,
    add(parent, label) {
      const id = idOf(seed, rows.length);
      const props: Props = rand() < 0.4 ? { done: rand() < 0.5 } : {};
      rows.push([id, parent, `${label} ${"lorem ipsum ".repeat(1 + below(rand, 3))}`, props]);
      return id;
    },
  };
}

/**
 * Appends `n` objectives under `parent` as a complete fanout-`fan` tree, depth-first.
 * Level sizes are fixed first so the depth-first order can be produced in one recursion.
 */
function balanced(b: Builder, parent: string, n: number, fan: number, label: string): void {
  // Sizes of a complete tree with n nodes, as subtree sizes per level: distribute breadth-first.
  const counts: number[] = [];
  let left = n;
  for (let level = fan; left > 0; level *= fan) {
    counts.push(Math.min(level, left));
    left -= Math.min(level, left);
  }
  // Each node at level k gets its share of level k+1, contiguous, like a heap.
  const grow = (at: string, level: number, index: number, path: string) => {
    const next = counts[level + 1] ?? 0;
    for (let c = index * fan; c < Math.min(next, (index + 1) * fan); c++) {
      const id = b.add(at, `${label} ${path}.${c - index * fan}`);
      grow(id, level + 1, c, `${path}.${c - index * fan}`);
    }
  };
  const top = counts[0] ?? 0;
  for (let i = 0; i < top; i++) {
    const id = b.add(parent, `${label} ${i}`);
    grow(id, 0, i, String(i));
  }
}

/** Ten spines 50 deep; every spine node carries leaves so that ~n objectives hang off `parent`. */
function deep(b: Builder, parent: string, n: number): void {
  const spines = 10;
  const perLevel = Math.max(1, Math.floor(n / (spines * 50)));
  let left = n;
  for (let s = 0; s < spines && left > 0; s++) {
    let at = parent;
    for (let d = 0; d < 50 && left > 0; d++) {
      at = b.add(at, `spine ${s} level ${d}`);
      left--;
      for (let l = 1; l < perLevel && left > 0; l++, left--) b.add(at, `leaf ${s}.${d}.${l}`);
    }
  }
  if (left > 0) balanced(b, parent, left, 10, "rest");
}

/** One parent with up to 10,000 children; the rest balanced. */
function wide(b: Builder, parent: string, n: number): void {
  const inbox = b.add(parent, "inbox");
  const kids = Math.min(10_000, n - 1);
  for (let i = 0; i < kids; i++) b.add(inbox, `inbox item ${i}`);
  if (n - 1 - kids > 0) balanced(b, parent, n - 1 - kids, 10, "filler");
}

/** Headings, items with notes and tasks, mixed fanout 1–30, depth ≤ 9 (as bench/view.ts). */
function realistic(b: Builder, parent: string, n: number): void {
  let left = n;
  const grow = (at: string, depth: number, label: string) => {
    const fan = depth === 0 ? 30 : Math.max(1, below(b.rand, depth < 3 ? 12 : 4));
    for (let i = 0; i < fan && left > 0; i++) {
      left--;
      const id = b.add(at, `${label}.${i}`);
      if (depth < 8 && b.rand() < 0.6) grow(id, depth + 1, `${label}.${i}`);
    }
  };
  for (let part = 0; left > 0; part++) {
    const section = b.add(parent, `part ${part}`);
    left--;
    const size = Math.min(left, Math.max(1000, Math.floor(n / 8)));
    const stop = left - size;
    while (left > stop) grow(section, 0, `part ${part}`);
  }
}

/** The probe chain: 21 levels under the root, each with 9 leaf siblings (210 objectives). */
function probe(b: Builder, root: string): string[] {
  const out: string[] = [root];
  let at = root;
  for (let d = 1; d <= PROBE_DEPTH; d++) {
    at = b.add(at, `probe level ${d}`);
    out.push(at);
    if (d < PROBE_DEPTH) for (let i = 0; i < 9; i++) b.add(at, `probe sibling ${d}.${i}`);
  }
  return out;
}

function largestChild(rows: readonly FlatRow[], rootId: string, skip: string): { id: string; size: number } {
  const size = new Map<string, number>();
  for (let i = rows.length - 1; i > 0; i--) {
    const [id, parent] = rows[i]!;
    const s = (size.get(id) ?? 0) + 1;
    size.set(id, s);
    if (parent !== null) size.set(parent, (size.get(parent) ?? 0) + s);
  }
  let best = { id: "", size: -1 };
  for (const [id, parent] of rows) if (parent === rootId && id !== skip && size.get(id)! > best.size) best = { id, size: size.get(id)! };
  return best;
}

/** Generates the outline of a shape with about `size` objectives (probe chain included). */
export function generateOutline(shape: Shape, size: number, seed: number): Outline {
  const b = builder(seed);
  const rootId = idOf(seed, 0);
  b.rows.push([rootId, null, `${shape} ${size}`, {}]);
  const chain = probe(b, rootId);
  const n = Math.max(10, size - b.rows.length);
  if (shape === "balanced") balanced(b, rootId, n, 10, "node");
  else if (shape === "deep") deep(b, rootId, n);
  else if (shape === "wide") wide(b, rootId, n);
  else realistic(b, rootId, n);
  const target = largestChild(b.rows, rootId, chain[1]!);
  return { shape, size: b.rows.length, rootId, rows: b.rows, probe: chain, checkoutTarget: target.id, checkoutTargetSize: target.size };
}
