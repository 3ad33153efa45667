import type { Queryable } from "../storage/contract.js";
import { groupChains, loadChains, type ChainRecord, type Placement } from "./chains.js";
import { chunkId, keepReachable, type ChunkLoader, type ChunkSink, type KidsNode } from "./children-tree.js";
import type { Core } from "./core.js";
import { EngineError, notFound } from "./errors.js";
import { chunkLoader, loadVersions, remember } from "./row-cache.js";
import { insertChunks, insertOps, insertTransitive, insertVersions, writePlacements } from "./row-writes.js";
import type { OpKind, Props, VersionRow } from "./types.js";


/**
 * Who made an op elsewhere: replaying another device's op keeps its id, time, actor and device,
 * so the versions it makes get the same vids as where it was made.
 */
export interface Origin {
  readonly opId: string;
  readonly at: number;
  readonly actor: string | null;
  readonly device: string;
  /** The op's hybrid logical clock (sync/hlc.ts), kept as made. */
  readonly hlc?: string;
  /**
   * The vid the op made where it was made: a different result rolls the replay back. Omitted by
   * clock-ordered sync, where a late op legitimately gives later ops other vids than at their origin.
   */
  readonly vidAfter?: string | null;
  /**
   * A page of replayed ops applied in one transaction (engine/apply-batch.ts): the op runs inside
   * it, reading through the rows of the page's earlier ops, instead of in its own transaction.
   */
  readonly page?: PageWriter;
}

/** Where a replayed op runs when it is part of a page (engine/apply-batch.ts). */
export interface PageWriter {
  write<T>(spaceId: string, starts: readonly string[], fn: (ctx: WriteCtx, chains: Map<string, Placement[]>) => Promise<T>, origin: Origin): Promise<T>;
}

/**
 * The reads of a write inside a page of ops: rows written by the page's earlier ops (not yet in
 * storage) first, then cache and storage.
 */
export interface WriteOverlay {
  versions(keys: readonly (readonly [string, string])[]): Promise<Map<string, VersionRow>>;
  chains(oids: readonly string[]): Promise<Map<string, Placement[]>>;
  /** Whether an objective has an `active_version` row (is or was in the tree). */
  taken(oid: string): Promise<boolean>;
}

/** One write transaction: the op being made and every row it will write. */
export interface WriteCtx {
  readonly core: Core;
  readonly tx: Queryable;
  readonly spaceId: string;
  /** The op's place in the space's order; also this transaction's lock on the space. */
  readonly seq: number;
  readonly opId: string;
  readonly now: number;
  readonly actor: string | null;
  readonly device: string;
  /** The op's hybrid logical clock: its place in the order every device applies ops in. */
  readonly hlc: string;
  readonly versions: VersionRow[];
  readonly chunks: Map<string, KidsNode>;
  readonly transitive: { oid: string; vidBefore: string | null; vidAfter: string | null }[];
  /** `active_version` rows to write (upserted). */
  readonly placements: Map<string, Placement>;
  /** Chunks of this transaction first, then cache and storage. */
  readonly loader: ChunkLoader;
  readonly sink: ChunkSink;
  op?: { kind: OpKind; oid: string; vidBefore: string | null; vidAfter: string | null; data: Props };
  /** Set inside a page of ops: reads go through the page's unwritten rows first. */
  readonly overlay?: WriteOverlay;
}

/** Version rows for a write: the page's unwritten rows, cache, then storage (inside the transaction). */
export function readVersions(ctx: WriteCtx, keys: readonly (readonly [string, string])[]) {
  return ctx.overlay ? ctx.overlay.versions(keys) : loadVersions(ctx.core.cache, ctx.tx, ctx.spaceId, keys);
}

/** Chains of objectives up to their tops as this write sees them (see `loadChains`). */
export function readChains(ctx: WriteCtx, oids: readonly string[]): Promise<Map<string, Placement[]>> {
  return ctx.overlay ? ctx.overlay.chains(oids) : loadChains(ctx.tx, ctx.spaceId, oids);
}

/** Whether an objective already has an `active_version` row, as this write sees it. */
export async function isTaken(ctx: WriteCtx, oid: string): Promise<boolean> {
  if (ctx.overlay) return ctx.overlay.taken(oid);
  const rows = await ctx.tx.query("select 1 from active_version where space_id = $1 and oid = $2", [ctx.spaceId, oid]);
  return rows.length > 0;
}

/**
 * A replayed op must make the vid it made where it was made (when the origin names one): anything
 * else means the devices applied different histories, and the write is rolled back.
 */
export function checkReplay(ctx: WriteCtx, origin: Origin | undefined): void {
  if (origin && origin.vidAfter !== undefined && (ctx.op === undefined || ctx.op.vidAfter !== origin.vidAfter)) {
    throw new EngineError(
      "CONFLICT",
      `replayed op ${origin.opId} made vid ${ctx.op?.vidAfter ?? "(no change)"}, its origin made ${origin.vidAfter}: the histories differ`,
    );
  }
}

/**
 * Runs one change as one transaction. The first statement bumps the space's sequence, which
 * both numbers the op and locks the space: writers to one space serialize (no lost update), and
 * every read after it sees the latest committed tree. Rows are cached only after commit.
 */
export async function runWrite<T>(
  core: Core,
  spaceId: string,
  starts: readonly string[],
  fn: (ctx: WriteCtx, chains: Map<string, Placement[]>) => Promise<T>,
  origin?: Origin,
): Promise<T> {
  if (origin?.page) return origin.page.write(spaceId, starts, fn, origin);
  let written: WriteCtx | undefined;
  const result = await core.storage.transaction(async (tx) => {
    // One round trip: lock the space, number the op, read the chains the op starts from.
    const rows = await tx.query<{ seq: number; start: string | null } & ChainRecord & Record<string, unknown>>(
      "select * from logbook_begin_write($1, $2::uuid[])",
      [spaceId, [...new Set(starts)]],
    );
    if (!rows[0]) throw notFound(`space ${spaceId} does not exist`);
    const seq = rows[0].seq;
    const chains = groupChains(rows.slice(1) as ChainRecord[]);
    const chunks = new Map<string, KidsNode>();
    const base = chunkLoader(core.cache, tx, spaceId);
    const ctx: WriteCtx = {
      core,
      tx,
      spaceId,
      seq,
      opId: origin?.opId ?? `${core.deviceId}.${seq}`,
      now: origin?.at ?? core.now(),
      actor: origin ? origin.actor : (core.actor ?? null),
      device: origin?.device ?? core.deviceId,
      hlc: origin?.hlc ?? core.clock.now(),
      versions: [],
      chunks,
      transitive: [],
      placements: new Map(),
      loader: {
        async getMany(ids) {
          const missing = ids.filter((id) => !chunks.has(id));
          const loaded = missing.length ? await base.getMany(missing) : [];
          const byId = new Map(missing.map((id, i) => [id, loaded[i]!]));
          return ids.map((id) => chunks.get(id) ?? byId.get(id)!);
        },
      },
      sink: {
        put(node) {
          const id = chunkId(node);
          chunks.set(id, node);
          return id;
        },
      },
    };
    const value = await fn(ctx, chains);
    checkReplay(ctx, origin);
    if (ctx.op) {
      await flush(ctx);
      written = ctx;
    }
    return value;
  });
  if (written) remember(core.cache, spaceId, written.versions, written.chunks);
  return result;
}

/** Rows per bulk statement: keeps parameter arrays small for big imports. */
const BATCH = 5000;

/** Collects `$n` parameters for one statement. */
function params() {
  const values: unknown[] = [];
  return { values, p: (value: unknown) => `$${values.push(value)}` };
}

/**
 * The inserts of one op as data-modifying CTEs of ONE statement: a single round trip for the
 * whole write (an edit at depth 10 would otherwise pay five). How the rows travel: row-writes.ts.
 */
function writeStatements(ctx: WriteCtx, from: number, to: number, withOp: boolean): { sql: string; values: unknown[] } {
  const { values, p } = params();
  const space = p(ctx.spaceId);
  const parts: string[] = [];
  const v = ctx.versions.slice(from, to);
  if (v.length > 0) parts.push(insertVersions(p, space, v));
  const chunks = [...ctx.chunks].slice(from, to);
  if (chunks.length > 0) parts.push(insertChunks(p, space, chunks));
  const op = ctx.op;
  if (withOp && op) {
    parts.push(insertOps(p, space, [{ seq: ctx.seq, opId: ctx.opId, kind: op.kind, oid: op.oid, vidBefore: op.vidBefore, vidAfter: op.vidAfter, at: ctx.now, actor: ctx.actor, device: ctx.device, data: op.data, hlc: ctx.hlc }]));
  }
  const t = ctx.transitive.slice(from, to);
  if (t.length > 0) parts.push(insertTransitive(p, space, t.map((r) => ({ ...r, seq: ctx.seq }))));
  const a = [...ctx.placements.values()].slice(from, to);
  const fresh = a.filter((r) => r.fresh === true);
  const known = a.filter((r) => r.fresh !== true);
  if (fresh.length > 0) parts.push(writePlacements(p, space, fresh, false));
  if (known.length > 0) parts.push(writePlacements(p, space, known, true));
  const sql = parts.map((part, k) => `w${k} as (${part})`).join(",\n");
  return { sql: `with ${sql} select 1`, values };
}

/**
 * Sends the rows collected so far (not the op) and forgets them at once: a long write such as a
 * streamed import keeps its memory bounded, and may go on collecting while the returned promise
 * (settled when storage has them) is pending; statements of one transaction run in the order sent.
 * Every chunk collected must be final (reachable from a version of this write), as an import's
 * bottom-up chunks are; writes that edit chunks flush once at the end.
 */
export function spill(ctx: WriteCtx): Promise<void> {
  const largest = Math.max(ctx.versions.length, ctx.chunks.size, ctx.transitive.length, ctx.placements.size);
  const sent: Promise<unknown>[] = [];
  for (let from = 0; from < largest; from += BATCH) {
    const { sql, values } = writeStatements(ctx, from, from + BATCH, false);
    sent.push(ctx.tx.query(sql, values));
  }
  ctx.versions.length = 0;
  ctx.chunks.clear();
  ctx.transitive.length = 0;
  ctx.placements.clear();
  return Promise.all(sent).then(() => undefined);
}

async function flush(ctx: WriteCtx): Promise<void> {
  keepReachable(ctx.chunks, ctx.versions.map((v) => v.kids));
  const largest = Math.max(ctx.versions.length, ctx.chunks.size, ctx.transitive.length, ctx.placements.size, 1);
  for (let from = 0; from < largest; from += BATCH) {
    const { sql, values } = writeStatements(ctx, from, from + BATCH, from === 0);
    await ctx.tx.query(sql, values);
  }
}
