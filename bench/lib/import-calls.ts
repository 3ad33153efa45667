import type { TreeInput } from "../../index.js";
import type { FlatRow } from "../workload/tree-model.js";

/** Rows in import calls: runs of top-level rows sharing a parent that exists already. */
export function importCalls(rows: readonly FlatRow[], known: Set<string>): { parentOid: string; nodes: TreeInput[] }[] {
  const out: { parentOid: string; nodes: TreeInput[] }[] = [];
  const made = new Map<string, { children: TreeInput[] }>();
  for (const [id, parent, content, props] of rows) {
    const node = { oid: id, content, props, children: [] as TreeInput[] };
    made.set(id, node);
    const up = made.get(parent!);
    if (up) up.children.push(node);
    else {
      if (!known.has(parent!)) throw new Error(`row ${id} comes before its parent ${parent}`);
      const last = out[out.length - 1];
      if (last && last.parentOid === parent && last.nodes.length < 200) last.nodes.push(node);
      else out.push({ parentOid: parent!, nodes: [node] });
    }
  }
  return out;
}
