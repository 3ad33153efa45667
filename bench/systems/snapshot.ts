import { pack, unpack } from "msgpackr";
import { throwawayDatabase } from "../lib/pg-database.js";
import { diskBytes, inserted } from "../lib/pg-tables.js";
import type { Edit } from "../workload/history.js";
import { TreeModel, type FlatRow } from "../workload/tree-model.js";
import type { System } from "./system.js";

/** Stored snapshots in total are capped near this many bytes; beyond it every k-th commit is stored and storage is extrapolated. */
const STORE_BUDGET = 256 * 2 ** 20;

function applyEdit(m: TreeModel, e: Edit): void {
  if (e.kind === "update") m.update(e.id, e.content);
  else if (e.kind === "create") m.add(e.id, e.parent, e.content, e.props, e.index);
  else if (e.kind === "move") m.move(e.id, e.parent, e.index);
  else m.remove(e.id);
}

/**
 * Full snapshot per commit: the whole document msgpackr-encoded into one bytea row on the same
 * Postgres. Checkout = load and decode the old snapshot; diff = decode two and compare.
 */
export async function snapshotSystem(historyLength: number): Promise<System | undefined> {
  const db = await throwawayDatabase("snapshot");
  if (!db) return undefined;
  await db.query("create table snap (commit int8 primary key, doc bytea not null)");
  let model: TreeModel | undefined;
  let commit = 0;
  let stride = 1;
  let stored = 0;
  let lastStored = -1;
  let lastOld: { at: number; model: TreeModel } | undefined;
  const notes = ["one msgpackr snapshot of the whole document per commit, in a bytea row"];

  const store = async () => {
    await db.query("insert into snap (commit, doc) values ($1, $2)", [commit, pack(model!.rows())]);
    stored++;
    lastStored = commit;
  };
  const commitNow = async (force = false) => {
    commit++;
    if (force || commit % stride === 0) await store();
  };
  const load = async (at: number): Promise<TreeModel> => {
    const [r] = await db.query<{ doc: Buffer }>("select doc from snap where commit = $1", [at]);
    return TreeModel.fromRows(unpack(r!.doc) as FlatRow[]);
  };

  return {
    name: "snapshot",
    notes,
    async load(outline) {
      model = TreeModel.fromRows(outline.rows);
      const bytes = pack(outline.rows).length;
      stride = Math.max(1, Math.ceil((historyLength * bytes) / STORE_BUDGET));
      if (stride > 1) notes.push(`history: every ${stride}th snapshot stored, storage extrapolated to every commit; apply time includes the encode of every commit`);
      await store();
    },
    async apply(edit) {
      applyEdit(model!, edit);
      commit++;
      if (commit % stride === 0) await store();
      else pack(model!.rows()); // the encode every commit pays, not stored
    },
    async mark() {
      if (lastStored !== commit) await store();
      return commit;
    },
    async checkout(target, to) {
      (await load(to as number)).subtreeRows(target);
    },
    async leaveCheckout() {},
    async restore(target, to) {
      const old = (await load(to as number)).subtreeRows(target);
      model!.restore(old);
      await commitNow(true);
      model!.update(target, "edited after checkout");
      await commitNow(true);
    },
    async diff(from, to) {
      const [a, b] = [await load(from as number), await load(to as number)];
      let n = 0;
      for (const [id, x] of a.nodes) {
        const y = b.nodes.get(id);
        if (!y || y.parent !== x.parent || y.content !== x.content || JSON.stringify(y.props) !== JSON.stringify(x.props)) n++;
      }
      for (const id of b.nodes.keys()) if (!a.nodes.has(id)) n++;
      return n;
    },
    async edit(id, content) {
      model!.update(id, content);
      await commitNow(true);
    },
    async writeCost(fn) {
      const r = await inserted(db, ["snap"], fn);
      return { rows: r.rows, bytes: r.bytes };
    },
    async view(offset, limit, at, cold) {
      if (at === null) {
        if (!cold) return model!.window(offset, limit).length;
        if (lastStored !== commit) await store();
        return (await load(commit)).window(offset, limit).length;
      }
      const old = !cold && lastOld && lastOld.at === at ? lastOld : { at: at as number, model: await load(at as number) };
      lastOld = old;
      return old.model.window(offset, limit).length;
    },
    async storageBytes() {
      return Math.round(((await diskBytes(db, ["snap"])) * (commit + 1)) / Math.max(1, stored));
    },
    close: () => db.drop(),
  };
}
