/**
 * Version records: what one op wrote for one objective. A version is stored either as an IMAGE
 * (its whole state: place, content, props, the root node of its children list, statistics) or as
 * a DELTA against the version it replaces (only the fields that changed; the children list as one
 * splice of its root node's items). A MARK records an op that touched the objective without
 * making a version (a removal), so that history lists it. Records are MessagePack arrays:
 *
 *   image  [0, seq, vid, at, base, parent, pos, content, props, kids, stats, lost?, gained?]
 *   delta  [1, seq, vid, at, base, mask, ...changed fields in image order, lost?, gained?]
 *   mark   [2, seq, vseq, removal, lost?]
 *
 * `vid` is `[hash (12 bytes), device number, counter]` (engine/ids.ts) or, for versions made
 * before schema 6, the old vid text. `lost` lists the objectives that left this objective's
 * subtree by this op (moves out, removals), `gained` (null `lost` when only it is there) those
 * that entered it by a move: checkout reads both to find what lives elsewhere now.
 */
import type { ChunkRef, Entry, KidsNode } from "../children-tree.js";
import { EMPTY } from "../children-tree.js";
import { VID } from "../ids.js";
import { jsonEqual } from "../json-equal.js";
import { percent, ZERO_STATS } from "../stats.js";
import type { Props, State, Stats } from "../types.js";
import { fromB64, pack, uuidBytes, uuidText } from "./codec.js";
import { decodeNode, encodeNode } from "./chunk.js";
import { deviceNo, type Devices } from "./devices.js";

export type { State } from "../types.js";

/** One splice of a children root's items, or a whole new root (when a leaf became inner or back). */
export type KidsPatch = { readonly node: KidsNode } | { readonly at: number; readonly del: number; readonly items: readonly (Entry | ChunkRef)[] };

/** The fields of a version that differ from its base. */
export interface Delta {
  readonly parentOid?: string | null;
  readonly pos?: string | null;
  readonly content?: string;
  readonly props?: Props;
  readonly kids?: KidsPatch;
  readonly stats?: Stats;
}

/** A vid as records hold it: its parts, or the text of a vid made before schema 6. */
export type StoredVid = { readonly h: Uint8Array; readonly dev: number; readonly counter: number } | string;

/** A decoded record. `size` is its encoded length (the revlog rule counts bytes). */
export type VersionRecord =
  | { readonly kind: "image"; readonly seq: number; readonly vid: StoredVid; readonly at: number; readonly base: number | null; readonly state: State; readonly lost?: readonly string[]; readonly gained?: readonly string[]; readonly size: number }
  | { readonly kind: "delta"; readonly seq: number; readonly vid: StoredVid; readonly at: number; readonly base: number; readonly delta: Delta; readonly lost?: readonly string[]; readonly gained?: readonly string[]; readonly size: number }
  | { readonly kind: "mark"; readonly seq: number; readonly vseq: number; readonly removal: boolean; readonly lost?: readonly string[]; readonly gained?: readonly string[]; readonly size: number };

/** The record of a version about to be written (its vid as text, or as the parts records store). */
export type NewRecord =
  | { readonly kind: "image"; readonly seq: number; readonly vid: string | StoredVid; readonly at: number; readonly base: number | null; readonly state: State; readonly lost?: readonly string[]; readonly gained?: readonly string[] }
  | { readonly kind: "delta"; readonly seq: number; readonly vid: string | StoredVid; readonly at: number; readonly base: number; readonly delta: Delta; readonly lost?: readonly string[]; readonly gained?: readonly string[] }
  | { readonly kind: "mark"; readonly seq: number; readonly vseq: number; readonly removal: boolean; readonly lost?: readonly string[]; readonly gained?: readonly string[] };

const FIELDS = ["parentOid", "pos", "content", "props", "kids", "stats"] as const;

function sameItem(a: Entry | ChunkRef, b: Entry | ChunkRef): boolean {
  return a === b || (a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3]);
}

function itemsOf(node: KidsNode): readonly (Entry | ChunkRef)[] {
  return "l" in node ? node.l : node.i;
}

/** The patch that turns one children root into another: one splice between common ends. */
export function diffKids(a: KidsNode, b: KidsNode): KidsPatch | undefined {
  if (a === b) return undefined;
  if ("l" in a !== "l" in b) return { node: b };
  const x = itemsOf(a);
  const y = itemsOf(b);
  let head = 0;
  while (head < x.length && head < y.length && sameItem(x[head]!, y[head]!)) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && sameItem(x[x.length - 1 - tail]!, y[y.length - 1 - tail]!)) tail++;
  if (head === x.length && head === y.length) return undefined;
  return { at: head, del: x.length - head - tail, items: y.slice(head, y.length - tail) };
}

/** Applies a children patch. */
export function patchKids(node: KidsNode, patch: KidsPatch): KidsNode {
  if ("node" in patch) return patch.node;
  const items = itemsOf(node).slice();
  items.splice(patch.at, patch.del, ...patch.items);
  if (items.length === 0) return EMPTY;
  return "l" in node ? { l: items as Entry[] } : { i: items as ChunkRef[] };
}

function sameStats(a: Stats, b: Stats): boolean {
  return a.descendants === b.descendants && a.total === b.total && a.done === b.done;
}

/** The delta from `base` to `next` (only what differs). */
export function diffState(base: State, next: State): Delta {
  const d: { -readonly [K in keyof Delta]: Delta[K] } = {};
  if (base.parentOid !== next.parentOid) d.parentOid = next.parentOid;
  if (base.pos !== next.pos) d.pos = next.pos;
  if (base.content !== next.content) d.content = next.content;
  if (base.props !== next.props && !jsonEqual(base.props, next.props)) d.props = next.props;
  const kids = diffKids(base.kids, next.kids);
  if (kids) d.kids = kids;
  if (!sameStats(base.stats, next.stats)) d.stats = next.stats;
  return d;
}

/** Applies a delta to its base. */
export function applyDelta(base: State, d: Delta): State {
  return {
    parentOid: d.parentOid !== undefined ? d.parentOid : base.parentOid,
    pos: d.pos !== undefined ? d.pos : base.pos,
    content: d.content ?? base.content,
    props: d.props ?? base.props,
    kids: d.kids ? patchKids(base.kids, d.kids) : base.kids,
    stats: d.stats ?? base.stats,
  };
}

const statsOut = (s: Stats) => (s.descendants === 0 && s.total === 0 ? null : [s.descendants, s.total, s.done]);
const statsIn = (v: unknown): Stats => {
  if (v === null || v === undefined) return ZERO_STATS;
  const [descendants, total, done] = v as [number, number, number];
  return { descendants, total, done, percent: percent(done, total) };
};
const idOut = (oid: string | null) => (oid === null ? null : uuidBytes(oid));
const idIn = (v: unknown) => (v === null ? null : uuidText(v as Uint8Array));
const kidsOut = (k: KidsNode) => ("l" in k && k.l.length === 0 ? null : encodeNode(k));
const kidsIn = (v: unknown) => (v === null ? EMPTY : decodeNode(v));

function vidOut(vid: string | StoredVid, devices: Devices): unknown {
  if (typeof vid !== "string") return [vid.h, vid.dev, vid.counter];
  const m = VID.exec(vid);
  if (!m) return vid; // made before schema 6
  const device = uuidText(fromB64(m[2]!));
  return [fromB64(m[1]!), deviceNo(devices, device), Number(m[3])];
}

function vidIn(v: unknown): StoredVid {
  if (typeof v === "string") return v;
  const [h, dev, counter] = v as [Uint8Array, number, number];
  return { h, dev, counter };
}

function patchOut(p: KidsPatch): unknown {
  if ("node" in p) return [0, encodeNode(p.node)];
  const inner = p.items.length > 0 && typeof p.items[0]![1] === "string";
  const items = encodeNode(inner ? { i: p.items as ChunkRef[] } : { l: p.items as Entry[] })[1];
  return [1, p.at, p.del, inner ? 1 : 0, items];
}

function patchIn(v: unknown): KidsPatch {
  const a = v as unknown[];
  if (a[0] === 0) return { node: decodeNode(a[1]) };
  const node = decodeNode([a[3], a[4]]);
  return { at: a[1] as number, del: a[2] as number, items: itemsOf(node) };
}

/** Encodes a record (devices named by the op ids in vids must be numbered already). */
export function encodeRecord(r: NewRecord, devices: Devices): Buffer {
  const hasGained = r.gained !== undefined && r.gained.length > 0;
  const lostList = r.lost && r.lost.length > 0 ? r.lost.map(uuidBytes) : null;
  // Trailing lists: [lost] or [lost | null, gained]; none when both are empty.
  const lost = hasGained ? [lostList, r.gained!.map(uuidBytes)] : lostList ? [lostList] : [];
  // The encoder's buffers are never written again once handed out: no copy needed.
  if (r.kind === "mark") return pack([2, r.seq, r.vseq, r.removal ? 1 : 0, ...lost]);
  if (r.kind === "image") {
    const s = r.state;
    return pack([0, r.seq, vidOut(r.vid, devices), r.at, r.base, idOut(s.parentOid), s.pos, s.content, s.props, kidsOut(s.kids), statsOut(s.stats), ...lost]);
  }
  let mask = 0;
  const fields: unknown[] = [];
  FIELDS.forEach((f, i) => {
    const v = r.delta[f];
    if (v === undefined) return;
    mask |= 1 << i;
    if (f === "parentOid") fields.push(idOut(v as string | null));
    else if (f === "kids") fields.push(patchOut(v as KidsPatch));
    else if (f === "stats") fields.push([(v as Stats).descendants, (v as Stats).total, (v as Stats).done]);
    else fields.push(v);
  });
  return pack([1, r.seq, vidOut(r.vid, devices), r.at, r.base, mask, ...fields, ...lost]);
}

/** Decodes one record from its unpacked array. */
export function decodeRecord(value: unknown, size: number): VersionRecord {
  const a = value as unknown[];
  const kind = a[0] as number;
  const lostAt = listsAt(a);
  const lostList = a.length > lostAt ? (a[lostAt] as Uint8Array[] | null) : null;
  const gainedList = a.length > lostAt + 1 ? (a[lostAt + 1] as Uint8Array[]) : null;
  const lost = {
    ...(lostList ? { lost: lostList.map(uuidText) } : {}),
    ...(gainedList ? { gained: gainedList.map(uuidText) } : {}),
  };
  if (kind === 2) return { kind: "mark", seq: a[1] as number, vseq: a[2] as number, removal: a[3] === 1, ...lost, size };
  if (kind === 0) {
    const state: State = {
      parentOid: idIn(a[5]),
      pos: a[6] as string | null,
      content: a[7] as string,
      props: a[8] as Props,
      kids: kidsIn(a[9]),
      stats: statsIn(a[10]),
    };
    return { kind: "image", seq: a[1] as number, vid: vidIn(a[2]), at: a[3] as number, base: a[4] as number | null, state, ...lost, size };
  }
  const mask = a[5] as number;
  const d: { -readonly [K in keyof Delta]: Delta[K] } = {};
  let k = 6;
  FIELDS.forEach((f, i) => {
    if ((mask & (1 << i)) === 0) return;
    const v = a[k++];
    if (f === "parentOid") d.parentOid = idIn(v);
    else if (f === "pos") d.pos = v as string | null;
    else if (f === "content") d.content = v as string;
    else if (f === "props") d.props = v as Props;
    else if (f === "kids") d.kids = patchIn(v);
    else d.stats = statsIn(v);
  });
  return { kind: "delta", seq: a[1] as number, vid: vidIn(a[2]), at: a[3] as number, base: a[4] as number, delta: d, ...lost, size };
}

/** Where a record's lost list is (its gained list follows): after the fields its kind has. */
function listsAt(a: readonly unknown[]): number {
  const kind = a[0] as number;
  return kind === 2 ? 4 : kind === 0 ? 11 : 6 + popcount(a[5] as number);
}

/**
 * Calls `each` with the objectives a record lists as lost and gained, if its seq is after `after`,
 * decoding nothing else of it (a checkout reads the lists of every record since its target).
 */
export function recordLists(value: unknown, after: number, each: (seq: number, lost: readonly string[], gained: readonly string[]) => void): void {
  const a = value as unknown[];
  const seq = a[1] as number;
  if (seq <= after) return;
  const at = listsAt(a);
  if (a.length <= at) return;
  const lost = (a[at] as Uint8Array[] | null) ?? [];
  const gained = a.length > at + 1 ? (a[at + 1] as Uint8Array[]) : [];
  if (lost.length > 0 || gained.length > 0) each(seq, lost.map(uuidText), gained.map(uuidText));
}

function popcount(n: number): number {
  let c = 0;
  for (; n; n &= n - 1) c++;
  return c;
}
