import { LoroDoc, type LoroTree, type LoroTreeNode, type TreeID } from "loro-crdt";
import type { Edit } from "../workload/history.js";

/**
 * An outline in one Loro document as every benchmark builds it: a movable tree (peer 1), each
 * node's content and props in its data map, our ids mapped to Loro's.
 */
export interface LoroOutline {
  readonly doc: LoroDoc;
  readonly tree: LoroTree;
  /** Loro's node id of each of our ids. */
  readonly ids: Map<string, TreeID>;
  /** Creates a node under `parent` (a root when null), at `index` (last when omitted). */
  create(id: string, parent: string | null, content: string, props: Readonly<Record<string, unknown>>, index?: number): LoroTreeNode;
  /** Makes one edit of the history generator (without committing). */
  apply(e: Edit): void;
}

/** A fresh document to build an outline in. */
export function loroOutline(): LoroOutline {
  const doc = new LoroDoc();
  doc.setPeerId("1");
  const tree = doc.getTree("outline");
  const ids = new Map<string, TreeID>();
  const create: LoroOutline["create"] = (id, parent, content, props, index) => {
    const n = parent === null ? tree.createNode() : tree.createNode(ids.get(parent)!, index);
    ids.set(id, n.id);
    n.data.set("content", content);
    for (const [k, v] of Object.entries(props)) n.data.set(k, v as never);
    return n;
  };
  return {
    doc,
    tree,
    ids,
    create,
    apply(e) {
      if (e.kind === "update") tree.getNodeByID(ids.get(e.id)!)!.data.set("content", e.content);
      else if (e.kind === "create") create(e.id, e.parent, e.content, e.props, e.index);
      else if (e.kind === "move") tree.move(ids.get(e.id)!, ids.get(e.parent)!, e.index);
      else tree.delete(ids.get(e.id)!);
    },
  };
}
