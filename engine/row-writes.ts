/**
 * How the rows of a write travel to storage: each table's rows as ONE jsonb parameter, an array
 * of positional arrays, unpacked with `jsonb_array_elements` (`r->>0`, `r->5`). JSON.stringify is
 * native on the way out, and props, kids and stats go in as jsonb values without a second
 * text-to-jsonb parse per row. Against `unnest` of one text array per column this took a third
 * off an import's objective insert, and against `jsonb_to_recordset` (named keys, looked up per
 * row and column) 40% off a catch-up page's.
 */
import type { Placement } from "./chains.js";
import type { KidsNode } from "./children-tree.js";
import type { Props, Stats, VersionRow } from "./types.js";

/** Adds a statement parameter and returns its placeholder (`$n`). */
export type Param = (value: unknown) => string;

/** One op_transitive row: a version an op caused. */
export interface TransitiveRow {
  readonly oid: string;
  readonly seq: number;
  readonly vidBefore: string | null;
  readonly vidAfter: string | null;
}

/** One op row. */
export interface OpRow {
  readonly seq: number;
  readonly opId: string;
  readonly kind: string;
  readonly oid: string;
  readonly vidBefore: string | null;
  readonly vidAfter: string | null;
  readonly at: number;
  readonly actor: string | null;
  readonly device: string;
  readonly data: Props;
  readonly hlc: string;
}

const rows = (p: Param, list: readonly (readonly unknown[])[]) => `jsonb_array_elements(${p(JSON.stringify(list))}::jsonb) r`;

/** A leaf's children list is stored as NULL (migration 5; the row cache reads it back as `EMPTY`). */
function kidsColumn(kids: KidsNode | null): KidsNode | null {
  return kids === null || ("l" in kids && kids.l.length === 0) ? null : kids;
}

/** All-zero statistics (a leaf's) are stored as NULL (migration 5). */
function statsColumn(stats: Stats | null): Stats | null {
  return stats === null || (stats.descendants === 0 && stats.total === 0) ? null : stats;
}

/** Inserts version rows. */
export function insertVersions(p: Param, space: string, list: readonly VersionRow[]): string {
  return `insert into objective (space_id, oid, vid, parent_oid, pos, content, props, kids, stats, created_at, seq)
     select ${space}, (r->>0)::uuid, r->>1, (r->>2)::uuid, r->>3, r->>4, r->5, r->6, r->7, (r->>8)::int8, (r->>9)::int8
       from ${rows(p, list.map((v) => [v.oid, v.vid, v.parentOid, v.pos, v.content, v.props, kidsColumn(v.kids), statsColumn(v.stats), v.createdAt, v.seq]))}`;
}

/** Inserts children-tree chunks (content-addressed: a chunk stored already is skipped). */
export function insertChunks(p: Param, space: string, list: readonly (readonly [string, KidsNode])[]): string {
  return `insert into link (space_id, chunk_id, node)
     select ${space}, r->>0, r->1 from ${rows(p, list)}
     on conflict do nothing`;
}

/** Inserts op_transitive rows. */
export function insertTransitive(p: Param, space: string, list: readonly TransitiveRow[]): string {
  return `insert into op_transitive (space_id, oid, seq, vid_before, vid_after)
     select ${space}, (r->>0)::uuid, (r->>1)::int8, r->>2, r->>3
       from ${rows(p, list.map((t) => [t.oid, t.seq, t.vidBefore, t.vidAfter]))}`;
}

/** Inserts op rows. */
export function insertOps(p: Param, space: string, list: readonly OpRow[]): string {
  return `insert into op (space_id, seq, op_id, kind, oid, vid_before, vid_after, at, actor, device, data, hlc)
     select ${space}, (r->>0)::int8, r->>1, r->>2, (r->>3)::uuid, r->>4, r->>5, (r->>6)::int8, r->>7, r->>8, r->9, r->>10
       from ${rows(p, list.map((o) => [o.seq, o.opId, o.kind, o.oid, o.vidBefore, o.vidAfter, o.at, o.actor, o.device, o.data, o.hlc]))}`;
}

/**
 * Writes `active_version` rows: upserted, or plainly inserted when every one is `fresh` (no row
 * yet), which saves the speculative insertion of an upsert.
 */
export function writePlacements(p: Param, space: string, list: readonly Placement[], upsert: boolean): string {
  return `insert into active_version (space_id, oid, vid, parent_oid, pos, is_root, dirty)
     select ${space}, (r->>0)::uuid, r->>1, (r->>2)::uuid, r->>3, (r->>4)::boolean, (r->>5)::boolean
       from ${rows(p, list.map((a) => [a.oid, a.vid, a.parentOid, a.pos, a.isRoot, a.dirty]))}` +
    (upsert
      ? `
     on conflict (space_id, oid) do update set vid = excluded.vid, parent_oid = excluded.parent_oid,
       pos = excluded.pos, is_root = excluded.is_root, dirty = excluded.dirty`
      : "");
}
