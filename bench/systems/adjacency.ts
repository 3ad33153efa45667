import { generateKeyBetween, generateNKeysBetween } from "fractional-indexing";
import { throwawayDatabase, type PgDatabase } from "../lib/pg-database.js";
import { diskBytes, inserted } from "../lib/pg-tables.js";
import type { Edit } from "../workload/history.js";
import { Unsupported, type System } from "./system.js";

const INSERT = `insert into node (id, parent, pos, content, props)
  select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[])`;

/** The position key for index `i` among `parent`'s children (`skip` excluded: the one being moved). */
async function keyAt(db: PgDatabase, parent: string, index: number, skip?: string): Promise<string> {
  const rows = await db.query<{ pos: string }>(
    `select pos from node where parent = $1 and id is distinct from $2 order by pos offset $3 limit 2`,
    [parent, skip ?? null, Math.max(0, index - 1)],
  );
  if (index === 0) return generateKeyBetween(null, rows[0]?.pos ?? null);
  return generateKeyBetween(rows[0]?.pos ?? null, rows[1]?.pos ?? null);
}

/**
 * The floor for a single edit: one mutable row per objective (id, parent, position key, content,
 * props) on the same Postgres, no history. Windows use a recursive CTE ordered by path.
 */
export async function adjacencySystem(): Promise<System | undefined> {
  const db = await throwawayDatabase("adjacency");
  if (!db) return undefined;
  await db.query(`create table node (id uuid primary key, parent uuid, pos text collate "C" not null, content text not null, props jsonb not null)`);
  await db.query("create index node_parent_pos on node (parent, pos)");
  let rootId = "";
  let lastEdited = "";
  const none = (what: string) => Promise.reject(new Unsupported(`${what}: a mutable table keeps no history`));

  return {
    name: "adjacency",
    notes: ["no history: checkout, diff and old-version views do not exist"],
    async load(outline) {
      rootId = outline.rootId;
      const byParent = new Map<string | null, number>();
      for (const [, parent] of outline.rows) byParent.set(parent, (byParent.get(parent) ?? 0) + 1);
      const keys = new Map<string | null, string[]>();
      for (const [p, n] of byParent) keys.set(p, generateNKeysBetween(null, null, n));
      const next = new Map<string | null, number>();
      const rows = outline.rows.map(([id, parent, content, props]) => {
        const i = next.get(parent) ?? 0;
        next.set(parent, i + 1);
        return [id, parent, keys.get(parent)![i]!, content, JSON.stringify(props)] as const;
      });
      for (let i = 0; i < rows.length; i += 5000) {
        const b = rows.slice(i, i + 5000);
        await db.query(INSERT, [0, 1, 2, 3, 4].map((c) => b.map((r) => r[c as 0])));
      }
      await db.query("analyze node");
    },
    async apply(e: Edit) {
      await db.transaction(async () => {
        if (e.kind === "update") await db.query("update node set content = $2 where id = $1", [e.id, e.content]);
        else if (e.kind === "create")
          await db.query("insert into node values ($1, $2, $3, $4, $5)", [e.id, e.parent, await keyAt(db, e.parent, e.index), e.content, JSON.stringify(e.props)]);
        else if (e.kind === "move")
          await db.query("update node set parent = $2, pos = $3 where id = $1", [e.id, e.parent, await keyAt(db, e.parent, e.index, e.id)]);
        else await db.query("delete from node where id = $1", [e.id]);
      });
    },
    mark: () => Promise.resolve("no history"),
    checkout: () => none("checkout"),
    leaveCheckout: () => Promise.resolve(),
    restore: () => none("checkout"),
    diff: () => none("diff"),
    async edit(id, content) {
      lastEdited = id;
      await db.query("update node set content = $2 where id = $1", [id, content]);
    },
    async writeCost(fn) {
      await fn();
      const [r] = await db.query<{ b: number }>("select pg_column_size(n.*) as b from node n where id = $1", [lastEdited]);
      return { rows: 1, bytes: Number(r!.b) };
    },
    async view(offset, limit, at) {
      if (at !== null) return none("old-version view");
      const rows = await db.query(
        `with recursive t(id, path, depth) as (
           select id, array[pos], 0 from node where parent = $1
           union all select n.id, t.path || n.pos, t.depth + 1 from node n join t on n.parent = t.id)
         select t.id, t.depth, n.content from t join node n using (id) order by t.path offset $2 limit $3`,
        [rootId, offset, limit],
      );
      return rows.length;
    },
    storageBytes: () => diskBytes(db, ["node"]),
    close: () => db.drop(),
  };
}
