import type { Queryable } from "../storage/contract.js";
import { groupChains, loadChains, type ChainRecord, type Placement } from "./chains.js";
import { chunkId, keepReachable, type ChunkLoader, type ChunkSink, type KidsNode } from "./children-tree.js";
import type { Core } from "./core.js";
import { EngineError, notFound } from "./errors.js";
import { chunkLoader, loadVersions, remember } from "./row-cache.js";
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
 * whole write (an edit at depth 10 would otherwise pay five). Each table's rows travel as ONE
 * jsonb parameter, an array of positional arrays: JSON.stringify is native on the way out, and
 * props, kids and stats go in as jsonb values without a second text-to-jsonb parse per row. Per
 * 5,000 imported rows this took a third off the objective insert against `unnest` of text arrays.
 */
function writeStatements(ctx: WriteCtx, from: number, to: number, withOp: boolean): { sql: string; values: unknown[] } {
  const { values, p } = params();
  const space = p(ctx.spaceId);
  const rows = (list: readonly (readonly unknown[])[]) => `jsonb_array_elements(${p(JSON.stringify(list))}::jsonb) r`;
  const parts: string[] = [];
  const v = ctx.versions.slice(from, to);
  if (v.length > 0) {
    parts.push(`insert into objective (space_id, oid, vid, parent_oid, pos, content, props, kids, stats, created_at, seq)
       select ${space}, (r->>0)::uuid, r->>1, (r->>2)::uuid, r->>3, r->>4, r->5, r->6, r->7, ${p(ctx.now)}::int8, ${p(ctx.seq)}::int8
         from ${rows(v.map((r) => [r.oid, r.vid, r.parentOid, r.pos, r.content, r.props, r.kids, r.stats]))}`);
  }
  const ids = [...ctx.chunks.keys()].slice(from, to);
  if (ids.length > 0) {
    parts.push(`insert into link (space_id, chunk_id, node)
       select ${space}, r->>0, r->1 from ${rows(ids.map((id) => [id, ctx.chunks.get(id)]))}
       on conflict do nothing`);
  }
  const op = ctx.op;
  if (withOp && op) {
    parts.push(`insert into op (space_id, seq, op_id, kind, oid, vid_before, vid_after, at, actor, device, data, hlc)
       values (${space}, ${p(ctx.seq)}::int8, ${p(ctx.opId)}, ${p(op.kind)}, ${p(op.oid)}::uuid, ${p(op.vidBefore)}, ${p(op.vidAfter)},
               ${p(ctx.now)}::int8, ${p(ctx.actor)}, ${p(ctx.device)}, ${p(JSON.stringify(op.data))}::jsonb, ${p(ctx.hlc)})`);
  }
  const t = ctx.transitive.slice(from, to);
  if (t.length > 0) {
    parts.push(`insert into op_transitive (space_id, oid, seq, vid_before, vid_after)
       select ${space}, (r->>0)::uuid, ${p(ctx.seq)}::int8, r->>1, r->>2
         from ${rows(t.map((r) => [r.oid, r.vidBefore, r.vidAfter]))}`);
  }
  const a = [...ctx.placements.values()].slice(from, to);
  const placements = (list: Placement[], upsert: boolean) => {
    if (list.length === 0) return;
    parts.push(`insert into active_version (space_id, oid, vid, parent_oid, pos, is_root, dirty)
       select ${space}, (r->>0)::uuid, r->>1, (r->>2)::uuid, r->>3, (r->>4)::boolean, (r->>5)::boolean
         from ${rows(list.map((r) => [r.oid, r.vid, r.parentOid, r.pos, r.isRoot, r.dirty]))}` +
      (upsert
        ? `
       on conflict (space_id, oid) do update set vid = excluded.vid, parent_oid = excluded.parent_oid,
         pos = excluded.pos, is_root = excluded.is_root, dirty = excluded.dirty`
        : ""));
  };
  placements(a.filter((r) => r.fresh === true), false);
  placements(a.filter((r) => r.fresh !== true), true);
  const sql = parts.map((part, k) => `w${k} as (${part})`).join(",\n");
  return { sql: `with ${sql} select 1`, values };
}

/**
 * Writes the rows collected so far (not the op) and forgets them: a long write such as a streamed
 * import keeps its memory bounded. Every chunk collected must be final (reachable from a version
 * of this write), as an import's bottom-up chunks are; writes that edit chunks flush once at the end.
 */
export async function spill(ctx: WriteCtx): Promise<void> {
  const largest = Math.max(ctx.versions.length, ctx.chunks.size, ctx.transitive.length, ctx.placements.size);
  for (let from = 0; from < largest; from += BATCH) {
    const { sql, values } = writeStatements(ctx, from, from + BATCH, false);
    await ctx.tx.query(sql, values);
  }
  ctx.versions.length = 0;
  ctx.chunks.clear();
  ctx.transitive.length = 0;
  ctx.placements.clear();
}

async function flush(ctx: WriteCtx): Promise<void> {
  keepReachable(ctx.chunks, ctx.versions.map((v) => v.kids));
  const largest = Math.max(ctx.versions.length, ctx.chunks.size, ctx.transitive.length, ctx.placements.size, 1);
  for (let from = 0; from < largest; from += BATCH) {
    const { sql, values } = writeStatements(ctx, from, from + BATCH, from === 0);
    await ctx.tx.query(sql, values);
  }
}
