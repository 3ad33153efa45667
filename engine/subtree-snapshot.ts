/**
 * A snapshot of ONE subtree at one version (DESIGN.md §8: "the current state of a space, or of one
 * subtree `(oid, vid)`"): the stored rows that version reaches, with its history up to it, copied as
 * they are and cut at it. Loaded with `loadSnapshot` into an empty space, it reads there as
 * `(oid, vid)` reads on the exporter, with the same vids, as a document of its own, and stays
 * editable; every older version of it reads there too, and checks out offline.
 *
 * What travels:
 * - the objectives of the subtree at `vid` with their records up to `vid` (the segment holding it
 *   is cut after it: the copy is the exporter's state at that moment);
 * - the objectives older versions of those linked (what left the subtree before `vid`), each with
 *   its records up to the newest version of it so linked: its life elsewhere stays behind;
 * - the op rows that wrote those records (vids resolve and `history` reads as on the exporter; an
 *   op's `touched` list keeps only objectives of the copy), the chunks of every version's children.
 * The root's rows name no place above it; it is listed as a document. Entries (roles) and folds stay
 * behind: the copy belongs to whoever loads it.
 */
import type { Queryable } from "../storage/contract.js";
import type { Core } from "./core.js";
import { EngineError, invalid, notFound } from "./errors.js";
import { seqOfVid, storedVidLookup } from "./find-version.js";
import { fromB64, unpackEach } from "./format/codec.js";
import { decodeTouched, encodeTouched, opVidDevices } from "./format/op-row.js";
import { decodeRecord, type VersionRecord } from "./format/record.js";
import { chunkLoader, createRowCache, loadVersion, loadVersions, resolveVersions, type RowCache } from "./format/row-cache.js";
import type { KidsNode } from "./children-tree.js";
import { cutBody, REMOVED } from "./format/rows.js";
import { isVid } from "./ids.js";
import type { SnapshotFrame } from "./snapshot.js";
import { checkId } from "./validate.js";
import { walkSubtree } from "./walk-subtree.js";

/** Options of `exportSubtree`. */
export interface SubtreeExportOptions {
  /**
   * Objectives the reader may not see (a `none` entry of theirs): FORBIDDEN, sending nothing, when
   * the version reaches one. A sync server passes a member's hidden subtrees.
   */
  readonly hidden?: ReadonlySet<string>;
}

/** Objectives per version and op frame (an objective's rows stay in one frame). */
const OIDS_PER_FRAME = 500;

/** Cache for a pinned read: its rows are of one moment, which the engine's shared cache must not keep. */
const PINNED_CACHE_BYTES = 16 * 1024 * 1024;

/**
 * The rows of the subtree of `oid` at version `vid`, frame by frame: a head (with `subtree`), then
 * `version`, `op`, `version_alias`, `chunk` and `document` frames, then the end. NOT_FOUND when
 * the space does not hold that version. On a backend with pinned reads (Postgres) the frames are
 * one moment while writers go on; elsewhere keep writers away from the space meanwhile.
 *
 * @example
 * // A copy of a branch as it was, in a space of its own here:
 * await engine.loadSnapshot(copySpaceId, engine.exportSubtree(spaceId, oid, vid));
 */
export async function* exportSubtree(core: Core, spaceId: string, oid: string, vid: string, options: SubtreeExportOptions = {}): AsyncGenerator<SnapshotFrame> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid).toLowerCase();
  if (!isVid(vid)) throw invalid(`vid ${JSON.stringify(vid)} is not a version id`);
  const pinned = core.storage.readSnapshot ? await core.storage.readSnapshot() : undefined;
  try {
    yield* frames(core, pinned ?? core.storage, pinned !== undefined, spaceId, oid, vid, options);
  } finally {
    await pinned?.release();
  }
}

async function* frames(core: Core, q: Queryable, isPinned: boolean, spaceId: string, oid: string, vid: string, options: SubtreeExportOptions): AsyncGenerator<SnapshotFrame> {
  const [space] = await q.query<{ seq: number }>("select seq from space where space_id = $1", [spaceId]);
  if (!space) throw notFound(`space ${spaceId} does not exist`);
  const cache = isPinned ? createRowCache(PINNED_CACHE_BYTES, core.cache.devices) : core.cache;
  const seq = await seqOfVid(storedVidLookup(q, spaceId), oid, vid);
  const root = seq === undefined ? undefined : await loadVersion(cache, q, spaceId, oid, seq);
  if (!root || root.vid !== vid) throw notFound(`objective ${oid} has no version ${vid} in space ${spaceId}`);
  const reached = await reach(cache, q, spaceId, oid, seq!);
  const hidden = options.hidden ? [...reached.upTo.keys()].find((o) => options.hidden!.has(o)) : undefined;
  if (hidden) throw new EngineError("FORBIDDEN", `the subtree of ${oid} at ${vid} or its history holds objective ${hidden}, which is hidden from its reader`);
  const inside = new Set(reached.upTo.keys());
  const keys = [...reached.upTo];

  // Rows first (held in memory: the head names the devices they name).
  const named = new Set<number>();
  const opSeqs = new Set<number>();
  const versionPages: (readonly unknown[])[][] = [];
  for (let i = 0; i < keys.length; i += OIDS_PER_FRAME) {
    const part = keys.slice(i, i + OIDS_PER_FRAME);
    // The rows `reach` read (every row up to each objective's limit), in key order.
    const rows = part.flatMap(([o]) => [...reached.rows.get(o)!.values()].sort((x, y) => x.seq - y.seq));
    const out: (readonly unknown[])[] = [];
    // Rows cut back: their place columns are the place after their new last record.
    const cuts: { at: number; vseq: number }[] = [];
    rows.forEach((r, n) => {
      const o = r.oid.toLowerCase();
      const s = reached.upTo.get(o)!;
      const last = rows[n + 1]?.oid.toLowerCase() !== o;
      let row: readonly unknown[] = [r.oid, r.seq, r.vseq, r.parent_oid, r.pos, r.flags, r.body];
      if (last) {
        // The segment holding the linked version ends with it: what came after is not this copy's.
        const kept = cutBody(r.body, s + 1);
        if (!kept) throw new Error(`version ${r.oid}@${s} is missing its records`);
        const removed = kept.last.kind === "mark" && kept.last.removal;
        if (kept.cut) cuts.push({ at: out.length, vseq: vseqOf(kept.last) });
        if (kept.cut) row = [r.oid, r.seq, vseqOf(kept.last), null, null, (r.flags & ~REMOVED) | (removed ? REMOVED : 0), Buffer.from(kept.body)];
        // The root is a root in the copy: no place above it.
        if (o === oid) row = [row[0], row[1], row[2], null, null, row[5], row[6]];
      }
      unpackEach(row[6] as Uint8Array, (value, start, end) => {
        const rec = decodeRecord(value, end - start);
        opSeqs.add(rec.seq);
        if (rec.kind !== "mark" && typeof rec.vid !== "string") named.add(rec.vid.dev);
      });
      out.push(row);
    });
    const places = await loadVersions(cache, q, spaceId, cuts.map((c) => [String(out[c.at]![0]), c.vseq] as const));
    for (const c of cuts) {
      const r = out[c.at]!;
      const place = places.get(`${String(r[0])}|${c.vseq}`);
      if (!place) throw new Error(`version ${String(r[0])}@${c.vseq} is missing`);
      if (String(r[0]).toLowerCase() !== oid) out[c.at] = [r[0], r[1], r[2], place.parentOid, place.pos, r[5], r[6]];
    }
    versionPages.push(out);
  }

  const opPages: (readonly unknown[])[][] = [];
  const seqs = [...opSeqs].sort((a, b) => a - b);
  for (let i = 0; i < seqs.length; i += OIDS_PER_FRAME) {
    const rows = await q.query<Record<string, unknown>>(
      `select op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, detail, server_seq, vids, touched
         from op where space_id = $1 and seq = any($2::int8[]) order by seq`,
      [spaceId, seqs.slice(i, i + OIDS_PER_FRAME)],
    );
    opPages.push(
      rows.map((r) => {
        for (const d of opVidDevices(r["vids"] as Uint8Array | null)) named.add(d);
        // What the op touched outside the subtree is not the copy's to know.
        const touched = r["touched"] === null ? null : encodeTouched(decodeTouched(r["touched"] as Uint8Array).filter((t) => inside.has(t.toLowerCase())));
        return [r["op_id"], r["hlc"], r["kind"], r["oid"], r["at"], r["actor"], r["device"], r["data"], r["seq"], r["outcome"], r["detail"], r["server_seq"], r["vids"], touched];
      }),
    );
  }
  const aliases = await q.query<{ vid: string; oid: string; seq: number }>(
    `select a.vid, a.oid::text as oid, a.seq from unnest($2::uuid[], $3::int8[]) as k(oid, upto)
       join version_alias a on a.space_id = $1 and a.oid = k.oid and a.seq <= k.upto order by a.vid`,
    [spaceId, keys.map(([o]) => o), keys.map(([, s]) => s)],
  );
  const devices = await q.query<{ no: number; id: string }>("select no, id::text as id from device where no = any($1::int4[]) order by no", [[...named]]);

  yield { t: "head", cursor: 0, seq: space.seq, devices: devices.map((d) => [d.no, d.id] as const), subtree: { oid, vid } };
  let total = 0;
  for (const rows of versionPages) {
    total += rows.length;
    yield { t: "version", rows };
  }
  for (const rows of opPages) {
    total += rows.length;
    if (rows.length > 0) yield { t: "op", rows };
  }
  if (aliases.length > 0) {
    total += aliases.length;
    yield { t: "version_alias", rows: aliases.map((a) => [a.vid, a.oid, a.seq]) };
  }
  const ids = [...reached.chunks];
  for (let i = 0; i < ids.length; i += OIDS_PER_FRAME) {
    const part = ids.slice(i, i + OIDS_PER_FRAME);
    const rows = await q.query<{ chunk_id: Uint8Array; node: Uint8Array }>(
      "select chunk_id, node from chunk where space_id = $1 and chunk_id in (select decode(h, 'hex') from unnest($2::text[]) h) order by chunk_id",
      [spaceId, part.map((id) => fromB64(id).toString("hex"))],
    );
    total += rows.length;
    yield { t: "chunk", rows: rows.map((r) => [r.chunk_id, r.node]) };
  }
  total += 1;
  yield { t: "document", rows: [[oid, seq!]] };
  yield { t: "end", rows: total };
}

/**
 * Every objective the copy holds, with the seq its records are cut after: those of the subtree at
 * `seq` up to `seq`; those only older versions linked, up to the newest version so linked. And
 * the chunks of every copied version's children. Reads a level of objectives at a time (their rows,
 * then their versions, then their children's chunks), again for those whose limit grew.
 */
async function reach(cache: RowCache, q: Queryable, spaceId: string, oid: string, seq: number): Promise<{ upTo: Map<string, number>; chunks: Set<string>; rows: Map<string, Map<number, VersionRowRecord>> }> {
  const tree = await walkSubtree(cache, q, spaceId, [[oid, seq]]);
  const upTo = new Map(tree.keys.map(([o]) => [o.toLowerCase(), seq]));
  const chunks = new Set(tree.chunks.keys());
  const loader = chunkLoader(cache, q, spaceId);
  // What each objective's versions were expanded up to.
  const done = new Map<string, number>();
  // Every row read, per objective by seq: the export sends them (they are all up to its limit).
  const read = new Map<string, Map<number, VersionRowRecord>>();
  let todo = [...upTo.keys()];
  while (todo.length > 0) {
    const next = new Set<string>();
    for (let i = 0; i < todo.length; i += OIDS_PER_FRAME) {
      const part = todo.slice(i, i + OIDS_PER_FRAME);
      const rows = await q.query<VersionRowRecord>(
        `select v.oid::text as oid, v.seq, v.vseq, v.parent_oid::text as parent_oid, v.pos, v.flags, v.body from unnest($2::uuid[], $3::int8[], $4::int8[]) as k(oid, upto, done)
           join version v on v.space_id = $1 and v.oid = k.oid and v.seq <= k.upto
             and not exists (select 1 from version w where w.space_id = $1 and w.oid = k.oid and w.seq > v.seq and w.seq <= k.done)`,
        [spaceId, part, part.map((o) => upTo.get(o)!), part.map((o) => done.get(o) ?? -1)],
      );
      const keys: (readonly [string, number])[] = [];
      for (const r of rows) {
        const o = r.oid.toLowerCase();
        const held = read.get(o) ?? new Map<number, VersionRowRecord>();
        held.set(r.seq, r);
        read.set(o, held);
        const from = done.get(o) ?? -1;
        const to = upTo.get(o)!;
        unpackEach(r.body, (value, start, end) => {
          const rec = decodeRecord(value, end - start);
          if (rec.kind !== "mark" && rec.seq > from && rec.seq <= to) keys.push([o, rec.seq]);
        });
      }
      for (const o of part) done.set(o, upTo.get(o)!);
      // Resolved from the rows in hand (each segment starts with an image): no second read.
      const versions = await resolveVersions(cache, q, spaceId, rows, keys);
      let nodes: KidsNode[] = [...versions.values()].map((v) => v.kids);
      while (nodes.length > 0) {
        const inner: string[] = [];
        for (const node of nodes) {
          if ("i" in node) {
            for (const ref of node.i) if (!chunks.has(ref[0])) {
              chunks.add(ref[0]);
              inner.push(ref[0]);
            }
            continue;
          }
          for (const [child, s] of node.l) {
            const c = child.toLowerCase();
            // An objective of the subtree at `seq` is taken up to `seq` already.
            if (s > (upTo.get(c) ?? -1)) {
              upTo.set(c, s);
              next.add(c);
            }
          }
        }
        nodes = inner.length > 0 ? await loader.getMany(inner) : [];
      }
    }
    todo = [...next];
  }
  return { upTo, chunks, rows: read };
}

/** A stored version row (a segment), as the export reads it. */
type VersionRowRecord = {
  oid: string;
  seq: number;
  vseq: number;
  parent_oid: string | null;
  pos: string | null;
  flags: number;
  body: Uint8Array;
};

/** The version current after a record (a mark keeps one). */
function vseqOf(r: VersionRecord): number {
  return r.kind === "mark" ? r.vseq : r.seq;
}
