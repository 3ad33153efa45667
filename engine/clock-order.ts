/**
 * Applying ops in hybrid-logical-clock order (DESIGN.md §8), whatever order they arrive in.
 *
 * The op log (`op_log`) holds every op this device knows, in the form it travels in; its `seq`
 * says where it was materialized locally (null: pending). The tree is always the materialization
 * of a clock-ordered prefix of the log. When an op arrives whose clock is older than ops already
 * applied, the device undoes those ops (their version rows, op rows and `active_version` changes,
 * restored from the `active_undo` before-images: every local seq is a checkpoint) and re-applies
 * them after the late op. Vids are `hash(oid, opId, previous vid)`, so the result is the same
 * version rows and root vids as on a device that received the ops in clock order.
 *
 * Crash safety: storing ops and undoing are single transactions, and each op is applied in its own
 * transaction; after a crash the pending entries are simply applied on the next `settle`.
 */
import type { Core } from "./core.js";
import { invalid } from "./errors.js";
import type { Props } from "./types.js";
import { checkId, checkLimit } from "./validate.js";
import { isHlc } from "../sync/hlc.js";
import { replayInOrder, replayOneByOne, type ApplyOptions, type ReplicaOp } from "./replicate.js";

/** Ops per page while re-applying pending ops. */
const PAGE = 500;

interface LogRecord {
  op_id: string;
  hlc: string;
  kind: string;
  oid: string;
  at: number;
  actor: string | null;
  device: string;
  data: Props;
  seq: number | null;
  outcome: string | null;
  detail: string | null;
  server_seq: number | null;
}

const toOp = (r: LogRecord): ReplicaOp => ({
  opId: r.op_id,
  kind: r.kind,
  oid: r.oid,
  hlc: r.hlc,
  at: r.at,
  actor: r.actor,
  device: r.device,
  data: r.data,
  ...(r.server_seq === null ? {} : { serverSeq: r.server_seq }),
});

/** Checks the shape of one op received from elsewhere; INVALID_ARGUMENT names the bad field. */
export function checkReplicaOp(op: unknown, where = "op"): ReplicaOp {
  if (op === null || typeof op !== "object" || Array.isArray(op)) throw invalid(`${where} must be an object, got ${JSON.stringify(op)}`);
  const o = op as Record<string, unknown>;
  const text = (key: string, max: number) => {
    const v = o[key];
    if (typeof v !== "string" || v.length === 0 || v.length > max) throw invalid(`${where}.${key} must be a string of 1..${max} characters, got ${JSON.stringify(v)}`);
    return v;
  };
  text("opId", 200);
  text("kind", 64);
  text("oid", 200);
  text("device", 200);
  if (!isHlc(o["hlc"])) throw invalid(`${where}.hlc must be a hybrid logical clock, got ${JSON.stringify(o["hlc"])}`);
  if (!Number.isSafeInteger(o["at"])) throw invalid(`${where}.at must be an integer (ms), got ${JSON.stringify(o["at"])}`);
  if (o["actor"] !== null && typeof o["actor"] !== "string") throw invalid(`${where}.actor must be a string or null, got ${JSON.stringify(o["actor"])}`);
  const data = o["data"];
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw invalid(`${where}.data must be an object, got ${JSON.stringify(data)}`);
  const serverSeq = o["serverSeq"];
  if (serverSeq !== undefined && (!Number.isSafeInteger(serverSeq) || (serverSeq as number) < 1)) {
    throw invalid(`${where}.serverSeq must be a positive integer, got ${JSON.stringify(serverSeq)}`);
  }
  return op as ReplicaOp;
}

/**
 * Stores ops in the op log, once each (known op ids are skipped; a known op pulled from a server
 * gets its server seq). Returns how many were new. The clock follows every stored op, so local ops
 * made afterwards sort after them.
 */
export async function storeOps(core: Core, spaceId: string, ops: readonly ReplicaOp[]): Promise<number> {
  ops.forEach((op, i) => checkReplicaOp(op, `ops[${i}]`));
  if (ops.length === 0) return 0;
  const rows = await core.storage.transaction(async (tx) => {
    const space = await tx.query("select 1 from space where space_id = $1", [spaceId]);
    if (space.length === 0) throw invalid(`space ${spaceId} does not exist here; createSpace({ spaceId }) makes a replica`);
    return tx.query<{ op_id: string; fresh: boolean }>(
      `insert into op_log (space_id, op_id, hlc, kind, oid, at, actor, device, data, server_seq)
         select $1, t.op_id, t.hlc, t.kind, t.oid, t.at, t.actor, t.device, t.data::jsonb, t.server_seq
           from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::text[], $9::text[], $10::int8[])
             as t(op_id, hlc, kind, oid, at, actor, device, data, server_seq)
       on conflict (space_id, op_id) do update set server_seq = coalesce(op_log.server_seq, excluded.server_seq)
       returning op_id, (xmax = 0) as fresh`,
      [
        spaceId,
        ops.map((o) => o.opId),
        ops.map((o) => o.hlc),
        ops.map((o) => o.kind),
        ops.map((o) => o.oid),
        ops.map((o) => o.at),
        ops.map((o) => o.actor),
        ops.map((o) => o.device),
        ops.map((o) => JSON.stringify(o.data)),
        ops.map((o) => o.serverSeq ?? null),
      ],
    );
  });
  for (const op of ops) core.clock.receive(op.hlc);
  return rows.filter((r) => r.fresh).length;
}

/** One settle at a time per engine: two would apply the same pending op twice. */
const running = new WeakMap<Core, Promise<unknown>>();

/**
 * Applies every pending op of the log in clock order, first undoing applied ops with a later clock
 * than the oldest pending one. Returns how many applied ops were undone (and re-applied).
 */
export async function settle(core: Core, spaceId: string, options: ApplyOptions = {}): Promise<number> {
  const pageSize = checkLimit(options.pageSize, PAGE);
  const before = running.get(core) ?? Promise.resolve();
  const mine = before.catch(() => {}).then(() => settleNow(core, spaceId, pageSize));
  running.set(core, mine);
  return mine;
}

async function settleNow(core: Core, spaceId: string, pageSize: number): Promise<number> {
  let undone = 0;
  for (;;) {
    const [first] = await core.storage.query<{ hlc: string }>(
      "select hlc from op_log where space_id = $1 and seq is null order by hlc, op_id limit 1",
      [spaceId],
    );
    if (!first) return undone;
    const [last] = await core.storage.query<{ hlc: string }>(
      "select hlc from op_log where space_id = $1 and seq is not null order by seq desc limit 1",
      [spaceId],
    );
    if (last && last.hlc > first.hlc) undone += await undoAfter(core, spaceId, first.hlc);
    const page = await core.storage.query<LogRecord & Record<string, unknown>>(
      `select op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, detail, server_seq from op_log
        where space_id = $1 and seq is null order by hlc, op_id limit $2`,
      [spaceId, pageSize],
    );
    // A local write may land between these reads and the replay; the next round undoes it.
    await (pageSize === 1 ? replayOneByOne : replayInOrder)(core, spaceId, page.map(toOp));
  }
}

/**
 * Undoes every applied op whose clock is after `hlc`, in one transaction: deletes the version rows,
 * transitive rows and op rows they wrote, restores `active_version` from the before-images, and
 * marks their log entries pending again. An applied `import` (not replayable) is a barrier: ops
 * before it stay, and a late op older than it is applied after it (documented in docs/sync.md).
 */
async function undoAfter(core: Core, spaceId: string, hlc: string): Promise<number> {
  const count = await core.storage.transaction(async (tx) => {
    // Lock the space as every write does, so no write interleaves with the undo.
    await tx.query("select seq from space where space_id = $1 for update", [spaceId]);
    const [from] = await tx.query<{ s: number | null; barrier: number | null }>(
      `select min(seq) as s, max(seq) filter (where kind = 'import' and outcome = 'applied') as barrier
         from op_log where space_id = $1 and seq is not null and hlc > $2`,
      [spaceId, hlc],
    );
    if (!from || from.s === null) return 0;
    // Ops materialized by one transaction share before-images: undo from its first op.
    const [whole] = await tx.query<{ s: number | null }>(
      `select min(seq) as s from op_log where space_id = $1 and seq is not null
          and tx in (select tx from op_log where space_id = $1 and seq >= $2 and tx is not null)`,
      [spaceId, from.s],
    );
    const first = Math.min(from.s, whole?.s ?? from.s);
    const s = from.barrier === null ? first : Math.max(first, from.barrier + 1);
    const undo = `select distinct on (oid) oid, existed, vid, parent_oid, pos, is_root, dirty from active_undo
                   where space_id = $1 and seq >= $2 order by oid, seq`;
    await tx.query(
      `update active_version a set vid = u.vid, parent_oid = u.parent_oid, pos = u.pos, is_root = u.is_root, dirty = u.dirty
         from (${undo}) u where a.space_id = $1 and a.oid = u.oid and u.existed`,
      [spaceId, s],
    );
    await tx.query(`delete from active_version a using (${undo}) u where a.space_id = $1 and a.oid = u.oid and not u.existed`, [spaceId, s]);
    // Objectives created after the checkpoint (their op_transitive creation row has no vid before).
    await tx.query(
      `delete from active_version a using op_transitive t
        where t.space_id = $1 and t.seq >= $2 and t.vid_before is null and a.space_id = $1 and a.oid = t.oid`,
      [spaceId, s],
    );
    // After the restore: its own before-images (logged by the trigger) go too.
    await tx.query("delete from active_undo where space_id = $1 and seq >= $2", [spaceId, s]);
    await tx.query(
      `delete from objective o using op_transitive t
        where t.space_id = $1 and t.seq >= $2 and o.space_id = $1 and o.oid = t.oid and o.vid = t.vid_after and o.seq = t.seq`,
      [spaceId, s],
    );
    await tx.query("delete from op_transitive where space_id = $1 and seq >= $2", [spaceId, s]);
    await tx.query("delete from op where space_id = $1 and seq >= $2", [spaceId, s]);
    const reset = await tx.query(
      "update op_log set seq = null, outcome = null, detail = null, tx = null where space_id = $1 and seq >= $2 returning op_id",
      [spaceId, s],
    );
    return reset.length;
  });
  // Re-applied ops may make a version with a known (oid, vid) but another place: drop cached rows.
  if (count > 0) core.cache.lru.clear();
  return count;
}

/**
 * Records that a pending op was not applied: it gets the next local seq (its place in the clock
 * order) and an outcome. `onlyIfPending` leaves an op alone that the engine did apply.
 */
export async function markOutcome(
  core: Core,
  spaceId: string,
  opId: string,
  outcome: string,
  detail: string,
  options: { readonly onlyIfPending?: boolean } = {},
): Promise<void> {
  await core.storage.query(
    `with pending as (select 1 from op_log where space_id = $1 and op_id = $2 and seq is null),
          bump as (update space set seq = seq + 1 where space_id = $1 and (not $5 or exists (select 1 from pending)) returning seq)
     update op_log set seq = bump.seq, outcome = $3, detail = $4, tx = txid_current() from bump where op_log.space_id = $1 and op_log.op_id = $2`,
    [spaceId, opId, outcome, detail, options.onlyIfPending === true],
  );
}

/** One op that was kept but not applied, and why: a conflict event of the merge rules. */
export interface ConflictEvent {
  readonly opId: string;
  readonly hlc: string;
  readonly kind: string;
  readonly oid: string;
  /** `skipped:<EngineErrorCode>`, `unknown-kind` or `noop`. */
  readonly outcome: string;
  readonly detail: string;
}

/** The ops of a space that were kept but not applied, in clock order (newest first), paged. */
export async function conflicts(
  core: Core,
  spaceId: string,
  options: { readonly limit?: number; readonly before?: string } = {},
): Promise<ConflictEvent[]> {
  spaceId = checkId("spaceId", spaceId);
  const limit = checkLimit(options.limit, 100, 10_000);
  const rows = await core.storage.query<LogRecord & Record<string, unknown>>(
    `select op_id, hlc, kind, oid, outcome, detail from op_log
      where space_id = $1 and seq is not null and outcome <> 'applied' and hlc < $2 order by hlc desc limit $3`,
    [spaceId, options.before ?? "~", limit],
  );
  return rows.map((r) => ({ opId: r.op_id, hlc: r.hlc, kind: r.kind, oid: r.oid, outcome: r.outcome!, detail: r.detail ?? "" }));
}

/**
 * The op log in clock order after `afterHlc`: every op this device knows, or only those `device`
 * made (what a sync client pushes).
 */
export async function logSince(
  core: Core,
  spaceId: string,
  options: { readonly afterHlc?: string; readonly device?: string; readonly limit?: number } = {},
): Promise<ReplicaOp[]> {
  spaceId = checkId("spaceId", spaceId);
  const limit = checkLimit(options.limit, 1000, 10_000);
  const rows = await core.storage.query<LogRecord & Record<string, unknown>>(
    `select op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, detail, server_seq from op_log
      where space_id = $1 and hlc > $2 and ($3::text is null or device = $3) order by hlc, op_id limit $4`,
    [spaceId, options.afterHlc ?? "", options.device ?? null, limit],
  );
  return rows.map(toOp);
}

/** The highest server seq among the ops pulled from a sync server (0: none): where the next pull starts. */
export async function pullCursor(core: Core, spaceId: string): Promise<number> {
  spaceId = checkId("spaceId", spaceId);
  const [row] = await core.storage.query<{ c: number | null }>("select max(server_seq) as c from op_log where space_id = $1", [spaceId]);
  return row?.c ?? 0;
}

/** The newest clock reading stored on this database, so a reopened engine's clock never goes back. */
export async function newestHlc(core: Pick<Core, "storage">): Promise<string | undefined> {
  const [row] = await core.storage.query<{ h: string | null }>("select max(hlc) as h from op_log");
  return row?.h ?? undefined;
}
