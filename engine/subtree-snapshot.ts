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
import { unpackEach } from "./format/codec.js";
import { decodeTouched, encodeTouched, opVidDevices } from "./format/op-row.js";
import { decodeRecord, type VersionRecord } from "./format/record.js";
import { chunkLoader, createRowCache, loadVersion, loadVersions, type RowCache } from "./format/row-cache.js";
import type { KidsNode } from "./children-tree.js";
import { cutBody, REMOVED } from "./format/rows.js";
import { isVid } from "./ids.js";
import { chunkFrames, type SnapshotFrame } from "./snapshot.js";
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
  const keys = [...reached.upTo];

  // Rows first (held in memory: the head names the devices they name).
  const named = new Set<number>();
  const opSeqs = new Set<number>();
  const versionPages: (readonly unknown[])[][] = [];
  for (let i = 0; i < keys.length; i += OIDS_PER_FRAME) {
    const part = keys.slice(i, i + OIDS_PER_FRAME);
    // The rows `reach` read (every row up to each objective's limit), in key order.
    const rows = part.flatMap(([o]) => reached.rows.get(o) ?? []);
    const out: (readonly unknown[])[] = [];
    // Rows cut back: their place columns are the place after their new last record.
    const cuts: { at: number; vseq: number }[] = [];
    rows.forEach((r, n) => {
      const o = r.oid.toLowerCase();
      const s = reached.upTo.get(o)!;
      const last = rows[n + 1]?.oid.toLowerCase() !== o;
      // The root is a root in the copy: none of its rows names a place above it.
      let row: readonly unknown[] = o === oid ? [r.oid, r.seq, r.vseq, null, null, r.flags, r.body] : [r.oid, r.seq, r.vseq, r.parent_oid, r.pos, r.flags, r.body];
      if (last) {
        // The segment holding the newest reached version ends with it: what came after is not this copy's.
        const kept = cutBody(r.body, s + 1);
        if (!kept) throw new Error(`version ${r.oid}@${s} is missing its records`);
        const removed = kept.last.kind === "mark" && kept.last.removal;
        if (kept.cut) row = [r.oid, r.seq, vseqOf(kept.last), row[3], row[4], (r.flags & ~REMOVED) | (removed ? REMOVED : 0), Buffer.from(kept.body)];
        // An objective of the tree at `vid` names where it is there (a checkout above may have put
        // it there, and the copy holds no op that says so); one of its history only, where it was
        // after its last record here.
        const place = reached.places.get(o);
        if (place) row = [row[0], row[1], row[2], place.parentOid, place.pos, row[5], row[6]];
        else if (kept.cut && o !== oid) cuts.push({ at: out.length, vseq: vseqOf(kept.last) });
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
      out[c.at] = [r[0], r[1], r[2], place.parentOid, place.pos, r[5], r[6]];
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
        const touched = r["touched"] === null ? null : encodeTouched(decodeTouched(r["touched"] as Uint8Array).filter((t) => reached.upTo.has(t.toLowerCase())));
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
  for (const rows of bounded(versionPages.flat(), 6)) {
    total += rows.length;
    yield { t: "version", rows };
  }
  for (const rows of bounded(opPages.flat(), 7)) {
    total += rows.length;
    yield { t: "op", rows };
  }
  if (aliases.length > 0) {
    total += aliases.length;
    yield { t: "version_alias", rows: aliases.map((a) => [a.vid, a.oid, a.seq]) };
  }
  for await (const frame of chunkFrames(q, spaceId, [...reached.chunks])) {
    total += frame.rows.length;
    yield frame;
  }
  total += 1;
  // Seq 0, as a partial replica's tops: no op here made the document (no creator), no undo takes it away.
  yield { t: "document", rows: [[oid, 0]] };
  yield { t: "end", rows: total };
}

/**
 * What the copy holds. The versions the history of `(oid, seq)` reaches: the root's versions up
 * to `seq`, every version one of them links, and so on down (an objective's versions made while it
 * lived elsewhere are not reached, nor what they linked). Per objective, the seq its records are
 * cut after: its newest reached version. With the chunks of every reached version, the places in
 * the tree at `seq` (what the copy's newest rows name), and each objective's stored rows up to its
 * cut. A level of versions at a time (one statement per batch, then their chunks).
 */
async function reach(cache: RowCache, q: Queryable, spaceId: string, oid: string, seq: number): Promise<Reached> {
  const tree = await walkSubtree(cache, q, spaceId, [[oid, seq]]);
  // Chunks expanded so far (those of the tree at `seq` too: their links are reached from here).
  const chunks = new Set<string>();
  const loader = chunkLoader(cache, q, spaceId);
  const upTo = new Map<string, number>([[oid, seq]]);
  const seen = new Set<string>();
  let frontier: (readonly [string, number])[] = [];
  for (const r of (await rowsUpTo(q, spaceId, [[oid, seq]])).get(oid) ?? []) {
    unpackEach(r.body, (value, start, end) => {
      const rec = decodeRecord(value, end - start);
      if (rec.kind !== "mark" && rec.seq <= seq) frontier.push([oid, rec.seq]);
    });
  }
  for (const [o, s] of frontier) seen.add(`${o}|${s}`);
  while (frontier.length > 0) {
    const next: (readonly [string, number])[] = [];
    for (let i = 0; i < frontier.length; i += VERSIONS_PER_READ) {
      const versions = await loadVersions(cache, q, spaceId, frontier.slice(i, i + VERSIONS_PER_READ));
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
            if (seen.has(`${c}|${s}`)) continue;
            seen.add(`${c}|${s}`);
            next.push([c, s]);
            if (s > (upTo.get(c) ?? -1)) upTo.set(c, s);
          }
        }
        nodes = inner.length > 0 ? await loader.getMany(inner) : [];
      }
    }
    frontier = next;
  }
  return { upTo, chunks, places: tree.places, rows: await rowsUpTo(q, spaceId, [...upTo]) };
}

/** What `reach` found. */
interface Reached {
  readonly upTo: Map<string, number>;
  readonly chunks: Set<string>;
  readonly places: ReadonlyMap<string, { readonly parentOid: string; readonly pos: string }>;
  readonly rows: Map<string, VersionRowRecord[]>;
}

/** Versions resolved per statement while reaching. */
const VERSIONS_PER_READ = 2_000;

/** Each objective's stored rows up to a seq, in key order: index probes (a lateral join), a batch at a time. */
async function rowsUpTo(q: Queryable, spaceId: string, keys: readonly (readonly [string, number])[]): Promise<Map<string, VersionRowRecord[]>> {
  const out = new Map<string, VersionRowRecord[]>();
  for (let i = 0; i < keys.length; i += OIDS_PER_FRAME) {
    const part = keys.slice(i, i + OIDS_PER_FRAME);
    const rows = await q.query<VersionRowRecord>(
      `select v.oid::text as oid, v.seq, v.vseq, v.parent_oid::text as parent_oid, v.pos, v.flags, v.body
         from unnest($2::uuid[], $3::int8[]) as k(oid, upto)
         cross join lateral (select * from version t where t.space_id = $1 and t.oid = k.oid and t.seq <= k.upto order by t.seq) v`,
      [spaceId, part.map(([o]) => o), part.map(([, s]) => s)],
    );
    for (const r of rows) {
      const o = r.oid.toLowerCase();
      const list = out.get(o) ?? [];
      list.push(r);
      out.set(o, list);
    }
  }
  return out;
}

/** Rows per frame at most, and bytes of their largest column, as in a whole snapshot: a frame stays a few megabytes. */
const PAGE = 2_000;
const PAGE_BYTES = 4 * 1024 * 1024;

/** Rows cut into frames of at most PAGE rows and PAGE_BYTES of column `big` (one row at least). */
function* bounded(rows: readonly (readonly unknown[])[], big: number): Generator<(readonly unknown[])[]> {
  let page: (readonly unknown[])[] = [];
  let bytes = 0;
  for (const r of rows) {
    const size = (r[big] as Uint8Array | null)?.length ?? 0;
    if (page.length > 0 && (page.length === PAGE || bytes + size > PAGE_BYTES)) {
      yield page;
      page = [];
      bytes = 0;
    }
    page.push(r);
    bytes += size;
  }
  if (page.length > 0) yield page;
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
