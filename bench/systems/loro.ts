import { LoroDoc, type Frontiers, type LoroTree, type TreeID } from "loro-crdt";
import type { Edit } from "../workload/history.js";
import type { Outline } from "../workload/outline.js";
import type { System } from "./system.js";

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
  const doc = new LoroDoc();
  doc.setPeerId("1");
  const tree = doc.getTree("outline");
  const tid = new Map<string, TreeID>();
  let root: TreeID | undefined;
  let saved: Uint8Array | undefined;
  let lastOld: { at: Frontiers; doc: LoroDoc } | undefined;
  const node = (id: string) => tree.getNodeByID(tid.get(id)!)!;
  const create = (id: string, parent: string | null, content: string, props: Record<string, unknown>, index?: number) => {
    const n = parent === null ? tree.createNode() : tree.createNode(tid.get(parent)!, index);
    tid.set(id, n.id);
    n.data.set("content", content);
    for (const [k, v] of Object.entries(props)) n.data.set(k, v as never);
    return n;
  };

  return {
    name: "loro",
    notes: ["checkout = whole-document checkout(frontiers), detached; editable again = revertTo(frontiers) (whole document) + one edit"],
    async load(outline: Outline) {
      for (const [id, parent, content, props] of outline.rows) create(id, parent, content, props);
      root = tid.get(outline.rootId);
      doc.commit();
    },
    async apply(e: Edit) {
      if (e.kind === "update") node(e.id).data.set("content", e.content);
      else if (e.kind === "create") create(e.id, e.parent, e.content, e.props, e.index);
      else if (e.kind === "move") tree.move(tid.get(e.id)!, tid.get(e.parent)!, e.index);
      else tree.delete(tid.get(e.id)!);
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
