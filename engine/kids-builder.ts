import { EMPTY, MAX_LINKS, refOf, type ChunkRef, type ChunkSink, type Entry, type KidsNode } from "./children-tree.js";

/** Builds a children tree from links appended in position order (see `kidsBuilder`). */
export interface KidsBuilder {
  /** Appends the link of the next child (positions must increase). */
  push(entry: Entry): void;
  /** The finished tree; the builder is spent. */
  finish(): KidsNode;
}

/**
 * Builds a children tree bottom-up from links appended in order, as an import streams them: full
 * chunks of `MAX_LINKS`, no splitting work, and memory of one partial node per level (a million
 * children hold ~64 × log64(n) links in memory, not a million). The result is the tree a bulk
 * build of all links at once would give: each level is cut into runs of `MAX_LINKS` from the left.
 */
export function kidsBuilder(sink: ChunkSink): KidsBuilder {
  // levels[0] holds links, levels[k > 0] refs to full nodes of level k - 1.
  const levels: (Entry | ChunkRef)[][] = [[]];
  const nodeOf = (level: number, items: (Entry | ChunkRef)[]): KidsNode =>
    level === 0 ? { l: items as Entry[] } : { i: items as ChunkRef[] };
  const add = (level: number, item: Entry | ChunkRef): void => {
    const items = (levels[level] ??= []);
    if (items.length === MAX_LINKS) {
      // Only a further item proves the node full and not the last one: cut it now.
      add(level + 1, refOf(nodeOf(level, items), sink));
      levels[level] = [item];
    } else items.push(item);
  };
  return {
    push: (entry) => add(0, entry),
    finish() {
      if (levels.length === 1) return levels[0]!.length === 0 ? EMPTY : { l: levels[0] as Entry[] };
      for (let k = 0; k < levels.length - 1; k++) {
        const items = levels[k]!;
        if (items.length > 0) add(k + 1, refOf(nodeOf(k, items), sink));
        levels[k] = [];
      }
      return nodeOf(levels.length - 1, levels[levels.length - 1]!);
    },
  };
}
