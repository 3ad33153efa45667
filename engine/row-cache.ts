import { LRUCache } from "lru-cache";
import type { Queryable } from "../storage/contract.js";
import { EMPTY, type ChunkLoader, type KidsNode } from "./children-tree.js";
import { ZERO_STATS } from "./stats.js";
import type { Props, Stats, VersionRow } from "./types.js";

/**
 * Version and chunk rows are immutable, so one byte-bounded LRU serves every reader of an
 * engine. Mutable rows (active_version, op) are never cached. `rowsRead` counts rows fetched
 * from storage, for tests and benchmarks.
 */
export interface RowCache {
  readonly lru: LRUCache<string, VersionRow | KidsNode>;
  rowsRead: number;
}

/** Creates the cache, bounded to `maxBytes` (approximate: JSON size of the rows). */
export function createRowCache(maxBytes: number): RowCache {
  return {
    lru: new LRUCache<string, VersionRow | KidsNode>({
      maxSize: Math.max(1024, maxBytes),
      sizeCalculation: (value) => approxBytes(value),
    }),
    rowsRead: 0,
  };
}

function approxBytes(value: VersionRow | KidsNode): number {
  if ("oid" in value) return 200 + value.content.length * 2 + JSON.stringify(value.props).length + nodeBytes(value.kids);
  return nodeBytes(value);
}

function nodeBytes(node: KidsNode): number {
  return 64 + ("l" in node ? node.l.length * 110 : node.i.length * 80);
}

const versionKey = (spaceId: string, oid: string, vid: string) => `v|${spaceId}|${oid}|${vid}`;
const chunkKey = (spaceId: string, id: string) => `c|${spaceId}|${id}`;

interface ObjectiveRecord {
  oid: string;
  vid: string;
  parent_oid: string | null;
  pos: string | null;
  content: string;
  props: Props;
  /** NULL for a leaf (migration 5). */
  kids: KidsNode | null;
  /** NULL for all-zero statistics (migration 5). */
  stats: Stats | null;
  created_at: number;
  seq: number;
}

function toRow(r: ObjectiveRecord): VersionRow {
  return {
    oid: r.oid,
    vid: r.vid,
    parentOid: r.parent_oid,
    pos: r.pos,
    content: r.content,
    props: r.props,
    kids: r.kids ?? EMPTY,
    stats: r.stats ?? ZERO_STATS,
    createdAt: r.created_at,
    seq: r.seq,
  };
}

/** Version rows by `(oid, vid)` in one batched read for the misses. Missing keys are absent. */
export async function loadVersions(
  cache: RowCache,
  q: Queryable,
  spaceId: string,
  keys: readonly (readonly [oid: string, vid: string])[],
): Promise<Map<string, VersionRow>> {
  const out = new Map<string, VersionRow>();
  const missOids: string[] = [];
  const missVids: string[] = [];
  for (const [oid, vid] of keys) {
    const hit = cache.lru.get(versionKey(spaceId, oid, vid)) as VersionRow | undefined;
    if (hit) out.set(`${oid}|${vid}`, hit);
    else if (!out.has(`${oid}|${vid}`)) {
      missOids.push(oid);
      missVids.push(vid);
    }
  }
  if (missOids.length === 0) return out;
  const rows = await q.query<ObjectiveRecord & Record<string, unknown>>(
    // A lateral join forces one primary-key probe per wanted row, whatever the planner estimates.
    `select o.oid, o.vid, o.parent_oid, o.pos, o.content, o.props, o.kids, o.stats, o.created_at, o.seq
       from unnest($2::uuid[], $3::text[]) as k(oid, vid)
       cross join lateral (select * from objective o where o.space_id = $1 and o.oid = k.oid and o.vid = k.vid) o`,
    [spaceId, missOids, missVids],
  );
  cache.rowsRead += rows.length;
  for (const r of rows) {
    const row = toRow(r);
    cache.lru.set(versionKey(spaceId, row.oid, row.vid), row);
    out.set(`${row.oid}|${row.vid}`, row);
  }
  return out;
}

/** One version row, or undefined. */
export async function loadVersion(
  cache: RowCache,
  q: Queryable,
  spaceId: string,
  oid: string,
  vid: string,
): Promise<VersionRow | undefined> {
  return (await loadVersions(cache, q, spaceId, [[oid, vid]])).get(`${oid}|${vid}`);
}

/** A chunk loader for one space, reading misses in one batch per call. */
export function chunkLoader(cache: RowCache, q: Queryable, spaceId: string): ChunkLoader {
  return {
    async getMany(ids) {
      const out = new Map<string, KidsNode>();
      const miss: string[] = [];
      for (const id of ids) {
        const hit = cache.lru.get(chunkKey(spaceId, id)) as KidsNode | undefined;
        if (hit) out.set(id, hit);
        else miss.push(id);
      }
      if (miss.length > 0) {
        const rows = await q.query<{ chunk_id: string; node: KidsNode }>(
          "select chunk_id, node from link where space_id = $1 and chunk_id = any($2::text[])",
          [spaceId, miss],
        );
        cache.rowsRead += rows.length;
        for (const r of rows) {
          cache.lru.set(chunkKey(spaceId, r.chunk_id), r.node);
          out.set(r.chunk_id, r.node);
        }
      }
      return ids.map((id) => {
        const node = out.get(id);
        if (!node) throw new Error(`link chunk ${id} is missing in space ${spaceId}`);
        return node;
      });
    },
  };
}

/** Puts freshly committed rows into the cache (never before commit: a rollback would lie). */
export function remember(
  cache: RowCache,
  spaceId: string,
  versions: readonly VersionRow[],
  chunks: ReadonlyMap<string, KidsNode>,
): void {
  for (const v of versions) cache.lru.set(versionKey(spaceId, v.oid, v.vid), v);
  for (const [id, node] of chunks) cache.lru.set(chunkKey(spaceId, id), node);
}
