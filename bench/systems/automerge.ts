import * as A from "@automerge/automerge";
import type { Props } from "../../index.js";
import type { Edit } from "../workload/history.js";
import type { Outline } from "../workload/outline.js";
import { TreeModel, type FlatRow } from "../workload/tree-model.js";
import type { System } from "./system.js";

/** One objective in the Automerge document: content (text), props, ordered child ids. */
interface AmNode {
  c: string;
  p: Props;
  k: A.ImmutableString[];
}
type AmDoc = {
  nodes: Record<string, AmNode>;
};

const ref = (id: string) => new A.ImmutableString(id);

function amWindow(doc: A.Doc<AmDoc>, root: string, offset: number, limit: number): number {
  const stack = [...doc.nodes[root]!.k].reverse().map(String);
  let row = 0;
  let out = 0;
  while (stack.length && out < limit) {
    const id = stack.pop()!;
    const n = doc.nodes[id]!;
    if (row++ >= offset) {
      void n.c;
      out++;
    }
    for (let i = n.k.length - 1; i >= 0; i--) stack.push(n.k[i]!.toString());
  }
  return out;
}

/** The rows of `target`'s subtree in a document (version). */
function subtree(doc: A.Doc<AmDoc>, target: string): FlatRow[] {
  const out: FlatRow[] = [];
  const walk = (id: string, parent: string | null) => {
    const n = doc.nodes[id]!;
    out.push([id, parent, n.c, { ...n.p }]);
    for (const k of n.k) walk(k.toString(), id);
  };
  walk(target, null);
  return out;
}

/**
 * Automerge (`@automerge/automerge` 3): a map of objectives with ordered child-id lists, one
 * change per edit. Automerge has no move: a move deletes the id from one list and inserts it in
 * another (two list ops, not an atomic move). Checkout = `view(doc, heads)` of the whole document,
 * then the subtree is read; editable again = one change writing the old subtree back.
 */
export async function automergeSystem(): Promise<System> {
  let doc = A.init<AmDoc>({ actor: "0001" });
  const mirror: { m: TreeModel | undefined } = { m: undefined };
  let rootId = "";
  let saved: Uint8Array | undefined;
  let lastOld: { at: A.Heads; doc: A.Doc<AmDoc> } | undefined;
  const model = () => mirror.m!;
  const change = (fn: (d: AmDoc) => void) => {
    doc = A.change(doc, fn);
    saved = undefined;
  };

  return {
    name: "automerge",
    notes: ["move = delete the id from one child list + insert into another (no move op)", "checkout = whole-document view(heads) then reading the subtree; editable again = one change copying the old subtree back"],
    async load(outline: Outline) {
      rootId = outline.rootId;
      mirror.m = TreeModel.fromRows(outline.rows);
      const nodes: Record<string, AmNode> = {};
      for (const [id, , content, props] of outline.rows) nodes[id] = { c: content, p: props, k: model().get(id).kids.map(ref) };
      doc = A.from<AmDoc>({ nodes }, { actor: "0001" });
    },
    async apply(e: Edit) {
      const m = model();
      change((d) => {
        if (e.kind === "update") d.nodes[e.id]!.c = e.content;
        else if (e.kind === "create") {
          d.nodes[e.id] = { c: e.content, p: e.props, k: [] };
          (d.nodes[e.parent]!.k as unknown as A.List<A.ImmutableString>).insertAt(e.index, ref(e.id));
        } else if (e.kind === "move") {
          const from = m.get(e.id).parent!;
          (d.nodes[from]!.k as unknown as A.List<A.ImmutableString>).deleteAt(m.get(from).kids.indexOf(e.id));
          (d.nodes[e.parent]!.k as unknown as A.List<A.ImmutableString>).insertAt(e.index, ref(e.id));
        } else {
          const from = m.get(e.id).parent!;
          (d.nodes[from]!.k as unknown as A.List<A.ImmutableString>).deleteAt(m.get(from).kids.indexOf(e.id));
          delete d.nodes[e.id];
        }
      });
      if (e.kind === "update") m.update(e.id, e.content);
      else if (e.kind === "create") m.add(e.id, e.parent, e.content, e.props, e.index);
      else if (e.kind === "move") m.move(e.id, e.parent, e.index);
      else m.remove(e.id);
    },
    async mark() {
      return A.getHeads(doc);
    },
    async checkout(target, to) {
      subtree(A.view(doc, to as A.Heads), target);
    },
    async leaveCheckout() {},
    async restore(target, to) {
      const old = subtree(A.view(doc, to as A.Heads), target);
      const m = model();
      const gone = m.subtreeIds(target).slice(1);
      m.restore(old.map(([id, p, c, props], i) => [id, i === 0 ? m.get(target).parent : p, c, props]));
      change((d) => {
        for (const id of gone) if (!m.nodes.has(id)) delete d.nodes[id];
        for (const id of m.subtreeIds(target)) {
          const n = m.get(id);
          d.nodes[id] = { c: n.content, p: n.props, k: n.kids.map(ref) };
        }
        d.nodes[target]!.c = "edited after checkout";
      });
      m.update(target, "edited after checkout");
    },
    async diff(from, to) {
      return A.diff(doc, from as A.Heads, to as A.Heads).length;
    },
    async edit(id, content) {
      change((d) => {
        d.nodes[id]!.c = content;
      });
      model().update(id, content);
    },
    async writeCost(fn) {
      await fn();
      return { rows: 1, bytes: A.getLastLocalChange(doc)?.length ?? 0 };
    },
    async view(offset, limit, at, cold) {
      if (at === null) {
        if (!cold) return amWindow(doc, rootId, offset, limit);
        saved ??= A.save(doc);
        return amWindow(A.load<AmDoc>(saved), rootId, offset, limit);
      }
      const old = !cold && lastOld && lastOld.at === at ? lastOld : { at: at as A.Heads, doc: A.view(doc, at as A.Heads) };
      lastOld = old;
      return amWindow(old.doc, rootId, offset, limit);
    },
    async storageBytes() {
      return A.save(doc).length;
    },
    async close() {},
  };
}
