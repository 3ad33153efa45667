import type { Stats, VersionRow } from "./types.js";

/** Statistics of a leaf. */
export const ZERO_STATS: Stats = Object.freeze({ descendants: 0, total: 0, done: 0, percent: 0 });

/** What one child version adds to its parent's statistics: itself and its subtree. */
export function contribution(child: Pick<VersionRow, "stats" | "props">): Omit<Stats, "percent"> {
  const done = child.props["done"];
  return {
    descendants: 1 + child.stats.descendants,
    total: child.stats.total + (typeof done === "boolean" ? 1 : 0),
    done: child.stats.done + (done === true ? 1 : 0),
  };
}

/** Percentage with two decimals. */
export function percent(done: number, total: number): number {
  return total === 0 ? 0 : Math.round((done * 10000) / total) / 100;
}

/**
 * A parent's new statistics from its old ones and the child versions it drops and gains: O(1) per
 * changed link, no sibling read (the promotion path stays O(depth)).
 */
export function adjustStats(
  base: Stats,
  removed: readonly Pick<VersionRow, "stats" | "props">[],
  added: readonly Pick<VersionRow, "stats" | "props">[],
): Stats {
  let { descendants, total, done } = base;
  for (const child of removed) {
    const c = contribution(child);
    descendants -= c.descendants;
    total -= c.total;
    done -= c.done;
  }
  for (const child of added) {
    const c = contribution(child);
    descendants += c.descendants;
    total += c.total;
    done += c.done;
  }
  return { descendants, total, done, percent: percent(done, total) };
}
