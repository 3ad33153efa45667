import type { ChunkRef, Entry } from "../engine/children-tree.js";
import type { Located } from "./locate.js";

/**
 * Visible row counts under a set of folded objectives. Stored counts include everything; a
 * folded objective hides `rows - 1` rows from each of its ascendants. Only the few ascendants of
 * folded objectives differ from the stored counts, so they are kept in small maps.
 */
export interface Visibility {
  readonly folded: ReadonlySet<string>;
  /** Rows hidden inside each ascendant of a folded objective. */
  readonly hiddenBelow: ReadonlyMap<string, number>;
  /** Per parent: its children that hide rows (or are folded), by position, with rows hidden. */
  readonly hot: ReadonlyMap<string, readonly { readonly pos: string; readonly delta: number }[]>;
}

/** Builds the visibility of a tree from its located folded objectives (outermost folds count). */
export function visibility(rootOid: string, folded: ReadonlyMap<string, Located>): Visibility {
  const hiddenBelow = new Map<string, number>();
  const hot = new Map<string, Map<string, number>>();
  for (const f of folded.values()) {
    if (f.path.slice(0, -1).some((step) => folded.has(step.oid))) continue; // inside another fold
    const delta = f.rows - 1;
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
  const sorted = new Map(
    [...hot].map(([p, m]) => [p, [...m].map(([pos, delta]) => ({ pos, delta })).sort((a, b) => (a.pos < b.pos ? -1 : 1))]),
  );
  return { folded: new Set(folded.keys()), hiddenBelow, hot: sorted };
}

/** Visible rows of a child link: 1 when folded, else its rows minus what folds below hide. */
export function visibleEntry(v: Visibility, e: Entry): number {
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
