/**
 * Image or delta? A new version is stored as a delta against the version it replaces when that is
 * cheaper to keep and still cheap to read: Mercurial's revlog rule (a new full image once the
 * deltas since the last one add up to more than twice its size) with git's cap on chain depth.
 * A delta is only allowed against the objective's newest version: it is appended to the newest row,
 * the segment its chain starts in (engine/format/rows.ts), so any version is one row.
 */
import type { Chain, VersionRow } from "../types.js";
import type { Devices } from "./devices.js";
import { diffState, encodeRecord, type NewRecord, type State, type StoredVid } from "./record.js";

/** Most deltas between an image and the version read (bounds the rows a cold read fetches). */
export const MAX_CHAIN = 16;
/** A new image once the deltas since the last one pass this multiple of its size. */
export const CHAIN_BYTES = 2;

/** A version about to be written. */
export interface NewVersion {
  readonly oid: string;
  readonly seq: number;
  /** The vid as records store it. */
  readonly vid: StoredVid;
  readonly at: number;
  /** The version it replaces; null when the objective is created. */
  readonly base: VersionRow | null;
  readonly state: State;
  /** The version current after the objective's newest stored record (undefined: unknown). */
  readonly latest: number | undefined;
  /** Key of the objective's newest stored row (undefined: unknown). */
  readonly latestRow: number | undefined;
  readonly lost?: readonly string[];
  readonly gained?: readonly string[];
}

/** The record of a new version, its chain, and its encoded bytes. */
export function versionRecord(devices: Devices, v: NewVersion): { record: NewRecord; chain: Chain; bytes: Buffer } {
  const lost = { ...(v.lost && v.lost.length > 0 ? { lost: v.lost } : {}), ...(v.gained && v.gained.length > 0 ? { gained: v.gained } : {}) };
  const base = v.base;
  // A delta goes to the newest row, so its base must be the newest version AND be in that row (a
  // removal mark can name an older, restored version as the one it kept).
  if (base && v.latest === base.seq && v.latestRow === base.chain.imageRow && base.chain.depth < MAX_CHAIN) {
    const record: NewRecord = { kind: "delta", seq: v.seq, vid: v.vid, at: v.at, base: base.seq, delta: diffState(base, v.state), ...lost };
    const bytes = encodeRecord(record, devices);
    if (base.chain.bytes + bytes.length <= CHAIN_BYTES * base.chain.imageBytes) {
      return { record, bytes, chain: { depth: base.chain.depth + 1, bytes: base.chain.bytes + bytes.length, imageBytes: base.chain.imageBytes, imageRow: base.chain.imageRow } };
    }
  }
  const record: NewRecord = { kind: "image", seq: v.seq, vid: v.vid, at: v.at, base: base?.seq ?? null, state: v.state, ...lost };
  const bytes = encodeRecord(record, devices);
  // An image starts a new row (segment), keyed by its own seq.
  return { record, bytes, chain: { depth: 0, bytes: 0, imageBytes: bytes.length, imageRow: v.seq } };
}
