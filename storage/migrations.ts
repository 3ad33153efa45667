import type { Knex } from "knex";
import { SCHEMA_VERSION } from "./schema-version.js";
import { sql } from "./sql.js";

/** One schema step: its number and the DDL statements it runs, in one transaction. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: () => string[];
  /**
   * A data conversion that SQL alone cannot do, run after `statements` and before `finally`, in
   * the same transaction. Storage does not know how (the engine's stored format is the engine's):
   * the caller of `migrate` passes it by this name.
   */
  readonly data?: string;
  readonly finally?: () => string[];
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
  {
    version: 2,
    name: "sync: hybrid logical clocks, the op log in clock order, active_version undo",
    statements: () => [
      // Every op's hybrid logical clock (sync/hlc.ts): the order all devices apply ops in.
      "alter table op add column hlc text",
      // Ops made before clocks existed get one from their time and local order (they sort first
      // on this device, and no other device has them).
      `update op set hlc = lpad(at::text, 15, '0') || ':' || lpad((seq % 1000000)::text, 6, '0') || ':' || device where hlc is null`,
      // Every op this device knows, made here or received, applied or not, in the form it travels
      // in. `seq` is the local seq it was materialized at (null: pending, waiting to be applied in
      // clock order); `outcome` says what applying it did: 'applied', or why it was skipped
      // ('skipped:CYCLE', 'unknown-kind', …) — the conflict events, which never change the tree.
      // `server_seq` is the sync server's number for ops pulled from it: the pull cursor is its
      // maximum, written in the same transaction as the op.
      `create table op_log (
         space_id uuid not null, op_id text not null, hlc text not null, kind text not null, oid text not null,
         at bigint not null, actor text, device text not null, data jsonb not null,
         seq bigint, outcome text, detail text, server_seq bigint, tx bigint,
         primary key (space_id, op_id))`,
      // The transaction that materialized an op: several ops written by one transaction (a page
      // of a catch-up) are undone together, since their before-images are only per transaction.
      "create index op_log_by_tx on op_log (space_id, tx) where tx is not null",
      "create index op_log_by_hlc on op_log (space_id, hlc)",
      // The newest reading on the database, read at open so a device's clock never goes back.
      "create index op_log_hlc on op_log (hlc)",
      "create index op_log_pending on op_log (space_id, hlc) where seq is null",
      "create index op_log_by_seq on op_log (space_id, seq) where seq is not null",
      "create index op_log_by_server_seq on op_log (space_id, server_seq) where server_seq is not null",
      `insert into op_log (space_id, op_id, hlc, kind, oid, at, actor, device, data, seq, outcome)
         select space_id, op_id, hlc, kind, oid::text, at, actor, device, data, seq, 'applied' from op`,
      // An op row written by the engine marks its log entry applied (and logs local ops).
      `create function logbook_op_logged() returns trigger language plpgsql as $fn$
begin
  insert into op_log (space_id, op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, tx)
  values (new.space_id, new.op_id,
          coalesce(new.hlc, lpad(new.at::text, 15, '0') || ':' || lpad((new.seq % 1000000)::text, 6, '0') || ':' || new.device),
          new.kind, new.oid::text, new.at, new.actor, new.device, new.data, new.seq, 'applied', txid_current())
  on conflict (space_id, op_id) do update set seq = excluded.seq, outcome = 'applied', detail = null, tx = excluded.tx;
  return null;
end $fn$`,
      "create trigger op_logged after insert on op for each row execute function logbook_op_logged()",
      // Before-images of active_version, per local seq: undoing the ops after seq S restores the
      // tree of S exactly (version rows are immutable, so the mutable index is all there is to
      // restore). This is what lets a late op be placed by its clock: roll back to just before
      // it, then re-apply. The seq is the space's counter, which every write bumps first.
      `create table active_undo (
         space_id uuid not null, seq bigint not null, oid uuid not null, existed boolean not null,
         vid text, parent_oid uuid, pos text, is_root boolean, dirty boolean,
         primary key (space_id, seq, oid))`,
      `create function logbook_active_undo() returns trigger language plpgsql as $fn$
declare
  v_seq bigint;
begin
  select s.seq into v_seq from space s where s.space_id = new.space_id;
  if tg_op = 'INSERT' then
    insert into active_undo values (new.space_id, v_seq, new.oid, false, null, null, null, null, null) on conflict do nothing;
  else
    insert into active_undo values (old.space_id, v_seq, old.oid, true, old.vid, old.parent_oid, old.pos, old.is_root, old.dirty)
      on conflict do nothing;
  end if;
  return null;
end $fn$`,
      "create trigger active_version_undo after insert or update on active_version for each row execute function logbook_active_undo()",
      // Undoing ops finds the version rows they wrote through their op_transitive rows, by seq.
      "create index op_transitive_by_seq on op_transitive (space_id, seq)",
    ],
  },
  {
    version: 3,
    name: "sync: active_version undo images per statement, updates only",
    statements: () => [
      // A row trigger cost ~30% of an import (one call per inserted row). Inserted rows need no
      // image (undo deletes the objectives created after the checkpoint, found by their creation
      // rows in op_transitive), and one statement-level insert logs a whole write's updated rows.
      "drop trigger active_version_undo on active_version",
      `create function logbook_active_undo_update() returns trigger language plpgsql as $fn$
begin
  insert into active_undo (space_id, seq, oid, existed, vid, parent_oid, pos, is_root, dirty)
    select o.space_id, s.seq, o.oid, true, o.vid, o.parent_oid, o.pos, o.is_root, o.dirty
      from undo_old o join space s on s.space_id = o.space_id
    on conflict do nothing;
  return null;
end $fn$`,
      `create trigger active_version_undo after update on active_version
         referencing old table as undo_old for each statement execute function logbook_active_undo_update()`,
    ],
  },
  {
    version: 4,
    name: "sync: op rows logged per statement",
    statements: () => [
      // The row trigger ran plpgsql once per op row (~60 µs each on PGlite): a catch-up page of 500
      // ops paid it 500 times. One statement-level insert logs every op row of the statement.
      "drop trigger op_logged on op",
      `create function logbook_ops_logged() returns trigger language plpgsql as $fn$
begin
  insert into op_log (space_id, op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, tx)
  select n.space_id, n.op_id,
         coalesce(n.hlc, lpad(n.at::text, 15, '0') || ':' || lpad((n.seq % 1000000)::text, 6, '0') || ':' || n.device),
         n.kind, n.oid::text, n.at, n.actor, n.device, n.data, n.seq, 'applied', txid_current()
    from logged_ops n
  on conflict (space_id, op_id) do update set seq = excluded.seq, outcome = 'applied', detail = null, tx = excluded.tx;
  return null;
end $fn$`,
      `create trigger op_logged after insert on op
         referencing new table as logged_ops for each statement execute function logbook_ops_logged()`,
      "drop function logbook_op_logged()",
    ],
  },
  {
    version: 5,
    name: "leaf versions store no children list and no statistics",
    statements: () => [
      // Most versions are leaves (every row of an imported outline but its parents): NULL kids and
      // stats mean "no children" and all-zero statistics (engine/row-writes.ts writes them, the
      // row cache reads them back), instead of the same two small jsonb documents per row.
      "alter table objective alter column kids drop not null",
      "alter table objective alter column stats drop not null",
    ],
  },
  {
    version: 6,
    name: "compact history: version records (images and deltas) in binary, no mutable tree index, one op table",
    statements: () => [
      // Devices by a small number: every version record names the op that made it (device + counter).
      "create table device (no int4 generated always as identity primary key, id uuid not null unique)",
      // Segments of version records (engine/format/rows.ts): an image and the deltas and marks after
      // it, appended in place; replaces objective, op_transitive and active_version. Room is left in
      // each page so an append stays on its page (a HOT update: no index entry, pruned in place),
      // and bodies stay inline (compressed if need be) rather than rewritten to TOAST on each append.
      `create table version (
         space_id uuid not null, oid uuid not null, seq int8 not null, vseq int8 not null, parent_oid uuid, pos text,
         flags int2 not null, body bytea not null,
         primary key (space_id, oid, seq)) with (fillfactor = 80)`,
      "alter table version alter column body set storage main",
      "create index version_moved on version (space_id, oid, seq) where flags & 1 <> 0",
      "create index version_lost on version (space_id, oid, seq) where flags & 2 <> 0",
      "create index version_restored on version (space_id, oid, seq) where flags & 4 <> 0",
      // Content-addressed nodes of wide children lists, in binary (was link).
      "create table chunk (space_id uuid not null, chunk_id bytea not null, node bytea not null, primary key (space_id, chunk_id))",
      // One row per op the device knows (was op and op_log): pending (seq null) or materialized.
      `create table op_v6 (
         space_id uuid not null, op_id text not null, hlc text not null, kind text not null, oid text not null,
         at int8 not null, actor text, device text not null, data bytea not null,
         seq int8, outcome text, detail text, server_seq int8, vids bytea, touched bytea,
         primary key (space_id, op_id))`,
      "create table document (space_id uuid not null, oid uuid not null, seq int8 not null, primary key (space_id, oid))",
      // Vids made before this schema (hash only, no op in them) stay readable.
      "create table version_alias (space_id uuid not null, vid text not null, oid uuid not null, seq int8 not null, primary key (space_id, vid))",
      "alter table space add column pulled int8 not null default 0",
    ],
    data: "v6-records",
    finally: () => [
      "drop trigger if exists op_logged on op",
      "drop trigger if exists active_version_undo on active_version",
      "drop function if exists logbook_begin_write(uuid, uuid[])",
      "drop function if exists logbook_chains(uuid, uuid[])",
      "drop function if exists logbook_ops_logged()",
      "drop function if exists logbook_active_undo()",
      "drop function if exists logbook_active_undo_update()",
      "drop table objective, op_transitive, active_version, active_undo, op_log, op, link",
      "alter table op_v6 rename to op",
      "alter index op_v6_pkey rename to op_pkey",
      "create unique index op_by_seq on op (space_id, seq) where seq is not null",
      "create index op_by_hlc on op (space_id, hlc)",
      "create index op_pending on op (space_id, hlc) where seq is null",
      "create index op_checkouts on op (space_id, seq) where kind = 'checkout' and seq is not null",
      // The newest row of each objective up its parents, from each start (as of p_max when given),
      // each objective once. A loop of point reads in plpgsql keeps its plans cached per session.
      `create function logbook_chains(p_space uuid, p_starts uuid[], p_max int8)
  returns table (start uuid, d int, oid uuid, key int8, vseq int8, parent_oid uuid, pos text, flags int2)
  language plpgsql stable as $fn$
#variable_conflict use_column
declare
  s uuid; cur uuid; r record; n int; seen uuid[] := '{}';
begin
  foreach s in array p_starts loop
    cur := s; n := 0;
    loop
      -- Each objective once per call: chains that meet share the rest (the caller joins them).
      exit when cur = any(seen);
      select v.seq, v.vseq, v.parent_oid, v.pos, v.flags into r from version v
        where v.space_id = p_space and v.oid = cur and (p_max is null or v.seq <= p_max)
        order by v.seq desc limit 1;
      exit when not found;
      seen := seen || cur;
      start := s; d := n; oid := cur; key := r.seq; vseq := r.vseq; parent_oid := r.parent_oid; pos := r.pos; flags := r.flags;
      return next;
      cur := r.parent_oid; n := n + 1;
      exit when cur is null or n > 100000;
    end loop;
  end loop;
end $fn$`,
      // Records appended to stored rows (segments), one primary-key update each: a join of the
      // new records with the table may be planned as a scan of it, which costs what the table holds.
      `create function logbook_append(p_space uuid, p_oid uuid[], p_seq int8[], p_vseq int8[], p_parent uuid[], p_pos text[], p_flags int2[], p_removed bool[], p_body text[])
  returns int language plpgsql volatile as $fn$
declare
  i int;
begin
  for i in 1 .. coalesce(array_length(p_oid, 1), 0) loop
    update version set body = body || decode(p_body[i], 'base64'), vseq = p_vseq[i], parent_oid = p_parent[i], pos = p_pos[i],
        flags = ((flags | p_flags[i]) & 7::int2) | (case when p_removed[i] then 8 else 0 end)::int2
      where space_id = p_space and oid = p_oid[i] and seq = p_seq[i];
    if not found then
      raise exception 'no version row %@% to append records to', p_oid[i], p_seq[i] using errcode = 'P0002';
    end if;
  end loop;
  return coalesce(array_length(p_oid, 1), 0);
end $fn$`,
      // A write's first round trip: bump the space's op counter (which locks the space), then read
      // the chains. Volatile, so the reads take a snapshot after the lock: no lost update.
      `create function logbook_begin_write(p_space uuid, p_starts uuid[])
  returns table (seq int8, start uuid, d int, oid uuid, key int8, vseq int8, parent_oid uuid, pos text, flags int2)
  language plpgsql volatile as $fn$
declare
  v_seq int8;
begin
  update space set seq = space.seq + 1 where space_id = p_space returning space.seq into v_seq;
  if v_seq is null then return; end if;
  seq := v_seq;
  return next;
  return query select v_seq, c.* from logbook_chains(p_space, p_starts, null) c;
end $fn$`,
    ],
  },
  {
    version: 7,
    name: "restore ops count as checkouts where locating reads them",
    statements: () => [
      // A restore, like a checkout, may link objectives whose newest rows name another place
      // (engine/locate.ts asks whether any happened since a row): one partial index covers both.
      "drop index if exists op_checkouts",
      "create index op_checkouts on op (space_id, seq) where kind in ('checkout', 'restore') and seq is not null",
    ],
  },
  {
    version: 8,
    name: "the clock up to which a sync server acknowledged this device's own ops",
    statements: () => [
      // Kept beside the pull cursor: a restarted device pushes only what follows it, instead of
      // reading its whole log again (sync/sync-client.ts).
      "alter table space add column pushed text not null default ''",
    ],
  },
  {
    version: 9,
    name: "collaboration: who may read or edit each objective's subtree, versioned apart from content",
    statements: () => [
      // Append-only and keyed by the op's seq, like every record: a user's entry on an objective is
      // its row with the highest seq (role null: the entry was taken away), so undoing ops after a
      // late one deletes rows by seq, and an entry's history is its rows.
      `create table share (
         space_id uuid not null, oid uuid not null, user_id text not null, seq int8 not null, role text,
         primary key (space_id, oid, user_id, seq))`,
      // A user's entries on a path (the effective role, engine/roles.ts): one index range per oid.
      "create index share_by_user on share (space_id, user_id, oid, seq)",
      "create index share_by_seq on share (space_id, seq)",
    ],
  },
  {
    version: 10,
    name: "the chain walk as one recursive query",
    statements: () => [
      // The same rows as migration 6's plpgsql loop (each objective once), as a recursive query:
      // a plan of index probes, ~40% less per row on PGlite than a loop of SPI calls. start and d
      // are kept for the signature; readers join the rows by oid (engine/chains.ts groupHints).
      `create or replace function logbook_chains(p_space uuid, p_starts uuid[], p_max int8)
  returns table (start uuid, d int, oid uuid, key int8, vseq int8, parent_oid uuid, pos text, flags int2)
  language sql stable as $fn$
  with recursive w(oid, key, vseq, parent_oid, pos, flags) as (
    select v.* from unnest(p_starts) as k(oid)
      cross join lateral (select t.oid, t.seq, t.vseq, t.parent_oid, t.pos, t.flags from version t
        where t.space_id = p_space and t.oid = k.oid and (p_max is null or t.seq <= p_max) order by t.seq desc limit 1) v
    union
    select v.* from w
      cross join lateral (select t.oid, t.seq, t.vseq, t.parent_oid, t.pos, t.flags from version t
        where t.space_id = p_space and t.oid = w.parent_oid and (p_max is null or t.seq <= p_max) order by t.seq desc limit 1) v
     where w.parent_oid is not null
  )
  select w.oid, 0, w.oid, w.key, w.vseq, w.parent_oid, w.pos, w.flags from w
$fn$`,
    ],
  },
  {
    version: 11,
    name: "records appended to segments in one update",
    statements: () => [
      // One UPDATE joined with the batch instead of a loop of them: half the time on PGlite (no
      // SPI call per row) and ~25% less on Postgres. The plan is pinned to primary-key probes:
      // with a hash or merge join the update would scan the table, which grows with the space.
      // Callers send each row once (engine/format/rows.ts segmentWrites groups by row); a row
      // named twice, or missing, updates fewer rows than named and raises.
      `create or replace function logbook_append(p_space uuid, p_oid uuid[], p_seq int8[], p_vseq int8[], p_parent uuid[], p_pos text[], p_flags int2[], p_removed bool[], p_body text[])
  returns int language plpgsql volatile
  set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off as $fn$
declare
  n int;
begin
  update version v set body = v.body || decode(k.body, 'base64'), vseq = k.vseq, parent_oid = k.parent, pos = k.pos,
      flags = ((v.flags | k.flags) & 7::int2) | (case when k.removed then 8 else 0 end)::int2
    from unnest(p_oid, p_seq, p_vseq, p_parent, p_pos, p_flags, p_removed, p_body) as k(oid, seq, vseq, parent, pos, flags, removed, body)
    where v.space_id = p_space and v.oid = k.oid and v.seq = k.seq;
  get diagnostics n = row_count;
  if n <> coalesce(array_length(p_oid, 1), 0) then
    raise exception 'records for % stored rows, % of them found once', coalesce(array_length(p_oid, 1), 0), n using errcode = 'P0002';
  end if;
  return n;
end $fn$`,
    ],
  },
];

/** The newest schema version this code knows. */
export const latestVersion = migrations[migrations.length - 1]!.version;
if (latestVersion !== SCHEMA_VERSION) throw new Error(`storage/schema-version.ts says ${SCHEMA_VERSION}, the last migration is ${latestVersion}`);
