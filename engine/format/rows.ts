/**
 * Stored rows of the `version` table. A row is a SEGMENT: an image record and the records after it
 * (deltas against the version before them, marks), until the next image starts a new row. So any
 * version is one row, read with one index probe (the objective's row with the greatest key not
 * after its seq) and resolved in memory; a new delta is appended to the newest row in place. The
 * columns are what queries look at without decoding:
 *
 *   seq        the first record's seq (the primary key is `(space_id, oid, seq)`)
 *   vseq       the version current after the last record (the last version record's seq, or
 *              the version a mark kept)
 *   parent_oid, pos  the objective's place after the last record: where to look for it first
 *   flags      MOVED (a record changed its place: older places are candidates when looking for
 *              it), LOST (a record lists objectives that left its subtree: checkout reads them),
 *              RESTORED (a record builds on an older version than the newest: a checkout above
 *              restored it) and REMOVED (the last record removes the objective)
 *   body       the records (engine/format/record.ts), concatenated
 */
import type { VersionRow } from "../types.js";
import { unpackEach } from "./codec.js";
import type { Devices } from "./devices.js";
import { decodeRecord, encodeRecord, type NewRecord, type VersionRecord } from "./record.js";

/** A record's place changed: its older places are where a checkout may have restored it. */
export const MOVED = 1;
/** Its records list objectives that left the subtree (moves out, removals) or entered it by a move. */
export const LOST = 2;
/** A record is based on an older version than the objective's newest (a checkout above restored it). */
export const RESTORED = 4;
/** Its last record removes the objective from its parent (for a document root: the document). */
export const REMOVED = 8;

/** A new row of the `version` table (a segment starting with an image). */
export interface StoredRow {
  readonly oid: string;
  readonly seq: number;
  readonly vseq: number;
  readonly parentOid: string | null;
  readonly pos: string | null;
  readonly flags: number;
  readonly body: Buffer;
}

/**
 * Records appended to an objective's newest stored row (its segment keyed `seq`): `body` is what
 * is appended, `flags` are added, and REMOVED is set or cleared by `removed`.
 */
export interface Appended extends StoredRow {
  readonly removed: boolean;
}

/** One record a transaction writes, with the version it made (or, for a mark, kept). */
export interface Written {
  readonly record: NewRecord;
  readonly version: VersionRow;
  /** The record encoded already (version records are, to weigh image against delta). */
  readonly bytes: Buffer | undefined;
  /** The key of the row (segment) it goes to: its own seq for an image, else the newest row's. */
  readonly row: number;
  /** Whether the record changed the objective's place (create excluded). */
  readonly moved: boolean;
  /** Whether the record builds on an older version than the objective's newest. */
  readonly restored: boolean;
}

/** What a transaction writes to the `version` table: new segments and records appended to stored ones. */
export interface SegmentWrites {
  readonly inserts: StoredRow[];
  readonly appends: Appended[];
}

/** Groups a transaction's records (in seq order) into new rows and appends. */
export function segmentWrites(written: readonly Written[], devices: Devices): SegmentWrites {
  const groups = new Map<string, Written[]>();
  for (const w of written) {
    const key = `${w.version.oid}|${w.row}`;
    const list = groups.get(key);
    if (list) list.push(w);
    else groups.set(key, [w]);
  }
  const out: SegmentWrites = { inserts: [], appends: [] };
  for (const list of groups.values()) {
    const first = list[0]!;
    const last = list[list.length - 1]!;
    let flags = 0;
    for (const w of list) {
      if (w.moved) flags |= MOVED;
      if (w.restored) flags |= RESTORED;
      if ((w.record.lost && w.record.lost.length > 0) || (w.record.gained && w.record.gained.length > 0)) flags |= LOST;
    }
    const removed = last.record.kind === "mark" && last.record.removal;
    const common = {
      oid: first.version.oid,
      seq: first.row,
      vseq: last.record.kind === "mark" ? last.record.vseq : last.record.seq,
      parentOid: last.version.parentOid,
      pos: last.version.pos,
      body: Buffer.concat(list.map((w) => w.bytes ?? encodeRecord(w.record, devices))),
    };
    if (first.record.kind === "image" && first.record.seq === first.row) out.inserts.push({ ...common, flags: flags | (removed ? REMOVED : 0) });
    else out.appends.push({ ...common, flags, removed });
  }
  return out;
}

/** The records of a stored row body. */
export function decodeBody(body: Uint8Array): VersionRecord[] {
  const out: VersionRecord[] = [];
  unpackEach(body, (value, start, end) => out.push(decodeRecord(value, end - start)));
  return out;
}

/**
 * A stored row cut before `seq` (undoing the ops from `seq` on): the bytes of its records before
 * it and the last of them; undefined when no record of it is before `seq`, the row itself when
 * none is at or after it.
 */
export function cutBody(body: Uint8Array, seq: number): { body: Uint8Array; last: VersionRecord; cut: boolean } | undefined {
  let end = 0;
  let last: VersionRecord | undefined;
  let cut = false;
  unpackEach(body, (value, start, stop) => {
    const r = decodeRecord(value, stop - start);
    if (r.seq < seq) {
      end = stop;
      last = r;
    } else cut = true;
  });
  return last ? { body: body.subarray(0, end), last, cut } : undefined;
}

/** Where a segment's records leave the objective, record by record (see `replay`). */
export interface Step {
  readonly seq: number;
  readonly parentOid: string | null;
  readonly pos: string | null;
  /** The version current after the record. */
  readonly vseq: number;
  /** Whether the record removes the objective. */
  readonly removed: boolean;
  /**
   * Whether the record set the place: an image, a delta that moved it, or a mark that brought an
   * older version back elsewhere.
   */
  readonly placed: boolean;
}

/**
 * Replays a segment's records up to `upTo` (all when undefined): a segment starts with an image
 * and a delta names only the fields it changes (a move may keep the position key, a reorder the
 * parent), so the place after each record is known only by replaying from the image.
 */
export function replay(body: Uint8Array, upTo?: number): Step[] {
  const steps: Step[] = [];
  // Each version's step: a delta names its fields against its base, which after a checkout
  // brought an older version back is not the record before it.
  const versions = new Map<number, Step>();
  let at: Step | undefined;
  const moved = (from: Step, parentOid: string | null, pos: string | null) => from.parentOid !== parentOid || from.pos !== pos;
  for (const r of decodeBody(body)) {
    if (upTo !== undefined && r.seq > upTo) break;
    if (r.kind === "image") at = { seq: r.seq, parentOid: r.state.parentOid, pos: r.state.pos, vseq: r.seq, removed: false, placed: true };
    else if (!at) continue;
    else if (r.kind === "delta") {
      const d = r.delta;
      const base = versions.get(r.base) ?? at;
      const parentOid = d.parentOid !== undefined ? d.parentOid : base.parentOid;
      const pos = d.pos !== undefined ? d.pos : base.pos;
      at = { seq: r.seq, parentOid, pos, vseq: r.seq, removed: false, placed: d.parentOid !== undefined || d.pos !== undefined || moved(at, parentOid, pos) };
    } else {
      // A mark that brings an older version back (a checkout above revived the objective) puts
      // it where that version was: every tree that links a version gives it the place it records.
      const back = !r.removal && r.vseq !== at.vseq ? versions.get(r.vseq) : undefined;
      at = back
        ? { seq: r.seq, parentOid: back.parentOid, pos: back.pos, vseq: r.vseq, removed: false, placed: moved(at, back.parentOid, back.pos) }
        : { ...at, seq: r.seq, vseq: r.vseq, removed: r.removal, placed: false };
    }
    if (r.kind !== "mark") versions.set(r.seq, at);
    steps.push(at);
  }
  return steps;
}
