import type { TreeInput } from "../../index.js";
import type { FlatRow } from "../workload/tree-model.js";

/** Options of {@link importCalls}. */
export interface ImportCallOptions {
  /** Objectives that exist already: a top-level row under anything else is an error (rows out of order). */
  readonly known?: ReadonlySet<string>;
  /** Most top-level rows per call. Default: no limit. */
  readonly maxTops?: number;
}

/**
 * Groups a depth-first run of rows into `importTree` calls: one per run of top-level rows sharing
 * a parent that exists already (each with its subtree).
 */
export function importCalls(rows: readonly FlatRow[], options: ImportCallOptions = {}): { parentOid: string; nodes: TreeInput[] }[] {
  const out: { parentOid: string; nodes: TreeInput[] }[] = [];
  const made = new Map<string, { children: TreeInput[] }>();
  const maxTops = options.maxTops ?? Infinity;
  for (const [id, parent, content, props] of rows) {
    const node = { oid: id, content, props, children: [] as TreeInput[] };
    made.set(id, node);
    const up = parent === null ? undefined : made.get(parent);
    if (up) up.children.push(node);
    else {
      if (options.known && !options.known.has(parent!)) throw new Error(`row ${id} comes before its parent ${parent}`);
      const last = out[out.length - 1];
      if (last && last.parentOid === parent && last.nodes.length < maxTops) last.nodes.push(node);
      else out.push({ parentOid: parent!, nodes: [node] });
    }
  }
  return out;
}
