/**
 * Ops as the unit of replication (DESIGN.md §8, first part): read a space's op log in order, and
 * replay another device's ops here. An op keeps its id, time, actor and device when replayed, and
 * vids are `hash(oid, opId, previous vid)`, so applying the same ops in the same order gives the
 * same versions and the same root vids on every device: equal root vids are the convergence check.
 * Ordering of concurrent ops (HLC) and late ops belong to the sync layer built on this.
 */
import { checkout } from "./checkout.js";
import type { Core } from "./core.js";
import { create, createDocument } from "./create.js";
import { invalid } from "./errors.js";
import { move } from "./move.js";
import { remove } from "./remove.js";
import type { Json, OpKind, Props } from "./types.js";
import { update } from "./update.js";
import { checkId, checkLimit } from "./validate.js";
import type { Origin } from "./write.js";

/** One op as devices exchange it. */
export interface ReplicaOp {
  readonly opId: string;
  readonly kind: OpKind;
  readonly oid: string;
  readonly at: number;
  readonly actor: string | null;
  readonly device: string;
  readonly data: Props;
  /** The vid the op gave `oid` where it was made (null for a removal): checked on replay. */
  readonly vidAfter: string | null;
}

interface OpRecord {
  seq: number;
  op_id: string;
  kind: OpKind;
  oid: string;
  at: number;
  actor: string | null;
  device: string;
  data: Props;
  vid_after: string | null;
}

/** The space's ops after local sequence `after`, oldest first; `next` continues the listing. */
export async function opsSince(
  core: Core,
  spaceId: string,
  options: { readonly after?: number; readonly limit?: number } = {},
): Promise<{ ops: ReplicaOp[]; next?: number }> {
  spaceId = checkId("spaceId", spaceId);
  const after = options.after ?? 0;
  if (!Number.isSafeInteger(after) || after < 0) throw invalid(`after must be a non-negative integer, got ${after}`);
  const limit = checkLimit(options.limit, 1000, 10_000);
  const rows = await core.storage.query<OpRecord & Record<string, unknown>>(
    `select seq, op_id, kind, oid, at, actor, device, data, vid_after from op
      where space_id = $1 and seq > $2 order by seq limit $3`,
    [spaceId, after, limit + 1],
  );
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const ops = page.map(
    (r): ReplicaOp => ({ opId: r.op_id, kind: r.kind, oid: r.oid, at: r.at, actor: r.actor, device: r.device, data: r.data, vidAfter: r.vid_after }),
  );
  return more ? { ops, next: page[page.length - 1]!.seq } : { ops };
}

const str = (data: Props, key: string): string => {
  const v = data[key];
  if (typeof v !== "string") throw invalid(`op data.${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
};

async function applyOne(core: Core, spaceId: string, op: ReplicaOp): Promise<unknown> {
  const origin: Origin = { opId: op.opId, at: op.at, actor: op.actor, device: op.device, vidAfter: op.vidAfter };
  const d = op.data;
  const props = (key: string) => (d[key] === undefined ? undefined : (d[key] as { [k: string]: Json }));
  switch (op.kind) {
    case "createDocument":
      return (await createDocument(core, spaceId, { oid: op.oid, content: str(d, "content"), props: props("props") ?? {} }, origin)).vid;
    case "create":
      return (
        await create(core, spaceId, { oid: op.oid, parentOid: str(d, "parentOid"), pos: str(d, "pos"), content: str(d, "content"), props: props("props") ?? {} }, origin)
      ).vid;
    case "update": {
      const content = d["content"] === undefined ? {} : { content: str(d, "content") };
      const patch = props("props");
      return (await update(core, spaceId, op.oid, { ...content, ...(patch ? { props: patch } : {}) }, origin)).vid;
    }
    case "move":
      return (await move(core, spaceId, op.oid, { parentOid: str(d, "toParent"), pos: str(d, "toPos") }, origin)).vid;
    case "remove":
      await remove(core, spaceId, op.oid, origin);
      return null;
    case "checkout":
      return (await checkout(core, spaceId, op.oid, str(d, "target"), origin)).vid;
    default:
      throw invalid(`op ${op.opId} of kind ${JSON.stringify(op.kind)} cannot be replayed yet`);
  }
}

/**
 * Replays ops made elsewhere, in the given order, one transaction each. Ops already here (same op
 * id) are skipped, so a retried or duplicated delivery changes nothing. An op that would give a
 * different vid than where it was made means the devices applied different histories: it is rolled
 * back and `CONFLICT` names it.
 */
export async function applyOps(core: Core, spaceId: string, ops: readonly ReplicaOp[]): Promise<{ applied: number; skipped: number }> {
  spaceId = checkId("spaceId", spaceId);
  let applied = 0;
  let skipped = 0;
  for (const op of ops) {
    const known = await core.storage.query("select 1 from op where space_id = $1 and op_id = $2", [spaceId, op.opId]);
    if (known.length > 0) {
      skipped++;
      continue;
    }
    await applyOne(core, spaceId, op);
    applied++;
  }
  return { applied, skipped };
}
