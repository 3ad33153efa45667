/**
 * The data step of schema migration 6 (storage/migrations.ts): rewrites a database written by
 * schema 5 (one full `objective` row per version, `op_transitive`, the `active_version` index,
 * `op` and `op_log`) into version records, in the same transaction. Every version keeps its vid
 * (listed in `version_alias`, since old vids name no op) and its seq; records are images (old
 * data has no deltas to keep), links name child versions by seq, chunks are re-encoded.
 */
import type { Queryable } from "../../storage/contract.js";
import type { ChunkRef, Entry, KidsNode } from "../children-tree.js";
import { EMPTY } from "../children-tree.js";
import { ZERO_STATS } from "../stats.js";
import type { Props, Stats, VersionRow } from "../types.js";
import { chunkBytes, chunkIdOf } from "./chunk.js";
import { fromB64 } from "./codec.js";
import { createDevices, ensureDevices } from "./devices.js";
import { encodeOpData, encodeOpVids, encodeTouched } from "./op-row.js";
import type { NewRecord } from "./record.js";
import { segmentWrites, type StoredRow, type Written } from "./rows.js";

type OldEntry = [string, string, string, number];
type OldNode = { l: OldEntry[] } | { i: [string, string, number, number][] };

interface OldVersion {
  oid: string;
  vid: string;
  parent_oid: string | null;
  pos: string | null;
  content: string;
  props: Props;
  kids: OldNode | null;
  stats: Stats | null;
  created_at: number;
  seq: number;
}

const BATCH = 2000;

async function insertStored(tx: Queryable, spaceId: string, rows: readonly StoredRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const part = rows.slice(i, i + BATCH);
    await tx.query(
      `insert into version (space_id, oid, seq, vseq, parent_oid, pos, flags, body)
         select $1, (r->>0)::uuid, (r->>1)::int8, (r->>2)::int8, (r->>3)::uuid, r->>4, (r->>5)::int2, decode(r->>6, 'base64')
           from jsonb_array_elements($2::jsonb) r`,
      [spaceId, JSON.stringify(part.map((r) => [r.oid, r.seq, r.vseq, r.parentOid, r.pos, r.flags, r.body.toString("base64")]))],
    );
  }
}

/** Converts one space. */
async function space(tx: Queryable, spaceId: string, devices: ReturnType<typeof createDevices>, progress: (m: string) => void): Promise<void> {
  const versions = await tx.query<OldVersion & Record<string, unknown>>(
    "select oid, vid, parent_oid, pos, content, props, kids, stats, created_at, seq from objective where space_id = $1 order by oid, seq",
    [spaceId],
  );
  progress(`space ${spaceId}: ${versions.length} versions`);
  const seqOf = new Map<string, number>(versions.map((v) => [`${v.oid}|${v.vid}`, v.seq]));
  const entry = (e: OldEntry): Entry => {
    const seq = seqOf.get(`${e[0]}|${e[1]}`);
    if (seq === undefined) throw new Error(`upgrade: link to ${e[0]}@${e[1]} names no version`);
    return [e[0], seq, e[2], e[3]];
  };
  // Chunks: leaves first, then inner nodes once their children have new ids.
  const oldChunks = await tx.query<{ chunk_id: string; node: OldNode }>("select chunk_id, node from link where space_id = $1", [spaceId]);
  const newId = new Map<string, string>();
  const newChunks: [string, KidsNode][] = [];
  let left = oldChunks;
  while (left.length > 0) {
    const next: typeof left = [];
    for (const c of left) {
      let node: KidsNode | undefined;
      if ("l" in c.node) node = { l: c.node.l.map(entry) };
      else if (c.node.i.every((r) => newId.has(r[0]))) node = { i: c.node.i.map((r): ChunkRef => [newId.get(r[0])!, r[1], r[2], r[3]]) };
      if (!node) {
        next.push(c);
        continue;
      }
      const id = chunkIdOf(chunkBytes(node));
      newId.set(c.chunk_id, id);
      newChunks.push([id, node]);
    }
    if (next.length === left.length) throw new Error(`upgrade: ${next.length} chunks of space ${spaceId} refer to chunks that do not exist`);
    left = next;
  }
  const kidsOf = (k: OldNode | null): KidsNode => {
    if (k === null) return EMPTY;
    if ("l" in k) return k.l.length === 0 ? EMPTY : { l: k.l.map(entry) };
    return { i: k.i.map((r): ChunkRef => [newId.get(r[0])!, r[1], r[2], r[3]]) };
  };
  for (let i = 0; i < newChunks.length; i += BATCH) {
    const part = newChunks.slice(i, i + BATCH);
    await tx.query(
      `insert into chunk (space_id, chunk_id, node) select $1, decode(r->>0, 'base64'), decode(r->>1, 'base64') from jsonb_array_elements($2::jsonb) r on conflict do nothing`,
      [spaceId, JSON.stringify(part.map(([id, node]) => [fromB64(id).toString("base64"), chunkBytes(node).toString("base64")]))],
    );
  }
  // What each op did to each objective: a new version, or none (a removal).
  const transitive = await tx.query<{ oid: string; seq: number; vid_before: string | null; vid_after: string | null }>(
    "select oid, seq, vid_before, vid_after from op_transitive where space_id = $1 order by oid, seq",
    [spaceId],
  );
  const ops = await tx.query<{ seq: number; kind: string; oid: string }>("select seq, kind, oid::text from op where space_id = $1", [spaceId]);
  const opBySeq = new Map(ops.map((o) => [o.seq, o]));
  const byOid = new Map<string, { t?: (typeof transitive)[number]; v?: OldVersion }[]>();
  const key = (oid: string, seq: number) => `${oid}|${seq}`;
  const steps = new Map<string, { t?: (typeof transitive)[number]; v?: OldVersion }>();
  for (const v of versions) steps.set(key(v.oid, v.seq), { v });
  for (const t of transitive) {
    const s = steps.get(key(t.oid, t.seq));
    if (s) s.t = t;
    else steps.set(key(t.oid, t.seq), { t });
  }
  for (const [k, s] of steps) {
    const oid = k.slice(0, k.indexOf("|"));
    const list = byOid.get(oid) ?? [];
    list.push(s);
    byOid.set(oid, list);
  }
  const rows: StoredRow[] = [];
  const aliases: [string, string, number][] = [];
  for (const [oid, list] of byOid) {
    list.sort((a, b) => (a.v?.seq ?? a.t!.seq) - (b.v?.seq ?? b.t!.seq));
    let last: VersionRow | undefined;
    const written: Written[] = [];
    for (const s of list) {
      const seq = s.v?.seq ?? s.t!.seq;
      const op = opBySeq.get(seq);
      // Objectives that left this one's subtree by this op (a superset for moves: both sides).
      const lost = op && (op.kind === "move" || op.kind === "remove") && op.oid !== oid ? [op.oid] : undefined;
      // And those that entered it by a move (a superset too: both sides).
      const gained = op && op.kind === "move" && op.oid !== oid ? [op.oid] : undefined;
      if (s.v) {
        const v = s.v;
        const state = { parentOid: v.parent_oid, pos: v.pos, content: v.content, props: v.props, kids: kidsOf(v.kids), stats: v.stats ?? ZERO_STATS };
        const before = s.t?.vid_before ?? null;
        const base = before === null ? null : (seqOf.get(`${oid}|${before}`) ?? null);
        const record: NewRecord = { kind: "image", seq, vid: v.vid, at: v.created_at, base, state, ...(lost ? { lost } : {}), ...(gained ? { gained } : {}) };
        const version: VersionRow = { oid, vid: v.vid, seq, createdAt: v.created_at, ...state, chain: { depth: 0, bytes: 0, imageBytes: 0, imageRow: seq } };
        const moved = last !== undefined && (last.parentOid !== state.parentOid || last.pos !== state.pos);
        const restored = base !== null && last !== undefined && base !== last.seq;
        written.push({ record, version, bytes: undefined, row: seq, moved, restored });
        aliases.push([v.vid, oid, seq]);
        last = version;
      } else if (last) {
        // No version: a removal (or an op that kept this objective's version), in the last segment.
        const record: NewRecord = { kind: "mark", seq, vseq: last.seq, removal: op?.kind === "remove" && op.oid === oid, ...(lost ? { lost } : {}), ...(gained ? { gained } : {}) };
        written.push({ record, version: last, bytes: undefined, row: last.chain.imageRow, moved: false, restored: false });
      }
    }
    rows.push(...segmentWrites(written, devices).inserts);
  }
  await insertStored(tx, spaceId, rows);
  for (let i = 0; i < aliases.length; i += BATCH) {
    await tx.query(
      "insert into version_alias (space_id, vid, oid, seq) select $1, r->>0, (r->>1)::uuid, (r->>2)::int8 from jsonb_array_elements($2::jsonb) r",
      [spaceId, JSON.stringify(aliases.slice(i, i + BATCH))],
    );
  }
  progress(`space ${spaceId}: ${rows.length} version rows, ${newChunks.length} chunks`);
  // The op log, one table: every op known, its outcome, the vids history shows, what it touched.
  const log = await tx.query<{
    op_id: string; hlc: string; kind: string; oid: string; at: number; actor: string | null; device: string; data: Props;
    seq: number | null; outcome: string | null; detail: string | null; server_seq: number | null;
  }>("select op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, detail, server_seq from op_log where space_id = $1", [spaceId]);
  const vids = new Map(
    (await tx.query<{ seq: number; vid_before: string | null; vid_after: string | null }>("select seq, vid_before, vid_after from op where space_id = $1", [spaceId])).map((o) => [o.seq, o]),
  );
  const touched = new Map<number, string[]>();
  for (const t of transitive) touched.set(t.seq, [...(touched.get(t.seq) ?? []), t.oid]);
  await ensureDevices(devices, tx, log.map((o) => o.device).filter((d) => /^[0-9a-f-]{36}$/.test(d)));
  for (let i = 0; i < log.length; i += BATCH) {
    const part = log.slice(i, i + BATCH).map((o) => {
      const v = o.seq === null ? undefined : vids.get(o.seq);
      return [
        o.op_id, o.hlc, o.kind, o.oid, o.at, o.actor, o.device, encodeOpData(o.data).toString("base64"), o.seq, o.outcome, o.detail, o.server_seq,
        v ? encodeOpVids(v.vid_before, v.vid_after, devices).toString("base64") : null,
        o.seq === null ? null : encodeTouched(touched.get(o.seq) ?? []).toString("base64"),
      ];
    });
    await tx.query(
      `insert into op_v6 (space_id, op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, detail, server_seq, vids, touched)
         select $1, r->>0, r->>1, r->>2, r->>3, (r->>4)::int8, r->>5, r->>6, decode(r->>7, 'base64'), (r->>8)::int8, r->>9, r->>10, (r->>11)::int8,
                decode(r->>12, 'base64'), decode(r->>13, 'base64')
           from jsonb_array_elements($2::jsonb) r`,
      [spaceId, JSON.stringify(part)],
    );
  }
  await tx.query(
    `insert into document (space_id, oid, seq)
       select a.space_id, a.oid, (select min(t.seq) from op_transitive t where t.space_id = a.space_id and t.oid = a.oid)
         from active_version a where a.space_id = $1 and a.is_root`,
    [spaceId],
  );
  await tx.query("update space set pulled = coalesce((select max(server_seq) from op_log where space_id = $1), 0) where space_id = $1", [spaceId]);
}

/** Migration 6's data step: every space, converted in the migration's transaction. */
export async function upgradeToRecords(tx: Queryable, progress: (message: string) => void): Promise<void> {
  const devices = createDevices();
  const [me] = await tx.query<{ value: string }>("select value from meta where key = 'device_id'");
  if (me) await ensureDevices(devices, tx, [me.value]);
  const spaces = await tx.query<{ space_id: string }>("select space_id from space order by space_id");
  for (const s of spaces) await space(tx, s.space_id, devices, progress);
}
