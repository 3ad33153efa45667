/**
 * Where the sync server keeps every device's ops (DESIGN.md §8), on a storage backend (Postgres in
 * production, PGlite in tests and the demo). The server never applies ops: it authenticates,
 * numbers, stores and serves them; devices apply them in clock order themselves.
 *
 * - `sync_space`: owner and the last server seq of each space. Its row is locked by every push,
 *   so seqs are committed in order and a pull never skips a seq a slower push commits later.
 * - `sync_device`: each engine device id is bound, on its first push, to the accounts device of
 *   the session that pushed it; only that device's sessions may push its ops afterwards.
 * - `sync_op`: the ops, unique per (space, op id): a retried or duplicated push never doubles one.
 */
import type { Storage } from "../storage/contract.js";
import { SyncError, type PullPage, type PushBatch, type PushResult, type WireOp } from "../sync/protocol.js";

const LOCK = 7_420_114;

/** Creates the sync tables if missing (idempotent, under an advisory lock). */
export async function migrateSyncStore(storage: Storage): Promise<void> {
  await storage.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock($1)", [LOCK]);
    await tx.query(`create table if not exists sync_space (
      space_id uuid primary key, owner_user_id text not null, last_seq bigint not null default 0, created_at bigint not null)`);
    await tx.query(`create table if not exists sync_device (
      device text primary key, account_device_id text not null, user_id text not null, bound_at bigint not null)`);
    await tx.query(`create table if not exists sync_op (
      space_id uuid not null, server_seq bigint not null, op_id text not null, device text not null, hlc text not null,
      op jsonb not null, received_at bigint not null,
      primary key (space_id, server_seq), unique (space_id, op_id))`);
  });
}

/** Who is pushing or pulling: from the accounts session. */
export interface SyncCaller {
  readonly userId: string;
  /** The accounts device of the session. */
  readonly accountDeviceId: string;
}

/**
 * Stores a checked batch: binds the engine device to the caller's accounts device on first use
 * (`FORGED` if it is bound to another), creates the space for the caller on first push
 * (`FORBIDDEN` if another user owns it), numbers the ops the space does not have yet. One
 * transaction: a refused batch changes nothing.
 */
export async function pushOps(storage: Storage, caller: SyncCaller, spaceId: string, batch: PushBatch, now: number): Promise<PushResult> {
  return storage.transaction(async (tx) => {
    await tx.query(
      "insert into sync_device (device, account_device_id, user_id, bound_at) values ($1, $2, $3, $4) on conflict (device) do nothing",
      [batch.device, caller.accountDeviceId, caller.userId, now],
    );
    const [bound] = await tx.query<{ account_device_id: string }>("select account_device_id from sync_device where device = $1", [batch.device]);
    if (bound?.account_device_id !== caller.accountDeviceId) {
      throw new SyncError("FORGED", `device ${batch.device} belongs to another session's device; this session is device ${caller.accountDeviceId}`);
    }
    await tx.query("insert into sync_space (space_id, owner_user_id, last_seq, created_at) values ($1, $2, 0, $3) on conflict (space_id) do nothing", [
      spaceId,
      caller.userId,
      now,
    ]);
    // The row lock orders pushes to one space: seqs commit in the order they are assigned.
    const [space] = await tx.query<{ owner_user_id: string; last_seq: number }>(
      "select owner_user_id, last_seq from sync_space where space_id = $1 for update",
      [spaceId],
    );
    if (space!.owner_user_id !== caller.userId) throw new SyncError("FORBIDDEN", `space ${spaceId} belongs to another user`);
    const ids = batch.ops.map((op) => op.opId);
    const known = new Set(
      (await tx.query<{ op_id: string }>("select op_id from sync_op where space_id = $1 and op_id = any($2::text[])", [spaceId, ids])).map((r) => r.op_id),
    );
    const fresh = batch.ops.filter((op) => !known.has(op.opId));
    let last = space!.last_seq;
    if (fresh.length > 0) {
      const first = last + 1;
      last += fresh.length;
      await tx.query(
        `insert into sync_op (space_id, server_seq, op_id, device, hlc, op, received_at)
           select $1, $2::int8 + t.i - 1, t.op_id, t.device, t.hlc, t.op::jsonb, $3
             from unnest($4::text[], $5::text[], $6::text[], $7::text[]) with ordinality as t(op_id, device, hlc, op, i)`,
        [spaceId, first, now, fresh.map((o) => o.opId), fresh.map((o) => o.device), fresh.map((o) => o.hlc), fresh.map((o) => JSON.stringify(o))],
      );
      await tx.query("update sync_space set last_seq = $2 where space_id = $1", [spaceId, last]);
    }
    return { accepted: fresh.length, duplicates: batch.ops.length - fresh.length, lastSeq: last };
  });
}

/** Whether the caller may read a space: `FORBIDDEN` if another user owns it; false if nobody pushed it yet. */
export async function checkReader(storage: Storage, caller: SyncCaller, spaceId: string): Promise<boolean> {
  const [space] = await storage.query<{ owner_user_id: string }>("select owner_user_id from sync_space where space_id = $1", [spaceId]);
  if (!space) return false;
  if (space.owner_user_id !== caller.userId) throw new SyncError("FORBIDDEN", `space ${spaceId} belongs to another user`);
  return true;
}

/** The ops of a space after server seq `after`, at most `limit`, oldest first. */
export async function pullOps(storage: Storage, caller: SyncCaller, spaceId: string, after: number, limit: number): Promise<PullPage> {
  if (!(await checkReader(storage, caller, spaceId))) return { ops: [], more: false, lastSeq: 0 };
  const rows = await storage.query<{ server_seq: number; op: WireOp }>(
    "select server_seq, op from sync_op where space_id = $1 and server_seq > $2 order by server_seq limit $3",
    [spaceId, after, limit + 1],
  );
  const [space] = await storage.query<{ last_seq: number }>("select last_seq from sync_space where space_id = $1", [spaceId]);
  const page = rows.slice(0, limit);
  return { ops: page.map((r) => ({ ...r.op, serverSeq: r.server_seq })), more: rows.length > limit, lastSeq: space?.last_seq ?? 0 };
}
