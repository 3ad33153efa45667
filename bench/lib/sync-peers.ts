/**
 * The same catch-up in Loro and Automerge: one replica makes the history, another that went offline
 * before it receives everything it missed in one message and applies it.
 */
import * as A from "@automerge/automerge";
import { LoroDoc } from "loro-crdt";
import { loroOutline } from "./loro-outline.js";
import type { Props } from "../../index.js";
import type { Edit } from "../workload/history.js";
import type { Outline } from "../workload/outline.js";
import { TreeModel } from "../workload/tree-model.js";
import { progress } from "./measure.js";

/** One peer's catch-up: what the sender does, what travels, what the offline device does. */
export interface PeerCatchUp {
  readonly system: string;
  readonly ops: number;
  /** Making the history on the online replica, per edit (each its own commit/change). */
  readonly editUs: number;
  /** Sender side: encoding everything the offline device lacks. */
  readonly exportMs: number;
  readonly bytes: number;
  /** Receiver side: applying it (the catch-up proper). */
  readonly importMs: number;
  /** The offline device ends at the same version as the online one. */
  readonly converged: boolean;
  readonly how: string;
}

const ms = (t0: number) => performance.now() - t0;

/** Loro: a movable tree, one commit per edit; catch-up = export({ mode: "update", from }) + import. */
export function loroCatchUp(outline: Outline, history: readonly Edit[]): PeerCatchUp {
  const { doc, create, apply } = loroOutline();
  for (const [id, parent, content, props] of outline.rows) create(id, parent, content, props);
  doc.commit();
  const offline = doc.export({ mode: "snapshot" });
  const since = doc.oplogVersion();
  let t0 = performance.now();
  for (const e of history) {
    apply(e);
    doc.commit();
  }
  const editUs = (ms(t0) * 1000) / history.length;
  const device = LoroDoc.fromSnapshot(offline);
  t0 = performance.now();
  const update = doc.export({ mode: "update", from: since });
  const exportMs = ms(t0);
  t0 = performance.now();
  device.import(update);
  const importMs = ms(t0);
  const converged = JSON.stringify(device.frontiers()) === JSON.stringify(doc.frontiers());
  doc.free();
  device.free();
  return { system: "loro", ops: history.length, editUs, exportMs, bytes: update.length, importMs, converged, how: "export({ mode: 'update', from: offline version }) / import" };
}

interface AmNode {
  c: string;
  p: Props;
  k: A.ImmutableString[];
}
type AmDoc = { nodes: Record<string, AmNode> };
const ref = (id: string) => new A.ImmutableString(id);
type AmList = A.List<A.ImmutableString>;

/** Automerge: a map of objectives with child-id lists, one change per edit; catch-up = saveSince + loadIncremental. */
export function automergeCatchUp(outline: Outline, history: readonly Edit[]): PeerCatchUp {
  const model = TreeModel.fromRows(outline.rows);
  const nodes: Record<string, AmNode> = {};
  for (const [id, , content, props] of outline.rows) nodes[id] = { c: content, p: props, k: model.get(id).kids.map(ref) };
  let doc = A.from<AmDoc>({ nodes }, { actor: "0001" });
  const offline = A.save(doc);
  const heads = A.getHeads(doc);
  let t0 = performance.now();
  history.forEach((e, i) => {
    doc = A.change(doc, (d) => {
      if (e.kind === "update") d.nodes[e.id]!.c = e.content;
      else if (e.kind === "create") {
        d.nodes[e.id] = { c: e.content, p: e.props, k: [] };
        (d.nodes[e.parent]!.k as unknown as AmList).insertAt(e.index, ref(e.id));
      } else {
        const from = model.get(e.id).parent!;
        (d.nodes[from]!.k as unknown as AmList).deleteAt(model.get(from).kids.indexOf(e.id));
        if (e.kind === "move") (d.nodes[e.parent]!.k as unknown as AmList).insertAt(e.index, ref(e.id));
        else delete d.nodes[e.id];
      }
    });
    if (e.kind === "update") model.update(e.id, e.content);
    else if (e.kind === "create") model.add(e.id, e.parent, e.content, e.props, e.index);
    else if (e.kind === "move") model.move(e.id, e.parent, e.index);
    else model.remove(e.id);
    if ((i + 1) % 2000 === 0) progress(`automerge: ${i + 1} / ${history.length} edits`);
  });
  const editUs = (ms(t0) * 1000) / history.length;
  let device = A.load<AmDoc>(offline);
  t0 = performance.now();
  const update = A.saveSince(doc, heads);
  const exportMs = ms(t0);
  t0 = performance.now();
  device = A.loadIncremental(device, update);
  const importMs = ms(t0);
  const converged = JSON.stringify(A.getHeads(device)) === JSON.stringify(A.getHeads(doc));
  return { system: "automerge", ops: history.length, editUs, exportMs, bytes: update.length, importMs, converged, how: "saveSince(offline heads) / loadIncremental" };
}
