import type { Core } from "./core.js";
import { invalid, notFound } from "./errors.js";
import type { Op, OpKind, Page, Props, VersionRef } from "./types.js";
import { checkId, checkLimit } from "./validate.js";

interface OpRecord {
  seq: number;
  op_id: string;
  kind: OpKind;
  oid: string;
  vid_before: string | null;
  vid_after: string | null;
  at: number;
  actor: string | null;
  device: string;
  data: Props;
  t_before: string | null;
  t_after: string | null;
}

function parseCursor(cursor: string | undefined): number {
  if (cursor === undefined) return Number.MAX_SAFE_INTEGER;
  const n = Number(cursor);
  if (!/^\d+$/.test(cursor) || !Number.isSafeInteger(n)) throw invalid(`cursor ${JSON.stringify(cursor)} is not one this engine returned`);
  return n;
}

async function page(core: Core, spaceId: string, oid: string, options: Page, onlyNewVersions: boolean) {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  const limit = checkLimit(options.limit, 50, 1000);
  const before = parseCursor(options.cursor);
  // One index range scan of op_transitive (space, oid, seq): O(page), whatever the history size.
  const rows = await core.storage.query<OpRecord & Record<string, unknown>>(
    `select o.seq, o.op_id, o.kind, o.oid, o.vid_before, o.vid_after, o.at, o.actor, o.device, o.data,
            t.vid_before as t_before, t.vid_after as t_after
       from op_transitive t join op o on o.space_id = t.space_id and o.seq = t.seq
      where t.space_id = $1 and t.oid = $2 and t.seq < $3
        ${onlyNewVersions ? "and t.vid_after is distinct from t.vid_before" : ""}
      order by t.seq desc limit $4`,
    [spaceId, oid, before, limit + 1],
  );
  if (rows.length === 0 && options.cursor === undefined) {
    const known = await core.storage.query("select 1 from active_version where space_id = $1 and oid = $2", [spaceId, oid]);
    if (known.length === 0) throw notFound(`objective ${oid} does not exist in space ${spaceId}`);
  }
  const more = rows.length > limit;
  const list = more ? rows.slice(0, limit) : rows;
  return { list, next: more ? String(list[list.length - 1]!.seq) : undefined };
}

/**
 * Ops that changed an objective or anything below it (via op_transitive), newest first, paged.
 *
 * @example
 * let cursor: string | undefined;
 * do { const page = await engine.history(s, oid, { cursor }); show(page.ops); cursor = page.next } while (cursor);
 */
export async function history(core: Core, spaceId: string, oid: string, options: Page = {}): Promise<{ ops: Op[]; next?: string }> {
  const { list, next } = await page(core, spaceId, oid, options, false);
  const ops = list.map(
    (r): Op => ({
      opId: r.op_id,
      seq: r.seq,
      kind: r.kind,
      oid: r.oid,
      vidBefore: r.vid_before,
      vidAfter: r.vid_after,
      at: r.at,
      ...(r.actor === null ? {} : { actor: r.actor }),
      device: r.device,
      data: r.data,
    }),
  );
  return next === undefined ? { ops } : { ops, next };
}

/** The versions of an objective, newest first, paged; each with the op that made it. */
export async function versions(
  core: Core,
  spaceId: string,
  oid: string,
  options: Page = {},
): Promise<{ versions: VersionRef[]; next?: string }> {
  const { list, next } = await page(core, spaceId, oid, options, true);
  const refs = list.map(
    (r): VersionRef => ({
      vid: r.t_after!,
      vidBefore: r.t_before,
      seq: r.seq,
      at: r.at,
      opId: r.op_id,
      kind: r.kind,
      causeOid: r.oid,
    }),
  );
  return next === undefined ? { versions: refs } : { versions: refs, next };
}
