import type { Core } from "./core.js";
import { invalid, notFound } from "./errors.js";
import { loadDevices, type Devices } from "./format/devices.js";
import { opIdOfVid } from "./find-version.js";
import { decodeOpData, decodeOpVids, opVidDevices } from "./format/op-row.js";
import { loadVersion, vidText } from "./format/row-cache.js";
import type { VersionRecord } from "./format/record.js";
import { decodeBody } from "./format/rows.js";
import type { Op, OpKind, Page, Props, VersionRef } from "./types.js";
import { checkId, checkLimit } from "./validate.js";

interface OpRecord {
  seq: number;
  op_id: string;
  kind: OpKind;
  oid: string;
  at: number;
  actor: string | null;
  device: string;
  data: Uint8Array;
  vids: Uint8Array | null;
}

function parseCursor(cursor: string | undefined): number {
  if (cursor === undefined) return Number.MAX_SAFE_INTEGER;
  const n = Number(cursor);
  if (!/^\d+$/.test(cursor) || !Number.isSafeInteger(n)) throw invalid(`cursor ${JSON.stringify(cursor)} is not one this engine returned`);
  return n;
}

/**
 * The records of an objective before `before`, newest first, and the ops that wrote them: index
 * range scans of its rows (segments of records), newest first, as many as the page needs.
 */
async function page(core: Core, spaceId: string, oid: string, options: Page, onlyVersions: boolean) {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  const limit = checkLimit(options.limit, 50, 1000);
  const before = parseCursor(options.cursor);
  // Rows are segments of records (newest row first); read a few at a time until the page is full.
  const all: VersionRecord[] = [];
  let below = before;
  // A segment holds ~5 versions of a small objective (its deltas outgrow twice its image) and up to
  // 17 of a large one: a quarter of the page in rows is usually one read.
  let batch = Math.ceil((limit + 1) / 4);
  for (;;) {
    const rows = await core.storage.query<{ seq: number; body: Uint8Array }>(
      "select seq, body from version where space_id = $1 and oid = $2 and seq < $3 order by seq desc limit $4",
      [spaceId, oid, below, batch],
    );
    core.cache.rowsRead += rows.length;
    if (rows.length === 0 && below === before && options.cursor === undefined) throw notFound(`objective ${oid} does not exist in space ${spaceId}`);
    for (const r of rows) for (const x of decodeBody(r.body).reverse()) if (x.seq < before) all.push(x);
    const have = onlyVersions ? all.filter((r) => r.kind !== "mark").length : all.length;
    if (rows.length < batch || have > limit) break;
    below = rows[rows.length - 1]!.seq;
    batch = Math.min(batch * 2, limit + 1);
  }
  const bySeq = new Map(all.map((r) => [r.seq, r]));
  const picked = all.filter((r) => !onlyVersions || r.kind !== "mark").slice(0, limit + 1);
  const more = picked.length > limit;
  const list = more ? picked.slice(0, limit) : picked;
  const ops = await core.storage.query<OpRecord & Record<string, unknown>>(
    "select seq, op_id, kind, oid, at, actor, device, data, vids from op where space_id = $1 and seq = any($2::int8[])",
    [spaceId, list.map((r) => r.seq)],
  );
  const devices = new Set<number>(ops.flatMap((o) => opVidDevices(o.vids)));
  for (const r of all) if (r.kind !== "mark" && typeof r.vid !== "string") devices.add(r.vid.dev);
  await loadDevices(core.cache.devices, core.storage, devices);
  return { list, bySeq, ops: new Map(ops.map((o) => [o.seq, o])), next: more ? String(list[list.length - 1]!.seq) : undefined };
}

/**
 * Whether the op stored at a record's seq made it. Always, but on a partial replica: its rows came
 * with the replica's seqs, its op log has its own, so a version record's vid (which names the op
 * that made it) must name this op (marks and vids from before schema 6 name none: taken as they are).
 */
function madeBy(r: VersionRecord, o: OpRecord | undefined, devices: Devices): boolean {
  if (!o) return false;
  if (r.kind === "mark") return true;
  const named = opIdOfVid(vidText(devices, r.vid));
  return named === undefined || named === o.op_id;
}

/**
 * Ops that changed an objective or anything below it (every op that wrote a record of it), newest
 * first, paged.
 *
 * @example
 * let cursor: string | undefined;
 * do { const page = await engine.history(s, oid, { cursor }); show(page.ops); cursor = page.next } while (cursor);
 */
export async function history(core: Core, spaceId: string, oid: string, options: Page = {}): Promise<{ ops: Op[]; next?: string }> {
  const { list, ops: byOp, next } = await page(core, spaceId, oid, options, false);
  // A partial replica holds records of ops it never had (engine/partial-replica.ts): those are left out.
  const ops = list.filter((r) => madeBy(r, byOp.get(r.seq), core.cache.devices)).map((r): Op => {
    const o = byOp.get(r.seq)!;
    const vids = decodeOpVids(o.vids, core.cache.devices);
    return {
      opId: o.op_id,
      seq: o.seq,
      kind: o.kind,
      oid: o.oid,
      vidBefore: vids.before,
      vidAfter: vids.after,
      at: o.at,
      ...(o.actor === null ? {} : { actor: o.actor }),
      device: o.device,
      data: decodeOpData(o.data) as Props,
    };
  });
  return next === undefined ? { ops } : { ops, next };
}

/** The versions of an objective, newest first, paged; each with the op that made it. */
export async function versions(
  core: Core,
  spaceId: string,
  oid: string,
  options: Page = {},
): Promise<{ versions: VersionRef[]; next?: string }> {
  const { list, bySeq, ops, next } = await page(core, spaceId, oid, options, true);
  const devices = core.cache.devices;
  const baseOf = async (r: VersionRecord): Promise<string | null> => {
    if (r.kind === "mark") return null;
    if (r.base === null) return null;
    const b = bySeq.get(r.base);
    if (b && b.kind !== "mark") return vidText(devices, b.vid);
    // A restored base outside the page: read that version (through the cache).
    return (await loadVersion(core.cache, core.storage, spaceId, oid, r.base))?.vid ?? null;
  };
  const refs: VersionRef[] = [];
  for (const r of list) {
    if (r.kind === "mark") continue;
    const o = ops.get(r.seq);
    if (!o || !madeBy(r, o, devices)) continue; // made by an op this partial replica never had

    refs.push({ vid: vidText(devices, r.vid), vidBefore: await baseOf(r), seq: r.seq, at: o.at, opId: o.op_id, kind: o.kind, causeOid: o.oid });
  }
  return next === undefined ? { versions: refs } : { versions: refs, next };
}
