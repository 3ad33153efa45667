/**
 * A space's stored rows as they are (DESIGN.md §8, "bootstrap from a snapshot"): what one engine
 * exports (the sync server's replica) another loads into an empty space, so a device joining a
 * space with a long history copies versions instead of replaying every op. Rows travel unchanged:
 * the same records, chunks, op log, seqs and vids, so the device holds exactly what the replica
 * holds at its pull cursor and goes on pulling ops after it.
 *
 * Records and op rows name devices by a per-database number (engine/format/devices.ts): the loader
 * numbers the snapshot's devices in its own database and, where the numbers differ, rewrites the
 * vids of records and ops with its own (children chunks name no device, so they travel unchanged).
 */
import type { CopyColumn, Queryable } from "../storage/contract.js";
import type { Core } from "./core.js";
import { EngineError, invalid } from "./errors.js";
import { deviceNo, ensureDevices } from "./format/devices.js";
import { fromB64, pack, unpack, unpackEach } from "./format/codec.js";
import { forget } from "./known.js";
import { checkId } from "./validate.js";

/** One frame of a snapshot, in the order `exportSnapshot` yields them. */
export type SnapshotFrame =
  | {
      readonly t: "head";
      /** The exporter's pull cursor: the device pulls ops after it. */
      readonly cursor: number;
      /** The space's op counter (local seqs are part of the rows: children name versions by seq). */
      readonly seq: number;
      /** The device numbers the rows name (the devices of the space's ops), with their ids. */
      readonly devices: readonly (readonly [number, string])[];
      /** A partial replica's tops (engine/partial-replica.ts), and those withheld; absent in a whole snapshot. */
      readonly tops?: readonly { readonly oid: string; readonly vid: string; readonly entries?: number }[];
      readonly withheld?: readonly string[];
      /** The tops whose rows follow (the others the device holds as they are); absent: all. */
      readonly sent?: readonly string[];
      /** A partial replica's entries mark (`PartialTops.entries`) and the replica's newest clock. */
      readonly entries?: number;
      readonly hlc?: string;
      /** A subtree snapshot's root and version (engine/subtree-snapshot.ts); absent in a whole snapshot. */
      readonly subtree?: { readonly oid: string; readonly vid: string };
    }
  | { readonly t: SnapshotTable; readonly rows: readonly (readonly unknown[])[] }
  | { readonly t: "end"; readonly rows: number };

/** The tables of a space a snapshot copies (folds are per device and stay behind). */
export type SnapshotTable = "version" | "chunk" | "op" | "document" | "version_alias" | "share";

const COLUMNS: { readonly [T in SnapshotTable]: { readonly key: readonly string[]; readonly cols: readonly string[]; readonly types: readonly string[] } } = {
  version: { key: ["oid", "seq"], cols: ["oid", "seq", "vseq", "parent_oid", "pos", "flags", "body"], types: ["uuid", "int8", "int8", "uuid", "text", "int2", "bytea"] },
  chunk: { key: ["chunk_id"], cols: ["chunk_id", "node"], types: ["bytea", "bytea"] },
  op: {
    key: ["op_id"],
    cols: ["op_id", "hlc", "kind", "oid", "at", "actor", "device", "data", "seq", "outcome", "detail", "server_seq", "vids", "touched"],
    types: ["text", "text", "text", "text", "int8", "text", "text", "bytea", "int8", "text", "text", "int8", "bytea", "bytea"],
  },
  document: { key: ["oid"], cols: ["oid", "seq"], types: ["uuid", "int8"] },
  version_alias: { key: ["vid"], cols: ["vid", "oid", "seq"], types: ["text", "uuid", "int8"] },
  share: { key: ["oid", "user_id", "seq"], cols: ["oid", "user_id", "seq", "role"], types: ["uuid", "text", "int8", "text"] },
};

/** Rows per frame at most, and bytes of their largest column: a frame stays a few megabytes. */
const PAGE = 2_000;
const PAGE_BYTES = 4 * 1024 * 1024;

/** The size of the column that makes most of each table's rows (what cuts a page). */
const BIG: { readonly [T in SnapshotTable]: string } = {
  version: "octet_length(version.body)",
  chunk: "octet_length(chunk.node)",
  op: "octet_length(op.data)",
  document: "16",
  version_alias: "octet_length(version_alias.vid)",
  share: "octet_length(share.user_id)",
};

/**
 * The stored rows of a space, frame by frame, read in key order a page at a time (memory holds one
 * page). The frames are one consistent state: on a backend with pinned reads (Postgres,
 * `Storage.readSnapshot`) they all come from the moment of the first, and writers go on meanwhile;
 * elsewhere (PGlite) the caller keeps writers away from the space (the replica's round lock).
 */
export async function* exportSnapshot(core: Core, spaceId: string): AsyncGenerator<SnapshotFrame> {
  spaceId = checkId("spaceId", spaceId);
  const pinned = core.storage.readSnapshot ? await core.storage.readSnapshot() : undefined;
  try {
    yield* frames(pinned ?? core.storage, spaceId);
  } finally {
    await pinned?.release();
  }
}

async function* frames(q: Queryable, spaceId: string): AsyncGenerator<SnapshotFrame> {
  const [space] = await q.query<{ seq: number; pulled: number }>("select seq, pulled from space where space_id = $1", [spaceId]);
  if (!space) throw new EngineError("NOT_FOUND", `space ${spaceId} does not exist`);
  // Only the devices of this space's ops: records name no other (and other users' stay unlisted).
  const devices = await q.query<{ no: number; id: string }>(
    "select no, id::text as id from device where id::text in (select distinct device from op where space_id = $1) order by no",
    [spaceId],
  );
  yield { t: "head", cursor: space.pulled, seq: space.seq, devices: devices.map((d) => [d.no, d.id] as const) };
  let total = 0;
  for (const table of Object.keys(COLUMNS) as SnapshotTable[]) {
    const { key, cols } = COLUMNS[table];
    // Keys compare and sort as stored (uuid, bytea), whatever text the rows are sent as.
    const own = key.map((k) => `${table}.${k}`);
    let after: unknown[] | undefined;
    for (;;) {
      const from = after ? `and (${own.join(", ")}) > (${key.map((_, i) => `$${i + 2}`).join(", ")})` : "";
      const params = after ? [spaceId, ...after] : [spaceId];
      // The page's keys and sizes first: it ends before PAGE_BYTES (one row at least).
      const sizes = await q.query<Record<string, unknown>>(
        `select ${own.join(", ")}, ${BIG[table]} as bytes from ${table} where space_id = $1 ${from} order by ${own.join(", ")} limit ${PAGE}`,
        params,
      );
      if (sizes.length === 0) break;
      let n = 0;
      let bytes = 0;
      while (n < sizes.length && (n === 0 || bytes + Number(sizes[n]!["bytes"]) <= PAGE_BYTES)) bytes += Number(sizes[n++]!["bytes"]);
      const upTo = key.map((k) => sizes[n - 1]![k]);
      const rows = await q.query<Record<string, unknown>>(
        `select ${cols.map((c) => (c === "oid" && table !== "op" ? `${table}.oid::text as oid` : c === "parent_oid" ? "parent_oid::text as parent_oid" : `${table}.${c}`)).join(", ")} from ${table}
          where space_id = $1 ${from} and (${own.join(", ")}) <= (${key.map((_, i) => `$${params.length + i + 1}`).join(", ")})
          order by ${own.join(", ")}`,
        [...params, ...upTo],
      );
      total += rows.length;
      yield { t: table, rows: rows.map((r) => cols.map((c) => r[c] ?? null)) };
      if (n === sizes.length && sizes.length < PAGE) break;
      after = upTo;
    }
  }
  yield { t: "end", rows: total };
}

/**
 * Loads a snapshot into a space this database does not have yet (or has empty). The frames are
 * read to the end first (held in memory: about the size of the space's rows), then written in ONE
 * short transaction: a stream that breaks off, or anything wrong in it, leaves nothing behind, and
 * no other write of this database waits for the network. Returns the pull cursor the rows are at.
 */
export async function loadSnapshot(core: Core, spaceId: string, source: AsyncIterable<SnapshotFrame> | Iterable<SnapshotFrame>): Promise<{ cursor: number; rows: number }> {
  spaceId = checkId("spaceId", spaceId);
  const { head, tables, rows } = await readFrames(core, source, "snapshot", new Set(Object.keys(COLUMNS) as SnapshotTable[]));
  // A subtree copy lists its root, and only it, as a document.
  const documents = tables.flatMap((f) => (f.t === "document" ? f.rows.map((r) => String(r[0]).toLowerCase()) : []));
  if (head.subtree && (documents.length !== 1 || documents[0] !== String(head.subtree.oid).toLowerCase())) {
    throw invalid(`a subtree snapshot of ${JSON.stringify(head.subtree.oid)} must list it as its one document, not ${JSON.stringify(documents)}`);
  }
  const result = await core.storage.transaction(async (tx) => {
    const [state] = await tx.query<{ has: boolean; rows: boolean }>(
      `select exists (select 1 from space where space_id = $1) as has,
              exists (select 1 from op where space_id = $1) or exists (select 1 from version where space_id = $1) as rows`,
      [spaceId],
    );
    if (state!.rows) throw new EngineError("CONFLICT", `space ${spaceId} holds rows already: a snapshot loads into an empty space`);
    if (state!.has) await tx.query("update space set seq = $2, pulled = $3 where space_id = $1", [spaceId, head.seq, head.cursor]);
    else await tx.query("insert into space (space_id, seq, created_at, pulled) values ($1, $2, $3, $4)", [spaceId, head.seq, core.now(), head.cursor]);
    for (const frame of tables) await insertRows(tx, spaceId, frame.t, frame.rows);
    // A subtree copy is its loader's: an engine acting for a user makes them its manager (no op
    // here made the document, so no creator would be found; seq 0: no undo takes it away).
    if (head.subtree && core.actor !== undefined) {
      await tx.query("insert into share (space_id, oid, user_id, seq, role) values ($1, $2, $3, 0, 'manager')", [spaceId, head.subtree.oid, core.actor]);
    }
    const [last] = await tx.query<{ hlc: string | null }>("select max(hlc) as hlc from op where space_id = $1", [spaceId]);
    return { cursor: head.cursor, rows, hlc: last?.hlc ?? null };
  });
  // Local ops made from now on sort after everything the snapshot holds.
  if (result.hlc) core.clock.receive(result.hlc);
  forget(core.known, spaceId);
  core.cache.lru.clear();
  return { cursor: result.cursor, rows: result.rows };
}

/** Chunks by id (as the row cache names them), a frame of at most `CHUNKS_PER_FRAME` at a time, in key order. */
export async function* chunkFrames(q: Queryable, spaceId: string, ids: readonly string[]): AsyncGenerator<RowsFrame> {
  for (let i = 0; i < ids.length; i += CHUNKS_PER_FRAME) {
    const part = ids.slice(i, i + CHUNKS_PER_FRAME);
    const rows = await q.query<{ chunk_id: Uint8Array; node: Uint8Array }>(
      "select chunk_id, node from chunk where space_id = $1 and chunk_id in (select decode(h, 'hex') from unnest($2::text[]) h) order by chunk_id",
      [spaceId, part.map((id) => fromB64(id).toString("hex"))],
    );
    yield { t: "chunk", rows: rows.map((r) => [r.chunk_id, r.node]) };
  }
}

/** Chunks per frame in `chunkFrames` (a chunk holds at most 64 links: a frame stays well under a megabyte). */
const CHUNKS_PER_FRAME = 500;

/** A frame of a snapshot's head, and one of rows of a table. */
export type HeadFrame = Extract<SnapshotFrame, { readonly t: "head" }>;
export type RowsFrame = Extract<SnapshotFrame, { readonly t: SnapshotTable }>;

/**
 * A whole stream of frames (a snapshot, or a partial replica: `what` names it in messages), read
 * and checked before anything is written: one head first, then frames of `allowed` tables, then an
 * end that counts their rows. The rows come with this database's device numbers (the head's
 * devices numbered here first, committed on their own like every device number).
 */
export async function readFrames(
  core: Core,
  source: AsyncIterable<SnapshotFrame> | Iterable<SnapshotFrame>,
  what: string,
  allowed: ReadonlySet<SnapshotTable>,
): Promise<{ head: HeadFrame; tables: RowsFrame[]; rows: number }> {
  const frames: SnapshotFrame[] = [];
  for await (const frame of source) frames.push(frame);
  const head = frames[0];
  if (head?.t !== "head") throw invalid(`a ${what} starts with its head`);
  const tables: RowsFrame[] = [];
  let rows = 0;
  let ended = false;
  for (const frame of frames.slice(1)) {
    if (ended) throw invalid(`${what} frames follow its end`);
    if (frame.t === "head") throw invalid(`a ${what} has one head`);
    if (frame.t === "end") {
      if (frame.rows !== rows) throw invalid(`the ${what} says ${frame.rows} rows, ${rows} arrived`);
      ended = true;
      continue;
    }
    if (!allowed.has(frame.t)) throw invalid(`${what} frame of unexpected kind ${JSON.stringify(frame.t)}`);
    tables.push(frame);
    rows += frame.rows.length;
  }
  if (!ended) throw invalid(`the ${what} ended before its last frame`);
  await ensureDevices(core.cache.devices, core.storage, head.devices.map(([, id]) => id));
  const map = new Map(head.devices.map(([no, id]) => [no, deviceNo(core.cache.devices, id)]));
  if ([...map].some(([theirs, mine]) => theirs !== mine)) {
    for (const [i, f] of tables.entries()) tables[i] = { t: f.t, rows: f.rows.map((r) => renumber(f.t, r, map)) };
  }
  return { head, tables, rows };
}

/** Inserts one frame's rows: binary COPY where the backend has it (PGlite), else one statement. */
export async function insertRows(tx: Queryable, spaceId: string, table: SnapshotTable, rows: readonly (readonly unknown[])[]): Promise<void> {
  const { cols, types } = COLUMNS[table];
  for (const r of rows) if (!Array.isArray(r) || r.length !== cols.length) throw invalid(`a ${table} row of the snapshot must have ${cols.length} fields`);
  if (tx.copyRows) {
    const columns: CopyColumn[] = [{ name: "space_id", type: "uuid" }, ...cols.map((name, i) => ({ name, type: types[i] as CopyColumn["type"] }))];
    await tx.copyRows(table, columns, rows.map((r) => [spaceId, ...r]));
    return;
  }
  const params = cols.map((_, i) => rows.map((r) => {
    const v = r[i];
    return types[i] === "bytea" && v !== null ? Buffer.from(v as Uint8Array).toString("base64") : v;
  }));
  const select = cols.map((c, i) => (types[i] === "bytea" ? `decode(t.${c}, 'base64')` : `t.${c}`)).join(", ");
  const unnest = cols.map((_, i) => `$${i + 2}::${types[i] === "bytea" ? "text" : types[i]}[]`).join(", ");
  await tx.query(`insert into ${table} (space_id, ${cols.join(", ")}) select $1, ${select} from unnest(${unnest}) as t(${cols.join(", ")})`, [spaceId, ...params]);
}

/** A vid as records and op rows store it, `[hash, device number, counter]`, with this database's number. */
function vidHere(vid: unknown, map: ReadonlyMap<number, number>): unknown {
  if (!Array.isArray(vid) || vid.length !== 3 || typeof vid[1] !== "number") return vid;
  const mine = map.get(vid[1]);
  if (mine === undefined) throw invalid(`a snapshot vid names device number ${vid[1]}, which its head does not list`);
  return [vid[0], mine, vid[2]];
}

/**
 * One row with this database's device numbers: the vid (third field) of each image and delta
 * record of a version body, and the vids an op row shows in history.
 */
function renumber(table: SnapshotTable, row: readonly unknown[], map: ReadonlyMap<number, number>): readonly unknown[] {
  if (table === "version") {
    const body = row[6] as Uint8Array;
    const parts: Buffer[] = [];
    unpackEach(body, (value) => {
      const r = value as unknown[];
      // The encoder reuses its buffer: each record is copied out.
      parts.push(Buffer.from(pack(r[0] === 0 || r[0] === 1 ? [r[0], r[1], vidHere(r[2], map), ...r.slice(3)] : r)));
    });
    return [...row.slice(0, 6), Buffer.concat(parts)];
  }
  if (table === "op" && row[12] !== null) {
    const [before, after] = unpack(row[12] as Uint8Array) as [unknown, unknown];
    return [...row.slice(0, 12), Buffer.from(pack([vidHere(before, map), vidHere(after, map)])), row[13]];
  }
  return row;
}
