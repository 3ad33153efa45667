import type { Props } from "../../index.js";
import { throwawayDatabase } from "../lib/pg-database.js";
import { diskBytes, inserted } from "../lib/pg-tables.js";
import type { Edit } from "../workload/history.js";
import { TreeModel, type FlatRow } from "../workload/tree-model.js";
import type { System } from "./system.js";

type LogRow = {
  kind: string;
  id: string;
  parent: string | null;
  idx: number | null;
  content: string | null;
  props: Props | null;
  payload: FlatRow[] | null;
};

/** Applies one log row to a model (the replay step). */
function replayRow(m: TreeModel, r: LogRow): void {
  if (r.kind === "create") m.add(r.id, r.parent, r.content ?? "", r.props ?? {}, r.idx ?? undefined);
  else if (r.kind === "update") m.update(r.id, r.content ?? "");
  else if (r.kind === "move") m.move(r.id, r.parent!, r.idx!);
  else if (r.kind === "remove") m.remove(r.id);
  else if (r.kind === "restore") m.restore(r.payload!);
}

const INSERT = `insert into log (kind, id, parent, idx, content, props, payload)
  select * from unnest($1::text[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::jsonb[], $7::jsonb[])`;

/**
 * Event sourcing on the same Postgres: an append-only op log; the current state is a projection
 * kept in memory; checkout = replay the log from the start to a sequence number.
 */
export async function eventLogSystem(): Promise<System | undefined> {
  const db = await throwawayDatabase("eventlog");
  if (!db) return undefined;
  await db.query(`create table log (seq bigserial primary key, kind text not null, id uuid not null, parent uuid,
    idx int, content text, props jsonb, payload jsonb, at timestamptz not null default now())`);
  let current: TreeModel | undefined;
  let rootId = "";
  let seq = 0;
  let lastOld: { at: number; model: TreeModel } | undefined;

  const append = async (rows: LogRow[]) => {
    const col = <K extends keyof LogRow>(k: K) => rows.map((r) => r[k]);
    await db.query(INSERT, [
      col("kind"), col("id"), col("parent"), col("idx"), col("content"),
      rows.map((r) => (r.props === null ? null : JSON.stringify(r.props))),
      rows.map((r) => (r.payload === null ? null : JSON.stringify(r.payload))),
    ]);
    seq += rows.length;
  };
  const row = (kind: string, id: string, over: Partial<LogRow> = {}): LogRow =>
    ({ kind, id, parent: null, idx: null, content: null, props: null, payload: null, ...over });
  const toRow = (e: Edit): LogRow =>
    e.kind === "update" ? row("update", e.id, { content: e.content })
    : e.kind === "create" ? row("create", e.id, { parent: e.parent, idx: e.index, content: e.content, props: e.props })
    : e.kind === "move" ? row("move", e.id, { parent: e.parent, idx: e.index })
    : row("remove", e.id);
  const replay = async (upTo: number): Promise<TreeModel> => {
    const rows = await db.query<LogRow>("select kind, id, parent, idx, content, props, payload from log where seq <= $1 order by seq", [upTo]);
    const m = new TreeModel(rootId);
    for (const r of rows) replayRow(m, r);
    return m;
  };
  const model = () => current!;

  return {
    name: "event-log",
    notes: ["state = in-memory projection; checkout and cold views replay the log from the start (no intermediate snapshots)"],
    async load(outline) {
      rootId = outline.rootId;
      current = TreeModel.fromRows(outline.rows);
      for (let i = 0; i < outline.rows.length; i += 5000)
        await append(outline.rows.slice(i, i + 5000).map(([id, parent, content, props]) => row("create", id, { parent, content, props })));
    },
    async apply(edit) {
      await append([toRow(edit)]);
      replayRow(model(), toRow(edit));
    },
    async mark() {
      return seq;
    },
    async checkout(target, to) {
      (await replay(to as number)).subtreeRows(target);
    },
    async leaveCheckout() {},
    async restore(target, to) {
      const old = (await replay(to as number)).subtreeRows(target);
      await db.transaction(() => append([row("restore", target, { payload: old })]));
      model().restore(old);
      await append([row("update", target, { content: "edited after checkout" })]);
      model().update(target, "edited after checkout");
    },
    async diff(from, to) {
      const [r] = await db.query<{ n: string }>("select count(distinct id) as n from log where seq > $1 and seq <= $2", [from, to]);
      return Number(r!.n);
    },
    async edit(id, content) {
      await append([row("update", id, { content })]);
      model().update(id, content);
    },
    async writeCost(fn) {
      const r = await inserted(db, ["log"], fn);
      return { rows: r.rows, bytes: r.bytes };
    },
    async view(offset, limit, at, cold) {
      if (at === null) return (cold ? await replay(seq) : model()).window(offset, limit).length;
      const old = !cold && lastOld && lastOld.at === at ? lastOld : { at: at as number, model: await replay(at as number) };
      lastOld = old;
      return old.model.window(offset, limit).length;
    },
    storageBytes: () => diskBytes(db, ["log"]),
    close: () => db.drop(),
  };
}
