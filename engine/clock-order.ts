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
import { invalid, notFound } from "./errors.js";
import { ensureDevices } from "./format/devices.js";
import { decodeTouched, encodeOpData, replicaOpOf, type StoredOp } from "./format/op-row.js";
import { cutBody } from "./format/rows.js";
import { loadVersions } from "./format/row-cache.js";
import type { VersionRecord } from "./format/record.js";
import type { Queryable } from "../storage/contract.js";
import { isOpId } from "./ids.js";
import { forget } from "./known.js";
import { checkId, checkLimit } from "./validate.js";
import { isHlc } from "./hlc.js";
import { replayInOrder, replayOneByOne, type ApplyOptions, type ReplicaOp } from "./replicate.js";
import { PART_OUTCOME } from "./import-parts.js";

/** SQL: the op id of an import's first part (`op` is the import's row): its counter plus one. */
const PART_OF_IMPORT = "split_part(op.op_id, '.', 1) || '.' || (split_part(op.op_id, '.', 2)::int8 + 1)::text";

/**
 * The newest clock applied in space `$1`. Not the clock of the highest seq: a local import's parts
 * take the seqs after the import's but clocks before it (engine/import-parts.ts).
 */
export const LAST_APPLIED_HLC = "(select max(hlc) from op where space_id = $1 and seq is not null)";

/** The outcome of an own op a sync server refused (`withdraw`): kept in the log, never applied or pushed. */
export const WITHDRAWN = "refused:FORBIDDEN";

/** SQL: the op row is not a withdrawn one (an undo leaves those where they are). */
const NOT_WITHDRAWN = `outcome is distinct from '${WITHDRAWN}'`;

/** Ops per page while re-applying pending ops. */
const PAGE = 500;

interface LogRecord extends StoredOp {
  seq: number | null;
  outcome: string | null;
  detail: string | null;
  server_seq: number | null;
}

const toOp = (r: LogRecord): ReplicaOp => ({ ...replicaOpOf(r), ...(r.server_seq === null ? {} : { serverSeq: r.server_seq }) });

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
  if (!isOpId(o["opId"]) || !(o["opId"] as string).startsWith(`${o["device"] as string}.`)) {
    throw invalid(`${where}.opId must be <device uuid>.<counter> with the op's device, got ${JSON.stringify(o["opId"])}`);
  }
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
  // Device numbers first, committed on their own (engine/format/devices.ts).
  await ensureDevices(core.cache.devices, core.storage, ops.map((o) => o.device));
  const rows = await core.storage.transaction(async (tx) => {
    const space = await tx.query("select 1 from space where space_id = $1", [spaceId]);
    if (space.length === 0) throw invalid(`space ${spaceId} does not exist here; createSpace({ spaceId }) makes a replica`);
    const stored = await tx.query<{ op_id: string; fresh: boolean }>(
      `insert into op (space_id, op_id, hlc, kind, oid, at, actor, device, data, server_seq)
         select $1, r->>0, r->>1, r->>2, r->>3, (r->>4)::int8, r->>5, r->>6, decode(r->>7, 'base64'), (r->>8)::int8
           from jsonb_array_elements($2::jsonb) r
       on conflict (space_id, op_id) do update set server_seq = coalesce(op.server_seq, excluded.server_seq),
         -- The server binds an op made without an actor to the signed-in user: the device that made
         -- it learns who that was, so a replay checks it as every other replica does (engine/roles.ts).
         actor = coalesce(op.actor, excluded.actor)
       returning op_id, (xmax = 0) as fresh`,
      [spaceId, JSON.stringify(ops.map((o) => [o.opId, o.hlc, o.kind, o.oid, o.at, o.actor, o.device, encodeOpData(o.data).toString("base64"), o.serverSeq ?? null]))],
    );
    const pulled = ops.reduce((m, o) => Math.max(m, o.serverSeq ?? 0), 0);
    if (pulled > 0) await tx.query("update space set pulled = greatest(pulled, $2) where space_id = $1", [spaceId, pulled]);
    return stored;
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
  return inTurn(core, () => settleNow(core, spaceId, pageSize));
}

/** Runs `fn` after the engine's running settle or withdrawal: both undo and re-apply the same ops. */
function inTurn<T>(core: Core, fn: () => Promise<T>): Promise<T> {
  const mine = (running.get(core) ?? Promise.resolve()).catch(() => {}).then(fn);
  running.set(core, mine);
  return mine;
}

async function settleNow(core: Core, spaceId: string, pageSize: number): Promise<number> {
  let undone = 0;
  for (;;) {
    const [first] = await core.storage.query<{ hlc: string }>(
      "select hlc from op where space_id = $1 and seq is null order by hlc, op_id limit 1",
      [spaceId],
    );
    if (!first) return undone;
    const [last] = await core.storage.query<{ hlc: string | null }>(`select ${LAST_APPLIED_HLC} as hlc`, [spaceId]);
    if (last?.hlc && last.hlc > first.hlc) undone += await undoAfter(core, spaceId, first.hlc);
    const page = await core.storage.query<LogRecord & Record<string, unknown>>(
      `select op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, detail, server_seq from op
        where space_id = $1 and seq is null order by hlc, op_id limit $2`,
      [spaceId, pageSize],
    );
    // A local write may land between these reads and the replay; the next round undoes it.
    await (pageSize === 1 ? replayOneByOne : replayInOrder)(core, spaceId, page.map(toOp));
  }
}

/**
 * Undoes every applied op whose clock is after `hlc`, in one transaction: deletes the records they
 * wrote (found through each op's touched list; there is no mutable index to restore, the newest
 * records are the index), their documents, and marks their log entries pending again. An import
 * is undone and replayed from its parts like any op; only an import made by an engine from before
 * imports replicated (no parts: it cannot be replayed) is a barrier: ops before it stay, and a late
 * op older than it is applied after it.
 */
async function undoAfter(core: Core, spaceId: string, hlc: string, inclusive = false): Promise<number> {
  forget(core.known, spaceId);
  const count = await core.storage.transaction(async (tx) => {
    // Lock the space as every write does, so no write interleaves with the undo, and move its
    // counter: what any engine knew of the space as of the old one (rows, roles) is no longer so.
    await tx.query("update space set seq = seq + 1 where space_id = $1", [spaceId]);
    const [from] = await tx.query<{ s: number | null; barrier: number | null }>(
      `select min(seq) as s,
              max(seq) filter (where kind = 'import' and outcome = 'applied'
                and not exists (select 1 from op p where p.space_id = op.space_id and p.op_id = ${PART_OF_IMPORT} and p.kind = 'importPart')) as barrier
         from op where space_id = $1 and seq is not null and (hlc > $2 or ($3 and hlc = $2)) and ${NOT_WITHDRAWN}`,
      [spaceId, hlc, inclusive],
    );
    if (!from || from.s === null) return 0;
    const s = from.barrier === null ? from.s : Math.max(from.s, from.barrier + 1);
    const ops = await tx.query<{ touched: Uint8Array | null }>("select touched from op where space_id = $1 and seq >= $2", [spaceId, s]);
    const oids = [...new Set(ops.flatMap((o) => decodeTouched(o.touched)))];
    await cutRows(core, tx, spaceId, oids, s);
    await tx.query("delete from document where space_id = $1 and seq >= $2", [spaceId, s]);
    await tx.query("delete from share where space_id = $1 and seq >= $2", [spaceId, s]);
    const reset = await tx.query(
      `update op set seq = null, outcome = null, detail = null, vids = null, touched = null where space_id = $1 and seq >= $2 and ${NOT_WITHDRAWN} returning op_id`,
      [spaceId, s],
    );
    return reset.length;
  });
  // Versions re-applied ops make may reuse no key, but rows changed: drop what the cache holds,
  // and what a write that committed meanwhile learnt of the space.
  forget(core.known, spaceId);
  if (count > 0) core.cache.lru.clear();
  return count;
}

/**
 * Deletes the records of `oids` from seq `s` on: rows that start at or after it go, the segment
 * straddling it (records before and after `s`) is cut back to its records before `s`, with the
 * columns of its new last record.
 */
async function cutRows(core: Core, tx: Queryable, spaceId: string, oids: readonly string[], s: number): Promise<void> {
  if (oids.length === 0) return;
  await tx.query("delete from version where space_id = $1 and oid = any($2::uuid[]) and seq >= $3", [spaceId, oids, s]);
  const rows = await tx.query<StoredVersionRow>(
    `select v.oid, v.seq, v.body from unnest($2::uuid[]) as o(oid)
       cross join lateral (select t.oid, t.seq, t.body, t.vseq from version t where t.space_id = $1 and t.oid = o.oid order by t.seq desc limit 1) v`,
    [spaceId, oids],
  );
  const cuts: { oid: string; seq: number; body: Uint8Array; last: VersionRecord }[] = [];
  for (const r of rows) {
    const kept = cutBody(r.body, s);
    if (!kept) throw new Error(`undo: row ${r.oid}@${r.seq} has no record before seq ${s}`);
    if (kept.cut) cuts.push({ oid: r.oid, seq: r.seq, body: kept.body, last: kept.last });
  }
  if (cuts.length === 0) return;
  const vseqOf = (r: VersionRecord) => (r.kind === "mark" ? r.vseq : r.seq);
  const versions = await loadVersions(core.cache, tx, spaceId, cuts.map((c) => [c.oid, vseqOf(c.last)] as const));
  const placeOf = (c: (typeof cuts)[number]) => {
    const v = versions.get(`${c.oid}|${vseqOf(c.last)}`);
    if (!v) throw new Error(`undo: version ${c.oid}@${vseqOf(c.last)} is missing`);
    return v;
  };
  await tx.query(
    // A partial replica's top (a document row of seq 0) stays a root: its records name a parent
    // this database does not hold (engine/partial-replica.ts).
    `update version v set body = decode(t.body, 'base64'), vseq = t.vseq,
            parent_oid = case when d.oid is null then t.parent_oid end, pos = case when d.oid is null then t.pos end,
            flags = (v.flags & 7::int2) | (case when t.removed then 8 else 0 end)::int2
       from unnest($2::uuid[], $3::int8[], $4::text[], $5::int8[], $6::uuid[], $7::text[], $8::bool[]) as t(oid, seq, body, vseq, parent_oid, pos, removed)
       left join document d on d.space_id = $1 and d.oid = t.oid and d.seq = 0
      where v.space_id = $1 and v.oid = t.oid and v.seq = t.seq`,
    [
      spaceId,
      cuts.map((c) => c.oid),
      cuts.map((c) => c.seq),
      cuts.map((c) => Buffer.from(c.body).toString("base64")),
      cuts.map((c) => vseqOf(c.last)),
      cuts.map((c) => placeOf(c).parentOid),
      cuts.map((c) => placeOf(c).pos),
      cuts.map((c) => c.last.kind === "mark" && c.last.removal),
    ],
  );
}

interface StoredVersionRow {
  oid: string;
  seq: number;
  body: Uint8Array;
  [key: string]: unknown;
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
  forget(core.known, spaceId);
  await core.storage.query(
    `with pending as (select 1 from op where space_id = $1 and op_id = $2 and seq is null),
          bump as (update space set seq = seq + 1 where space_id = $1 and (not $5 or exists (select 1 from pending)) returning seq)
     update op set seq = bump.seq, outcome = $3, detail = $4 from bump where op.space_id = $1 and op.op_id = $2`,
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
    `select op_id, hlc, kind, oid, outcome, detail from op
      where space_id = $1 and seq is not null and outcome not in ('applied', '${PART_OUTCOME}') and hlc < $2 order by hlc desc limit $3`,
    [spaceId, options.before ?? "~", limit],
  );
  return rows.map((r) => ({ opId: r.op_id, hlc: r.hlc, kind: r.kind, oid: r.oid, outcome: r.outcome!, detail: r.detail ?? "" }));
}

/**
 * The op log in clock order after `afterHlc`: every op this device knows, or only those `device`
 * made (what a sync client pushes).
 */
/** Options of {@link logSince}. */
export interface LogOptions {
  /** Only ops with a clock after this one. */
  readonly afterHlc?: string;
  /** Only the ops of this device. */
  readonly device?: string;
  /** At most this many (default 1000, at most 10,000). */
  readonly limit?: number;
  /** Leave out ops withdrawn after a server refused them (what a sync client pushes). */
  readonly pushable?: boolean;
}

export async function logSince(
  core: Core,
  spaceId: string,
  options: LogOptions = {},
): Promise<ReplicaOp[]> {
  spaceId = checkId("spaceId", spaceId);
  const limit = checkLimit(options.limit, 1000, 10_000);
  const rows = await core.storage.query<LogRecord & Record<string, unknown>>(
    `select op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, detail, server_seq from op
      where space_id = $1 and hlc > $2 and ($3::text is null or device = $3) and (not $5 or ${NOT_WITHDRAWN}) order by hlc, op_id limit $4`,
    [spaceId, options.afterHlc ?? "", options.device ?? null, limit, options.pushable === true],
  );
  return rows.map(toOp);
}

/** The highest server seq among the ops pulled from a sync server (0: none): where the next pull starts. */
export async function pullCursor(core: Core, spaceId: string): Promise<number> {
  spaceId = checkId("spaceId", spaceId);
  const [row] = await core.storage.query<{ c: number | null }>("select pulled as c from space where space_id = $1", [spaceId]);
  return row?.c ?? 0;
}

/**
 * The clock up to which a sync server acknowledged this device's own ops in a space ("" when none
 * was): the next push starts after it.
 */
export async function pushMark(core: Core, spaceId: string): Promise<string> {
  spaceId = checkId("spaceId", spaceId);
  const [row] = await core.storage.query<{ p: string }>("select pushed as p from space where space_id = $1", [spaceId]);
  return row?.p ?? "";
}

/** Records that a sync server holds this device's own ops up to `hlc` (the mark only moves forward). */
export async function setPushMark(core: Core, spaceId: string, hlc: string): Promise<void> {
  spaceId = checkId("spaceId", spaceId);
  if (hlc !== "" && !isHlc(hlc)) throw invalid(`push mark must be a hybrid logical clock (engine/hlc.ts), got ${JSON.stringify(hlc)}`);
  await core.storage.query("update space set pushed = greatest(pushed, $2) where space_id = $1", [spaceId, hlc]);
}

/**
 * Withdraws one of this device's own ops that a sync server refused (a role taken away, or a
 * move of its objective out of the user's reach, while the device was offline): the op and every
 * op after it in clock order are undone, the op stays in the log as a conflict event with outcome
 * `refused:FORBIDDEN` and `detail` (the server's reason), and the others are applied again
 * without it. It is never pushed again (`logSince({ pushable: true })` leaves it out) and no undo
 * brings it back. An op the server holds already, or another device's, is INVALID_ARGUMENT.
 */
export function withdraw(core: Core, spaceId: string, opId: string, detail: string): Promise<void> {
  return withdrawAll(core, spaceId, [{ opId, detail }]);
}

/**
 * Withdraws many refused ops at once (a push the server refused op by op, e.g. a week of offline
 * edits in a subtree whose role was taken away): one undo back to the oldest of them and one replay
 * of the rest, not one of each per op. Checked whole before anything changes.
 */
export async function withdrawAll(core: Core, spaceId: string, refused: readonly { readonly opId: string; readonly detail: string }[]): Promise<void> {
  spaceId = checkId("spaceId", spaceId);
  for (const { opId } of refused) if (!isOpId(opId)) throw invalid(`opId must be <device uuid>.<counter>, got ${JSON.stringify(opId)}`);
  if (refused.length === 0) return;
  await inTurn(core, async () => {
    const rows = await core.storage.query<{ op_id: string; hlc: string; device: string; outcome: string | null; server_seq: number | null }>(
      "select op_id, hlc, device, outcome, server_seq from op where space_id = $1 and op_id = any($2::text[])",
      [spaceId, refused.map((r) => r.opId)],
    );
    const byId = new Map(rows.map((r) => [r.op_id, r]));
    for (const { opId } of refused) {
      const op = byId.get(opId);
      if (!op) throw notFound(`op ${opId} is not in space ${spaceId}'s log`);
      if (op.device !== core.deviceId) throw invalid(`op ${opId} was made by device ${op.device}, not this one (${core.deviceId}): only own ops are withdrawn`);
      if (op.server_seq !== null) throw invalid(`op ${opId} is held by the sync server already (server seq ${op.server_seq}): it cannot be withdrawn`);
    }
    const fresh = refused.filter((r) => byId.get(r.opId)!.outcome !== WITHDRAWN);
    if (fresh.length === 0) return;
    const oldest = fresh.map((r) => byId.get(r.opId)!.hlc).reduce((a, b) => (a < b ? a : b));
    await undoAfter(core, spaceId, oldest, true);
    for (const { opId, detail } of fresh) await markOutcome(core, spaceId, opId, WITHDRAWN, detail.slice(0, 2000));
    await settleNow(core, spaceId, PAGE);
  });
}
