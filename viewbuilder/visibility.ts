import type { ChunkRef, Entry } from "../engine/children-tree.js";
import type { Located } from "./locate.js";

/**
 * Visible row counts under a set of folded objectives and a set of hidden ones. Stored counts
 * include everything; a folded objective hides `rows - 1` rows from each of its ascendants, a
 * hidden one (left out with its subtree, as a reader's `none` entry asks) all its `rows`. Only the
 * few ascendants of those differ from the stored counts, so they are kept in small maps.
 */
export interface Visibility {
  readonly folded: ReadonlySet<string>;
  /** Objectives left out with their subtrees (outermost ones only). */
  readonly hidden: ReadonlySet<string>;
  /** Rows hidden inside each ascendant of a folded or hidden objective. */
  readonly hiddenBelow: ReadonlyMap<string, number>;
  /** Per parent: its children that hide rows (or are folded), by position, with rows hidden. */
  readonly hot: ReadonlyMap<string, readonly { readonly pos: string; readonly delta: number }[]>;
  /** Per ascendant of a hidden objective (the root included): the hidden objectives below it. */
  readonly strip: ReadonlyMap<string, readonly string[]>;
}

/** Builds the visibility of a tree from its located folded and hidden objectives (outermost ones count). */
export function visibility(rootOid: string, folded: ReadonlyMap<string, Located>, hidden: ReadonlyMap<string, Located> = new Map()): Visibility {
  const hiddenBelow = new Map<string, number>();
  const hot = new Map<string, Map<string, number>>();
  const strip = new Map<string, string[]>();
  const inside = (f: Located) => f.path.slice(0, -1).some((step) => folded.has(step.oid) || hidden.has(step.oid));
  const outerHidden = new Set<string>();
  for (const [f, gone] of [...[...folded.values()].map((f) => [f, false] as const), ...[...hidden.values()].map((f) => [f, true] as const)]) {
    if (inside(f) || (!gone && hidden.has(f.oid))) continue; // inside another fold, or hidden anyway
    if (gone) outerHidden.add(f.oid);
    const delta = gone ? f.rows : f.rows - 1;
    if (delta === 0) continue;
    f.path.forEach((step, i) => {
      const parent = i === 0 ? rootOid : f.path[i - 1]!.oid;
      const byPos = hot.get(parent) ?? new Map<string, number>();
      hot.set(parent, byPos);
      byPos.set(step.pos, (byPos.get(step.pos) ?? 0) + delta);
      if (step.oid !== f.oid) hiddenBelow.set(step.oid, (hiddenBelow.get(step.oid) ?? 0) + delta);
    });
    hiddenBelow.set(rootOid, (hiddenBelow.get(rootOid) ?? 0) + delta);
  }
  // Statistics leave out every outermost hidden subtree, folded away or not (a folded row's
  // statistics count its subtree).
  for (const h of hidden.values()) {
    if (h.path.slice(0, -1).some((step) => hidden.has(step.oid))) continue;
    for (const above of [rootOid, ...h.path.slice(0, -1).map((step) => step.oid)]) strip.set(above, [...(strip.get(above) ?? []), h.oid]);
  }
  const sorted = new Map(
    [...hot].map(([p, m]) => [p, [...m].map(([pos, delta]) => ({ pos, delta })).sort((a, b) => (a.pos < b.pos ? -1 : 1))]),
  );
  return { folded: new Set([...folded.keys()].filter((o) => !hidden.has(o))), hidden: outerHidden, hiddenBelow, hot: sorted, strip };
}

/** Visible rows of a child link: none when hidden, 1 when folded, else its rows minus what is hidden below. */
export function visibleEntry(v: Visibility, e: Entry): number {
  if (v.hidden.has(e[0])) return 0;
  return v.folded.has(e[0]) ? 1 : e[3] - (v.hiddenBelow.get(e[0]) ?? 0);
}

/** Visible rows of the k-th chunk of a parent's inner node. */
export function visibleRef(v: Visibility, parent: string, refs: readonly ChunkRef[], k: number): number {
  const ref = refs[k]!;
  const hot = v.hot.get(parent);
  if (!hot) return ref[3];
  const lo = k === 0 ? "" : ref[1];
  const hi = refs[k + 1]?.[1];
  let hidden = 0;
  for (const h of hot) if (h.pos >= lo && (hi === undefined || h.pos < hi)) hidden += h.delta;
  return ref[3] - hidden;
}

/** Visible rows hidden among a parent's children before `pos`. */
export function hiddenBefore(v: Visibility, parent: string, pos: string): number {
  let hidden = 0;
  for (const h of v.hot.get(parent) ?? []) if (h.pos < pos) hidden += h.delta;
  return hidden;
}
