import { LoroDoc, type Frontiers, type LoroTree, type TreeID } from "loro-crdt";
import type { Edit } from "../workload/history.js";
import type { Outline } from "../workload/outline.js";
import type { System } from "./system.js";
import { loroOutline } from "../lib/loro-outline.js";

/** Rows `[offset, offset + limit)` of the depth-first view below `root`, walking the tree from the top. */
function loroWindow(tree: LoroTree, root: TreeID, offset: number, limit: number): number {
  const stack = [...(tree.getNodeByID(root)!.children() ?? [])].reverse();
  let row = 0;
  let out = 0;
  while (stack.length && out < limit) {
    const node = stack.pop()!;
    if (row++ >= offset) {
      node.data.get("content");
      out++;
    }
    const kids = node.children();
    if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return out;
}

/**
 * Loro (`loro-crdt`): one movable tree container; each objective's content and props in its data
 * map; one commit per edit. Checkout and revert are whole-document (Loro has no subtree checkout).
 */
export async function loroSystem(): Promise<System> {
  const { doc, tree, ids: tid, create, apply } = loroOutline();
  let root: TreeID | undefined;
  let saved: Uint8Array | undefined;
  let lastOld: { at: Frontiers; doc: LoroDoc } | undefined;
  const node = (id: string) => tree.getNodeByID(tid.get(id)!)!;

  return {
    name: "loro",
    notes: ["checkout = whole-document checkout(frontiers), detached; editable again = revertTo(frontiers) (whole document) + one edit"],
    async load(outline: Outline) {
      for (const [id, parent, content, props] of outline.rows) create(id, parent, content, props);
      root = tid.get(outline.rootId);
      doc.commit();
    },
    async apply(e: Edit) {
      apply(e);
      doc.commit();
    },
    async mark() {
      return doc.frontiers();
    },
    async checkout(_target, to) {
      doc.checkout(to as Frontiers);
    },
    async leaveCheckout() {
      doc.checkoutToLatest();
    },
    async restore(target, to) {
      doc.revertTo(to as Frontiers);
      node(target).data.set("content", "edited after checkout");
      doc.commit();
    },
    async diff(from, to) {
      let n = 0;
      for (const [, d] of doc.diff(from as Frontiers, to as Frontiers, false)) n += d.type === "tree" ? d.diff.length : 1;
      return n;
    },
    async edit(id, content) {
      node(id).data.set("content", content);
      doc.commit();
    },
    async writeCost(fn) {
      const before = doc.oplogVersion();
      await fn();
      return { rows: 1, bytes: doc.export({ mode: "update", from: before }).length };
    },
    async view(offset, limit, at, cold) {
      if (at === null) {
        if (!cold) return loroWindow(tree, root!, offset, limit);
        saved ??= doc.export({ mode: "snapshot" });
        return loroWindow(LoroDoc.fromSnapshot(saved).getTree("outline"), root!, offset, limit);
      }
      let old = lastOld;
      if (cold || !old || old.at !== at) {
        saved ??= doc.export({ mode: "snapshot" });
        const d = LoroDoc.fromSnapshot(saved);
        d.checkout(at as Frontiers);
        old = lastOld = { at: at as Frontiers, doc: d };
      }
      return loroWindow(old.doc.getTree("outline"), root!, offset, limit);
    },
    async storageBytes() {
      return doc.export({ mode: "snapshot" }).length;
    },
    async close() {
      doc.free();
    },
  };
}
