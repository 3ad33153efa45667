/**
 * Reading versions: a version is its nearest image plus the deltas after it, all in ONE stored row
 * (a segment, engine/format/rows.ts) found by one index probe, and resolved here. Resolved versions and chunks are immutable, so one byte-bounded LRU serves
 * every reader of an engine: a warm read touches no storage. `rowsRead` counts stored rows
 * fetched (cache misses), for tests and benchmarks.
 */
import { LRUCache } from "lru-cache";
import type { Queryable } from "../../storage/contract.js";
import type { KidsNode, ChunkLoader } from "../children-tree.js";
import type { VersionRow } from "../types.js";
import { b64, fromB64 } from "./codec.js";
import { decodeNode } from "./chunk.js";
import { createDevices, loadDevices, type Devices } from "./devices.js";
import { applyDelta, type State, type StoredVid, type VersionRecord } from "./record.js";
import { decodeBody } from "./rows.js";
import { unpack } from "./codec.js";

/** The cache of resolved versions and chunks, and the device dictionary records need. */
export interface RowCache {
  /** Versions by `(oid, seq)`, chunks by id, and each cached version's seq by its vid. */
  readonly lru: LRUCache<string, VersionRow | KidsNode | number>;
  readonly devices: Devices;
  rowsRead: number;
}

/** Creates the cache, bounded to `maxBytes` (approximate). */
export function createRowCache(maxBytes: number, devices: Devices = createDevices()): RowCache {
  return {
    lru: new LRUCache<string, VersionRow | KidsNode | number>({
      maxSize: Math.max(1024, maxBytes),
      sizeCalculation: (value) => approxBytes(value),
    }),
    devices,
    rowsRead: 0,
  };
}

function approxBytes(value: VersionRow | KidsNode | number): number {
  if (typeof value === "number") return 80;
  // An estimate, cheap to take (it runs for every version a catch-up makes): props count by keys.
  if ("oid" in value) return 240 + value.content.length * 2 + Object.keys(value.props).length * 48 + nodeBytes(value.kids);
  return nodeBytes(value);
}

function nodeBytes(node: KidsNode): number {
  return 64 + ("l" in node ? node.l.length * 110 : node.i.length * 80);
}

const versionKey = (spaceId: string, oid: string, seq: number) => `v|${spaceId}|${oid}|${seq}`;
const chunkKey = (spaceId: string, id: string) => `c|${spaceId}|${id}`;
const vidKey = (spaceId: string, oid: string, vid: string) => `i|${spaceId}|${oid}|${vid}`;

/** Caches a resolved version. */
function keep(cache: RowCache, spaceId: string, v: VersionRow): void {
  cache.lru.set(versionKey(spaceId, v.oid, v.seq), v);
}

/** Remembers the seq of a version found by its vid (vid lookups read the op table otherwise). */
export function rememberVid(cache: RowCache, spaceId: string, v: VersionRow): void {
  cache.lru.set(vidKey(spaceId, v.oid, v.vid), v.seq);
}

/** The seq of a cached version, by its vid. */
export function cachedSeqOfVid(cache: RowCache, spaceId: string, oid: string, vid: string): number | undefined {
  return cache.lru.get(vidKey(spaceId, oid, vid)) as number | undefined;
}

/** The vid text of a stored vid. */
export function vidText(devices: Devices, v: StoredVid): string {
  if (typeof v === "string") return v;
  const dev = devices.b64.get(v.dev);
  if (dev === undefined) throw new Error(`device number ${v.dev} is not in the device table`);
  return `${b64(v.h)}.${dev}.${v.counter}`;
}

/** A cached chunk, if present. */
export function cachedChunk(cache: RowCache, spaceId: string, id: string): KidsNode | undefined {
  return cache.lru.get(chunkKey(spaceId, id)) as KidsNode | undefined;
}

/** A cached version, if present. */
export function cachedVersion(cache: RowCache, spaceId: string, oid: string, seq: number): VersionRow | undefined {
  return cache.lru.get(versionKey(spaceId, oid, seq)) as VersionRow | undefined;
}

interface RowRecord {
  oid: string;
  seq: number;
  body: Uint8Array;
}

/** A stored row's records, decoded once. */
interface DecodedRow {
  readonly seq: number;
  readonly records: VersionRecord[];
}

/**
 * Resolves the versions `wanted` of one objective from its rows (all rows from the chains' images
 * up), caching every version resolved on the way.
 */
function resolveRows(cache: RowCache, spaceId: string, oid: string, rows: readonly DecodedRow[], wanted: readonly number[], out: Map<string, VersionRow>): void {
  const records = new Map<number, { r: VersionRecord; row: number }>();
  for (const row of rows) for (const r of row.records) records.set(r.seq, { r, row: row.seq });
  const resolved = new Map<number, VersionRow>();
  const get = (seq: number): VersionRow | undefined => {
    const known = resolved.get(seq) ?? cachedVersion(cache, spaceId, oid, seq);
    if (known) return known;
    // Walk back to an image (or a version already resolved), then forward.
    const path: { r: VersionRecord; row: number }[] = [];
    let base: VersionRow | undefined;
    for (let s: number | undefined = seq; s !== undefined; ) {
      const hit = records.get(s);
      if (!hit || hit.r.kind === "mark") {
        if (s === seq) return undefined;
        throw new Error(`version ${oid}@${seq}: its delta chain lacks the record at seq ${s}`);
      }
      path.push(hit);
      if (hit.r.kind === "image") break;
      s = hit.r.base;
      base = resolved.get(s) ?? cachedVersion(cache, spaceId, oid, s);
      if (base) break;
    }
    let v = base;
    for (let i = path.length - 1; i >= 0; i--) {
      const { r, row } = path[i]!;
      if (r.kind === "mark") return undefined;
      const state: State = r.kind === "image" ? r.state : applyDelta(v!, r.delta);
      const chain =
        r.kind === "image"
          ? { depth: 0, bytes: 0, imageBytes: r.size, imageRow: row }
          : { depth: v!.chain.depth + 1, bytes: v!.chain.bytes + r.size, imageBytes: v!.chain.imageBytes, imageRow: v!.chain.imageRow };
      v = { oid, vid: vidText(cache.devices, r.vid), seq: r.seq, createdAt: r.at, ...state, chain };
      resolved.set(r.seq, v);
      keep(cache, spaceId, v);
    }
    return v;
  };
  for (const seq of wanted) {
    const v = get(seq);
    if (v) out.set(`${oid}|${seq}`, v);
  }
}

/** Device numbers records use (the dictionary may lack those another engine added). */
function devicesOf(rows: readonly DecodedRow[]): Set<number> {
  const nos = new Set<number>();
  for (const row of rows) for (const r of row.records) if (r.kind !== "mark" && typeof r.vid !== "string") nos.add(r.vid.dev);
  return nos;
}

/**
 * Versions by `(oid, seq)`: cached ones at once, the misses in ONE statement (one row per version
 * wanted, the segment holding it). Missing keys are absent.
 */
export async function loadVersions(
  cache: RowCache,
  q: Queryable,
  spaceId: string,
  keys: readonly (readonly [oid: string, seq: number])[],
): Promise<Map<string, VersionRow>> {
  const out = new Map<string, VersionRow>();
  const missOids: string[] = [];
  const missSeqs: number[] = [];
  for (const [oid, seq] of keys) {
    const hit = cachedVersion(cache, spaceId, oid, seq);
    if (hit) out.set(`${oid}|${seq}`, hit);
    else if (!out.has(`${oid}|${seq}`)) {
      missOids.push(oid);
      missSeqs.push(seq);
    }
  }
  if (missOids.length === 0) return out;
  const rows = await q.query<RowRecord & Record<string, unknown>>(
    // Per wanted version: the segment holding it, the objective's row with the greatest key not
    // after it. A lateral join forces an index probe whatever the planner estimates. Versions
    // sharing a segment repeat it; they are told apart below (a `distinct` here sorted the bodies).
    `select v.oid, v.seq, v.body
       from unnest($2::uuid[], $3::int8[]) as k(oid, s)
       cross join lateral (select t.oid, t.seq, t.body from version t where t.space_id = $1 and t.oid = k.oid and t.seq <= k.s order by t.seq desc limit 1) v`,
    [spaceId, missOids, missSeqs],
  );
  cache.rowsRead += rows.length;
  const byOid = new Map<string, DecodedRow[]>();
  for (const r of rows) {
    const list = byOid.get(r.oid) ?? [];
    if (list.some((d) => d.seq === r.seq)) continue;
    list.push({ seq: r.seq, records: decodeBody(r.body) });
    byOid.set(r.oid, list);
  }
  await loadDevices(cache.devices, q, devicesOf([...byOid.values()].flat()));
  const wanted = new Map<string, number[]>();
  missOids.forEach((oid, i) => {
    const list = wanted.get(oid) ?? [];
    list.push(missSeqs[i]!);
    wanted.set(oid, list);
  });
  for (const [oid, list] of byOid) {
    list.sort((a, b) => a.seq - b.seq);
    resolveRows(cache, spaceId, oid, list, wanted.get(oid) ?? [], out);
  }
  return out;
}

/** One version, or undefined. */
export async function loadVersion(cache: RowCache, q: Queryable, spaceId: string, oid: string, seq: number): Promise<VersionRow | undefined> {
  return (await loadVersions(cache, q, spaceId, [[oid, seq]])).get(`${oid}|${seq}`);
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
        const rows = await q.query<{ chunk_id: Uint8Array; node: Uint8Array }>(
          "select chunk_id, node from chunk where space_id = $1 and chunk_id in (select decode(h, 'hex') from unnest($2::text[]) h)",
          [spaceId, miss.map((id) => fromB64(id).toString("hex"))],
        );
        cache.rowsRead += rows.length;
        for (const r of rows) {
          const id = b64(r.chunk_id);
          const node = decodeNode(unpack(r.node));
          cache.lru.set(chunkKey(spaceId, id), node);
          out.set(id, node);
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

/** Puts freshly committed versions and chunks into the cache (never before commit: a rollback would lie). */
export function remember(cache: RowCache, spaceId: string, versions: Iterable<VersionRow>, chunks: ReadonlyMap<string, KidsNode>): void {
  for (const v of versions) keep(cache, spaceId, v);
  for (const [id, node] of chunks) cache.lru.set(chunkKey(spaceId, id), node);
}
