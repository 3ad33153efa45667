import type { Knex } from "knex";
import { sql } from "./sql.js";

/** One schema step: its number and the DDL statements it runs, in one transaction. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: () => string[];
}

function ddl(build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder): string[] {
  return build(sql.schema)
    .toSQL()
    .map((s) => s.sql);
}

/**
 * The engine's schema history. Append only: a released migration is never edited. Every table
 * keys on `space_id` first so the schema can be distributed by space (docs/engine.md, Citus).
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "versioned tree",
    statements: () =>
      ddl((s) =>
        s
          .createTable("space", (t) => {
            t.uuid("space_id").primary();
            t.bigInteger("seq").notNullable().defaultTo(0);
            t.bigInteger("created_at").notNullable();
          })
          // Immutable: one row per version of an objective and of its subtree.
          .createTable("objective", (t) => {
            t.uuid("space_id").notNullable();
            t.uuid("oid").notNullable();
            t.text("vid").notNullable();
            t.uuid("parent_oid");
            // Where this version sits under parent_oid: the same in every tree that links it.
            t.text("pos");
            t.text("content").notNullable();
            t.jsonb("props").notNullable();
            t.jsonb("kids").notNullable();
            t.jsonb("stats").notNullable();
            t.bigInteger("created_at").notNullable();
            t.bigInteger("seq").notNullable();
            t.primary(["space_id", "oid", "vid"]);
            t.index(["space_id", "oid", "seq"], "objective_by_seq");
          })
          // Immutable, content-addressed chunks of wide children lists (a persistent B+tree).
          .createTable("link", (t) => {
            t.uuid("space_id").notNullable();
            t.text("chunk_id").notNullable();
            t.jsonb("node").notNullable();
            t.primary(["space_id", "chunk_id"]);
          })
          .createTable("op", (t) => {
            t.uuid("space_id").notNullable();
            t.bigInteger("seq").notNullable();
            t.text("op_id").notNullable();
            t.text("kind").notNullable();
            t.uuid("oid").notNullable();
            t.text("vid_before");
            t.text("vid_after");
            t.bigInteger("at").notNullable();
            t.text("actor");
            t.text("device").notNullable();
            t.jsonb("data").notNullable();
            t.primary(["space_id", "seq"]);
            t.unique(["space_id", "op_id"]);
          })
          // Every version an op caused: the changed objective itself and each promoted ascendant.
          .createTable("op_transitive", (t) => {
            t.uuid("space_id").notNullable();
            t.uuid("oid").notNullable();
            t.bigInteger("seq").notNullable();
            t.text("vid_before");
            t.text("vid_after");
            t.primary(["space_id", "oid", "seq"]);
          })
          // The only mutable table of the tree: active vid and current place of every objective.
          .createTable("active_version", (t) => {
            t.uuid("space_id").notNullable();
            t.uuid("oid").notNullable();
            t.text("vid").notNullable();
            t.uuid("parent_oid");
            t.text("pos");
            t.boolean("is_root").notNullable().defaultTo(false);
            t.boolean("dirty").notNullable().defaultTo(false);
            t.primary(["space_id", "oid"]);
          })
          .raw("create index active_version_roots on active_version (space_id) where is_root")
          // The chain of each objective up to its top. A loop of point reads in plpgsql keeps its
          // plans cached per session: faster than a recursive CTE, which is planned every call.
          .raw(`create function logbook_chains(p_space uuid, p_starts uuid[])
  returns table (start uuid, d int, oid uuid, vid text, parent_oid uuid, pos text, is_root boolean, dirty boolean)
  language plpgsql stable as $fn$
#variable_conflict use_column
declare
  s uuid; cur uuid; r record; n int;
begin
  foreach s in array p_starts loop
    cur := s; n := 0;
    loop
      select a.oid, a.vid, a.parent_oid, a.pos, a.is_root, a.dirty into r
        from active_version a where a.space_id = p_space and a.oid = cur;
      exit when not found;
      start := s; d := n; oid := r.oid; vid := r.vid; parent_oid := r.parent_oid; pos := r.pos;
      is_root := r.is_root; dirty := r.dirty;
      return next;
      cur := r.parent_oid; n := n + 1;
      exit when cur is null or n > 100000;
    end loop;
  end loop;
end $fn$`)
          // A write's first round trip: bump the space's op counter (which locks the space), then
          // read the chains. Volatile, so the reads take a snapshot after the lock: no lost update.
          .raw(`create function logbook_begin_write(p_space uuid, p_starts uuid[])
  returns table (seq bigint, start uuid, d int, oid uuid, vid text, parent_oid uuid, pos text, is_root boolean, dirty boolean)
  language plpgsql volatile as $fn$
declare
  v_seq bigint;
begin
  update space set seq = space.seq + 1 where space_id = p_space returning space.seq into v_seq;
  if v_seq is null then return; end if;
  seq := v_seq;
  return next;
  return query select v_seq, c.* from logbook_chains(p_space, p_starts) c;
end $fn$`)
          // Per-user folding of the view (DESIGN.md §6): not versioned, never makes a version.
          .createTable("fold", (t) => {
            t.uuid("space_id").notNullable();
            t.text("user_id").notNullable();
            t.uuid("oid").notNullable();
            t.primary(["space_id", "user_id", "oid"]);
          }),
      ),
  },
];

/** The newest schema version this code knows. */
export const latestVersion = migrations[migrations.length - 1]!.version;
