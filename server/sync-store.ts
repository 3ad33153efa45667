/**
 * Where the sync server keeps every device's ops (DESIGN.md §8), on a storage backend (Postgres in
 * production, PGlite in tests and the demo). Here the server authenticates, numbers, stores and
 * serves ops; devices, and the server's own replica (server/sync-replica.ts), apply them in clock order.
 *
 * - `sync_space`: owner and the last server seq of each space. Its row is locked by every push,
 *   so seqs are committed in order and a pull never skips a seq a slower push commits later.
 * - `sync_space` rows are made by `createSpace` (an authenticated call), never by a push.
 * - `sync_device`: each engine device id is bound, when it registers (`bindDevice`), to the
 *   accounts device of the session that registered it; only that device's sessions may push its ops.
 * - `sync_op`: the ops, unique per (space, op id): a retried or duplicated push never doubles one;
 *   `bytes` is each op's JSON size (pull pages are cut by it).
 */
import type { Queryable, Storage } from "../storage/contract.js";
import { LIMITS, SyncError, type PullPage, type PushBatch, type PushResult, type WireOp } from "../sync/protocol.js";

const LOCK = 7_420_114;

/**
 * Per-user limits of the sync store; a push past one is refused with `QUOTA_EXCEEDED` (403).
 * Pushes to one space are checked one at a time (its row lock); concurrent pushes of one user to
 * different spaces are not serialized (a per-user lock made pushes about 1.5x slower), so they can
 * pass a quota by at most their own batches.
 */
export interface SyncQuotas {
  /** Spaces a user may own. */
  readonly spacesPerUser: number;
  /** Ops a user's spaces may hold in all. */
  readonly opsPerUser: number;
}

/** Default quotas: generous for one person's outlines, a ceiling for a hostile account. */
export const DEFAULT_QUOTAS: SyncQuotas = { spacesPerUser: 1_000, opsPerUser: 5_000_000 };

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
    // The stored size of each op, so a pull page is cut by bytes without serializing every row.
    await tx.query("alter table sync_op add column if not exists bytes int");
    await tx.query("create index if not exists sync_space_owner_idx on sync_space (owner_user_id)");
    // A member device's newest clock (its pushes must come in clock order: server/sync-access.ts).
    await tx.query("create index if not exists sync_op_device_idx on sync_op (space_id, device, hlc)");
    // Invitations by e-mail (server/sync-invitations.ts): a role waiting for an address to have an account.
    await tx.query(`create table if not exists sync_invitation (
      id uuid primary key, space_id uuid not null, oid uuid not null, email text not null, role text not null,
      invited_by text not null, created_at bigint not null, applied_at bigint, outcome text)`);
    await tx.query("create index if not exists sync_invitation_email_idx on sync_invitation (email) where applied_at is null");
    await tx.query("create index if not exists sync_invitation_space_idx on sync_invitation (space_id)");
  });
}

/** Who is pushing or pulling: from the accounts session. */
export interface SyncCaller {
  readonly userId: string;
  /** The accounts device of the session. */
  readonly accountDeviceId: string;
}

/**
 * The batch with every op's actor bound to the pushing user: an op without one gets the user's id,
 * an op naming anyone else is `FORGED` (collaboration reads "who did this" from it).
 */
export function bindActors(batch: PushBatch, userId: string): PushBatch {
  const ops = batch.ops.map((op, i) => {
    if (op.actor === null) return { ...op, actor: userId };
    if (op.actor !== userId) throw new SyncError("FORGED", `ops[${i}].actor ${JSON.stringify(op.actor)} is not the signed-in user ${userId}`);
    return op;
  });
  return { device: batch.device, ops };
}

/**
 * Creates a space for the caller, who owns it from then on: `created` false when the caller made
 * it before (the call is idempotent), `CONFLICT` when another user did, `QUOTA_EXCEEDED` past the
 * caller's space quota.
 */
export async function createSyncSpace(storage: Storage, caller: SyncCaller, spaceId: string, now: number, quotas: SyncQuotas = DEFAULT_QUOTAS): Promise<{ spaceId: string; created: boolean }> {
  return storage.transaction(async (tx) => {
    // One creation per user at a time: the count and the insert must not interleave (the quota).
    await tx.query("select pg_advisory_xact_lock($1, hashtext($2))", [LOCK, caller.userId]);
    const [owned] = await tx.query<{ spaces: number | string }>("select count(*) as spaces from sync_space where owner_user_id = $1", [caller.userId]);
    const created = await tx.query("insert into sync_space (space_id, owner_user_id, last_seq, created_at) values ($1, $2, 0, $3) on conflict (space_id) do nothing returning space_id", [
      spaceId,
      caller.userId,
      now,
    ]);
    if (created.length === 0) {
      const [space] = await tx.query<{ owner_user_id: string }>("select owner_user_id from sync_space where space_id = $1", [spaceId]);
      if (space?.owner_user_id !== caller.userId) throw new SyncError("CONFLICT", `space ${spaceId} exists and belongs to another user`);
      return { spaceId, created: false };
    }
    if (Number(owned!.spaces) >= quotas.spacesPerUser) {
      throw new SyncError("QUOTA_EXCEEDED", `user ${caller.userId} owns ${owned!.spaces} spaces; the quota is ${quotas.spacesPerUser}`);
    }
    return { spaceId, created: true };
  });
}

/**
 * Stores a checked batch: the engine device must be registered to the caller's accounts device
 * (`FORGED` otherwise), the space must exist (`NOT_FOUND`) and be the caller's (`FORBIDDEN`)
 * unless `member` says the caller's role there was checked (server/sync-access.ts); binds each
 * op's actor to the caller (`FORGED` if it names another), numbers the ops the space does not have
 * yet (`QUOTA_EXCEEDED` past the space owner's quotas: a member's ops are stored in the owner's
 * space). One transaction: a refused batch changes nothing.
 */
export async function pushOps(
  storage: Storage,
  caller: SyncCaller,
  spaceId: string,
  checked: PushBatch,
  now: number,
  quotas: SyncQuotas = DEFAULT_QUOTAS,
  options: { readonly member?: boolean } = {},
): Promise<PushResult> {
  const batch = bindActors(checked, caller.userId);
  return storage.transaction(async (tx) => {
    const [bound] = await tx.query<{ account_device_id: string }>("select account_device_id from sync_device where device = $1", [batch.device]);
    if (!bound) throw new SyncError("FORGED", `device ${batch.device} is not registered: POST /sync/devices/${batch.device}/bind with this session first`);
    if (bound.account_device_id !== caller.accountDeviceId) {
      throw new SyncError(
        "FORGED",
        `device ${batch.device} belongs to another session's device; this session is device ${caller.accountDeviceId} (a device signed in again after a revocation: POST /sync/devices/${batch.device}/bind)`,
      );
    }
    // The row lock orders pushes to one space: seqs commit in the order they are assigned. The
    // owner's usage (this space included) comes with it.
    const [space] = await tx.query<{ owner_user_id: string; last_seq: number; ops: number | string }>(
      `select s.owner_user_id, s.last_seq,
              (select coalesce(sum(u.last_seq), 0) from sync_space u where u.owner_user_id = s.owner_user_id) as ops
         from sync_space s where s.space_id = $1 for update`,
      [spaceId],
    );
    if (!space) throw new SyncError("NOT_FOUND", `space ${spaceId} does not exist on this server: create it first (POST /sync/spaces)`);
    if (space.owner_user_id !== caller.userId && !options.member) throw new SyncError("FORBIDDEN", `space ${spaceId} belongs to another user`);
    const usage = { ops: Number(space.ops) };
    const ids = batch.ops.map((op) => op.opId);
    const known = new Set(
      (await tx.query<{ op_id: string }>("select op_id from sync_op where space_id = $1 and op_id = any($2::text[])", [spaceId, ids])).map((r) => r.op_id),
    );
    const fresh = batch.ops.filter((op) => !known.has(op.opId));
    if (fresh.length > 0 && usage.ops + fresh.length > quotas.opsPerUser) {
      throw new SyncError("QUOTA_EXCEEDED", `user ${space.owner_user_id} has ${usage.ops} ops stored; ${fresh.length} more would pass the quota of ${quotas.opsPerUser}`);
    }
    let last = space.last_seq;
    if (fresh.length > 0) {
      const first = last + 1;
      last += fresh.length;
      await insertOps(tx, spaceId, first, now, fresh);
      await tx.query("update sync_space set last_seq = $2 where space_id = $1", [spaceId, last]);
    }
    return { accepted: fresh.length, duplicates: batch.ops.length - fresh.length, lastSeq: last };
  });
}

/** Stores ops numbered from `first` on (the caller holds the space's row lock). */
async function insertOps(tx: Queryable, spaceId: string, first: number, now: number, ops: readonly WireOp[]): Promise<void> {
  await tx.query(
    `insert into sync_op (space_id, server_seq, op_id, device, hlc, op, received_at, bytes)
       select $1, $2::int8 + t.i - 1, t.op_id, t.device, t.hlc, t.op::jsonb, $3, octet_length(t.op)
         from unnest($4::text[], $5::text[], $6::text[], $7::text[]) with ordinality as t(op_id, device, hlc, op, i)`,
    [spaceId, first, now, ops.map((o) => o.opId), ops.map((o) => o.device), ops.map((o) => o.hlc), ops.map((o) => JSON.stringify(o))],
  );
}

/**
 * Binds an engine device to the caller's accounts device: when it is not bound yet, is bound to
 * it already, or is bound to an accounts device of the same user that is no longer active
 * (`activeDeviceIds`: the user's devices that are not revoked). How a device signed in again
 * after its accounts device was revoked gets its offline ops uploaded. `FORGED` for another
 * user's engine device; `CONFLICT` while the bound accounts device is still active (revoke it
 * first, or sign in on it by id).
 */
export async function bindDevice(
  storage: Storage,
  caller: SyncCaller,
  device: string,
  activeDeviceIds: ReadonlySet<string>,
  now: number,
): Promise<{ readonly device: string; readonly accountDeviceId: string; readonly rebound: boolean }> {
  return storage.transaction(async (tx) => {
    const [bound] = await tx.query<{ account_device_id: string; user_id: string }>(
      "select account_device_id, user_id from sync_device where device = $1 for update",
      [device],
    );
    if (bound === undefined) {
      // Two first registrations at once: the loser sees the winner's row (and is answered by it).
      const made = await tx.query("insert into sync_device (device, account_device_id, user_id, bound_at) values ($1, $2, $3, $4) on conflict (device) do nothing returning device", [
        device,
        caller.accountDeviceId,
        caller.userId,
        now,
      ]);
      if (made.length > 0) return { device, accountDeviceId: caller.accountDeviceId, rebound: false };
      const [winner] = await tx.query<{ account_device_id: string; user_id: string }>("select account_device_id, user_id from sync_device where device = $1", [device]);
      if (winner?.account_device_id === caller.accountDeviceId) return { device, accountDeviceId: caller.accountDeviceId, rebound: false };
      throw new SyncError(winner?.user_id === caller.userId ? "CONFLICT" : "FORGED", `device ${device} was registered by another device at the same moment`);
    }
    if (bound.account_device_id === caller.accountDeviceId) return { device, accountDeviceId: caller.accountDeviceId, rebound: false };
    if (bound.user_id !== caller.userId) throw new SyncError("FORGED", `device ${device} belongs to another user`);
    if (activeDeviceIds.has(bound.account_device_id)) {
      throw new SyncError("CONFLICT", `device ${device} is bound to accounts device ${bound.account_device_id}, which is still active: revoke it first, or sign in on it by id`);
    }
    await tx.query("update sync_device set account_device_id = $2, bound_at = $3 where device = $1", [device, caller.accountDeviceId, now]);
    return { device, accountDeviceId: caller.accountDeviceId, rebound: true };
  });
}

const missing = (spaceId: string) => new SyncError("NOT_FOUND", `space ${spaceId} does not exist on this server`);

/**
 * The ops of a space after server seq `after`, oldest first: at most `limit`, and at most
 * `maxBytes` of stored op JSON (at least one op). `more` when ops follow the page. The sizes are
 * read first (an index range, no op bodies), so a page of large ops never leaves the database.
 * The space must exist (`NOT_FOUND`) and be the caller's (`FORBIDDEN`) unless `member` says the
 * caller's reach was checked (server/sync-access.ts).
 */
export async function pullOps(
  storage: Storage,
  caller: SyncCaller,
  spaceId: string,
  after: number,
  limit: number,
  options: { readonly member?: boolean; readonly maxBytes?: number } = {},
): Promise<PullPage> {
  const [space] = await storage.query<{ owner_user_id: string; last_seq: number }>("select owner_user_id, last_seq from sync_space where space_id = $1", [spaceId]);
  if (!space) throw missing(spaceId);
  if (space.owner_user_id !== caller.userId && !options.member) throw new SyncError("FORBIDDEN", `space ${spaceId} belongs to another user`);
  const { ops, upTo } = await opsAfter(storage, spaceId, after, limit, options.maxBytes ?? LIMITS.maxPullBytes);
  // Seqs are contiguous and committed in order (the push's row lock): ops follow iff the page ends
  // before the last seq (read first; a push committed since is announced by its poke).
  const lastSeq = Math.max(space.last_seq, upTo);
  return { ops, more: ops.length > 0 && upTo < lastSeq, lastSeq };
}

/**
 * The stored ops of a space after server seq `after`, oldest first: at most `limit`, and at most
 * `maxBytes` of stored JSON (at least one op), with the last seq read. No access check: the pull
 * route checks the caller, the server's replica reads every space.
 */
export async function opsAfter(
  storage: Storage,
  spaceId: string,
  after: number,
  limit: number,
  maxBytes: number = LIMITS.maxPullBytes,
): Promise<{ ops: (WireOp & { serverSeq: number })[]; upTo: number }> {
  const sizes = await storage.query<{ server_seq: number; bytes: number }>(
    "select server_seq, coalesce(bytes, octet_length(op::text)) as bytes from sync_op where space_id = $1 and server_seq > $2 order by server_seq limit $3",
    [spaceId, after, limit],
  );
  let upTo = after;
  let total = 0;
  for (const row of sizes) {
    total += row.bytes;
    if (total > maxBytes && upTo > after) break;
    upTo = row.server_seq;
  }
  const rows =
    upTo === after
      ? []
      : await storage.query<{ server_seq: number; op: WireOp }>(
          "select server_seq, op from sync_op where space_id = $1 and server_seq > $2 and server_seq <= $3 order by server_seq",
          [spaceId, after, upTo],
        );
  return { ops: rows.map((r) => ({ ...r.op, serverSeq: r.server_seq })), upTo };
}

/**
 * Numbers and stores ops the server made itself (its replica's, e.g. the share op of an invitation)
 * after the space's other ops, under the space's row lock like a push. No device binding and no
 * quota: the server vouches for them. Returns the space's last seq.
 */
export async function appendServerOps(storage: Storage, spaceId: string, ops: readonly WireOp[], now: number): Promise<number> {
  return storage.transaction(async (tx) => {
    const [space] = await tx.query<{ last_seq: number }>("select last_seq from sync_space where space_id = $1 for update", [spaceId]);
    if (!space) throw missing(spaceId);
    const first = space.last_seq + 1;
    const last = space.last_seq + ops.length;
    if (ops.length === 0) return space.last_seq;
    await insertOps(tx, spaceId, first, now, ops);
    await tx.query("update sync_space set last_seq = $2 where space_id = $1", [spaceId, last]);
    return last;
  });
}
