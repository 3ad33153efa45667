/**
 * A space's stored rows as they are (DESIGN.md §8, "bootstrap from a snapshot"): what one engine
 * exports (the sync server's replica) another loads into an empty space, so a device joining a
 * space with a long history copies versions instead of replaying every op. Rows travel unchanged:
 * the same records, chunks, op log, seqs and vids, so the device holds exactly what the replica
 * holds at its pull cursor and goes on pulling ops after it.
 *
 * Records name devices by a per-database number (engine/format/devices.ts), so both databases must
 * number the snapshot's devices alike: a database with no rows yet takes the exporter's numbering.
 */
import type { Queryable } from "../storage/contract.js";
import type { Core } from "./core.js";
import { EngineError, invalid } from "./errors.js";
import { rememberDevice } from "./format/devices.js";
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
      /** Every device number the rows may name, with its id. */
      readonly devices: readonly (readonly [number, string])[];
    }
  | { readonly t: SnapshotTable; readonly rows: readonly (readonly unknown[])[] }
  | { readonly t: "end"; readonly rows: number };

/** The tables of a space a snapshot copies (folds are per device and stay behind). */
export type SnapshotTable = "version" | "chunk" | "op" | "document" | "version_alias";

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
};

/** Rows per frame: a frame of version rows stays around a megabyte. */
const PAGE = 2_000;

/**
 * The stored rows of a space, frame by frame, read in key order a page at a time (memory holds one
 * page). The caller keeps writers away from the space meanwhile (the replica's round lock), so the
 * frames are one consistent state.
 */
export async function* exportSnapshot(core: Core, spaceId: string): AsyncGenerator<SnapshotFrame> {
  spaceId = checkId("spaceId", spaceId);
  const q = core.storage;
  const [space] = await q.query<{ seq: number; pulled: number }>("select seq, pulled from space where space_id = $1", [spaceId]);
  if (!space) throw new EngineError("NOT_FOUND", `space ${spaceId} does not exist`);
  const devices = await q.query<{ no: number; id: string }>("select no, id::text as id from device order by no");
  yield { t: "head", cursor: space.pulled, seq: space.seq, devices: devices.map((d) => [d.no, d.id] as const) };
  let total = 0;
  for (const table of Object.keys(COLUMNS) as SnapshotTable[]) {
    const { key, cols } = COLUMNS[table];
    let after: unknown[] | undefined;
    for (;;) {
      const keyed = key.map((k, i) => `$${i + 2}`);
      const rows = await q.query<Record<string, unknown>>(
        `select ${cols.map((c) => (c === "oid" && table !== "op" ? "oid::text as oid" : c === "parent_oid" ? "parent_oid::text as parent_oid" : c)).join(", ")} from ${table}
          where space_id = $1 ${after ? `and (${key.join(", ")}) > (${keyed.join(", ")})` : ""}
          order by ${key.join(", ")} limit ${PAGE}`,
        after ? [spaceId, ...after] : [spaceId],
      );
      if (rows.length === 0) break;
      total += rows.length;
      yield { t: table, rows: rows.map((r) => cols.map((c) => r[c] ?? null)) };
      if (rows.length < PAGE) break;
      const last = rows[rows.length - 1]!;
      after = key.map((k) => last[k]);
    }
  }
  yield { t: "end", rows: total };
}

/**
 * Loads a snapshot into a space this database does not have yet (or has empty), in ONE
 * transaction: anything wrong (a frame out of order, a device numbering that cannot be matched)
 * leaves nothing behind. Returns the pull cursor the rows are at.
 */
export async function loadSnapshot(core: Core, spaceId: string, frames: AsyncIterable<SnapshotFrame> | Iterable<SnapshotFrame>): Promise<{ cursor: number; rows: number }> {
  spaceId = checkId("spaceId", spaceId);
  const result = await core.storage.transaction(async (tx) => {
    const [state] = await tx.query<{ has: boolean; rows: boolean }>(
      `select exists (select 1 from space where space_id = $1) as has,
              exists (select 1 from op where space_id = $1) or exists (select 1 from version where space_id = $1) as rows`,
      [spaceId],
    );
    if (state!.rows) throw new EngineError("CONFLICT", `space ${spaceId} holds rows already: a snapshot loads into an empty space`);
    let head: Extract<SnapshotFrame, { t: "head" }> | undefined;
    let rows = 0;
    let ended = false;
    for await (const frame of frames) {
      if (ended) throw invalid("snapshot frames follow its end");
      if (frame.t === "head") {
        if (head) throw invalid("a snapshot has one head");
        head = frame;
        await matchDevices(core, tx, frame.devices);
        if (state!.has) await tx.query("update space set seq = $2, pulled = $3 where space_id = $1", [spaceId, frame.seq, frame.cursor]);
        else await tx.query("insert into space (space_id, seq, created_at, pulled) values ($1, $2, $3, $4)", [spaceId, frame.seq, core.now(), frame.cursor]);
      } else if (frame.t === "end") {
        if (frame.rows !== rows) throw invalid(`the snapshot says ${frame.rows} rows, ${rows} arrived`);
        ended = true;
      } else {
        if (!head) throw invalid(`snapshot frame ${JSON.stringify(frame.t)} before its head`);
        const spec = COLUMNS[frame.t];
        if (!spec) throw invalid(`snapshot frame of unknown kind ${JSON.stringify(frame.t)}`);
        await insertRows(tx, spaceId, frame.t, frame.rows);
        rows += frame.rows.length;
      }
    }
    if (!head || !ended) throw invalid("the snapshot ended before its last frame");
    const [last] = await tx.query<{ hlc: string | null }>("select max(hlc) as hlc from op where space_id = $1", [spaceId]);
    return { cursor: head.cursor, rows, hlc: last?.hlc ?? null };
  });
  // Local ops made from now on sort after everything the snapshot holds.
  if (result.hlc) core.clock.receive(result.hlc);
  forget(core.known, spaceId);
  core.cache.lru.clear();
  return { cursor: result.cursor, rows: result.rows };
}

/** Inserts one frame's rows: binary COPY where the backend has it, else one statement. */
async function insertRows(tx: Queryable, spaceId: string, table: SnapshotTable, rows: readonly (readonly unknown[])[]): Promise<void> {
  const { cols, types } = COLUMNS[table];
  for (const r of rows) if (!Array.isArray(r) || r.length !== cols.length) throw invalid(`a ${table} row of the snapshot must have ${cols.length} fields`);
  const params = cols.map((_, i) => rows.map((r) => {
    const v = r[i];
    return types[i] === "bytea" && v !== null ? Buffer.from(v as Uint8Array).toString("base64") : v;
  }));
  const select = cols.map((c, i) => (types[i] === "bytea" ? `decode(t.${c}, 'base64')` : `t.${c}`)).join(", ");
  const unnest = cols.map((_, i) => `$${i + 2}::${types[i] === "bytea" ? "text" : types[i]}[]`).join(", ");
  await tx.query(`insert into ${table} (space_id, ${cols.join(", ")}) select $1, ${select} from unnest(${unnest}) as t(${cols.join(", ")})`, [spaceId, ...params]);
}

/**
 * Makes this database number the snapshot's devices as the exporter does: nothing to do when it
 * already does; a database with no rows at all takes the exporter's numbering (its own device is
 * numbered after); anything else cannot load the snapshot (CONFLICT: replay the ops instead).
 */
async function matchDevices(core: Core, tx: Queryable, devices: readonly (readonly [number, string])[]): Promise<void> {
  const local = await tx.query<{ no: number; id: string }>("select no, id::text as id from device");
  const byNo = new Map(local.map((d) => [d.no, d.id]));
  const byId = new Map(local.map((d) => [d.id, d.no]));
  if (devices.every(([no, id]) => byNo.get(no) === id || (!byNo.has(no) && !byId.has(id)))) {
    const missing = devices.filter(([no]) => !byNo.has(no));
    if (missing.length > 0) await numberDevices(tx, missing, local);
  } else {
    const [used] = await tx.query<{ any: boolean }>("select exists (select 1 from version) or exists (select 1 from op) as any");
    if (used!.any) throw new EngineError("CONFLICT", "this database numbers devices differently from the snapshot and holds rows already: replay the space's ops instead");
    await tx.query("delete from device");
    const own = devices.some(([, id]) => id === core.deviceId) ? [] : [[Math.max(0, ...devices.map(([no]) => no)) + 1, core.deviceId] as const];
    const others = local.filter((d) => d.id !== core.deviceId && !devices.some(([, id]) => id === d.id));
    const next = Math.max(0, ...devices.map(([no]) => no), ...own.map(([no]) => no));
    await numberDevices(tx, [...devices, ...own, ...others.map((d, i) => [next + 1 + i, d.id] as const)], []);
  }
  const all = await tx.query<{ no: number; id: string }>("select no, id::text as id from device");
  const d = core.cache.devices;
  d.byId.clear();
  d.byNo.clear();
  d.b64.clear();
  for (const r of all) rememberDevice(d, r.no, r.id);
}

/** Inserts devices with the given numbers and moves the counter past the highest. */
async function numberDevices(tx: Queryable, devices: readonly (readonly [number, string])[], local: readonly { no: number }[]): Promise<void> {
  if (devices.length === 0) return;
  await tx.query("insert into device (no, id) overriding system value select * from unnest($1::int4[], $2::uuid[])", [devices.map(([no]) => no), devices.map(([, id]) => id)]);
  const top = Math.max(...devices.map(([no]) => no), ...local.map((d) => d.no));
  await tx.query(`alter table device alter column no restart with ${top + 1}`);
}
