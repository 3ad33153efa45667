import type { Queryable } from "../storage/contract.js";
import { chunkId, type ChunkLoader, type ChunkSink, type KidsNode } from "./children-tree.js";
import type { Core } from "./core.js";
import { notFound } from "./errors.js";
import { chunkLoader, loadVersions, remember } from "./row-cache.js";
import type { OpKind, Props, VersionRow } from "./types.js";

/** A row to write into `active_version`. */
export interface PlacementWrite {
  readonly oid: string;
  readonly vid: string;
  readonly parentOid: string | null;
  readonly pos: string | null;
  readonly isRoot: boolean;
  readonly dirty: boolean;
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
  readonly versions: VersionRow[];
  readonly chunks: Map<string, KidsNode>;
  readonly transitive: { oid: string; vidBefore: string | null; vidAfter: string | null }[];
  readonly placements: Map<string, PlacementWrite>;
  /** Chunks of this transaction first, then cache and storage. */
  readonly loader: ChunkLoader;
  readonly sink: ChunkSink;
  op?: { kind: OpKind; oid: string; vidBefore: string | null; vidAfter: string | null; data: Props };
}

/** Version rows for a write: cache, then storage (reads inside the transaction). */
export function readVersions(ctx: WriteCtx, keys: readonly (readonly [string, string])[]) {
  return loadVersions(ctx.core.cache, ctx.tx, ctx.spaceId, keys);
}

/**
 * Runs one change as one transaction. The first statement bumps the space's sequence, which
 * both numbers the op and locks the space: writers to one space serialize (no lost update), and
 * every read after it sees the latest committed tree. Rows are cached only after commit.
 */
export async function runWrite<T>(core: Core, spaceId: string, fn: (ctx: WriteCtx) => Promise<T>): Promise<T> {
  let written: WriteCtx | undefined;
  const result = await core.storage.transaction(async (tx) => {
    const bumped = await tx.query<{ seq: number }>(
      "update space set seq = seq + 1 where space_id = $1 returning seq",
      [spaceId],
    );
    if (!bumped[0]) throw notFound(`space ${spaceId} does not exist`);
    const seq = bumped[0].seq;
    const chunks = new Map<string, KidsNode>();
    const base = chunkLoader(core.cache, tx, spaceId);
    const ctx: WriteCtx = {
      core,
      tx,
      spaceId,
      seq,
      opId: `${core.deviceId}.${seq}`,
      now: core.now(),
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
    const value = await fn(ctx);
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

function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

async function flush(ctx: WriteCtx): Promise<void> {
  const { tx, spaceId, seq, op } = ctx;
  for (const v of batches(ctx.versions)) {
    await tx.query(
      `insert into objective (space_id, oid, vid, parent_oid, content, props, kids, stats, created_at, seq)
       select $1, t.oid, t.vid, t.parent_oid, t.content, t.props::jsonb, t.kids::jsonb, t.stats::jsonb, $2, $3
         from unnest($4::uuid[], $5::text[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[])
           as t(oid, vid, parent_oid, content, props, kids, stats)`,
      [
        spaceId,
        ctx.now,
        seq,
        v.map((r) => r.oid),
        v.map((r) => r.vid),
        v.map((r) => r.parentOid),
        v.map((r) => r.content),
        v.map((r) => JSON.stringify(r.props)),
        v.map((r) => JSON.stringify(r.kids)),
        v.map((r) => JSON.stringify(r.stats)),
      ],
    );
  }
  for (const ids of batches([...ctx.chunks.keys()])) {
    await tx.query(
      `insert into link (space_id, chunk_id, node)
       select $1, t.id, t.node::jsonb from unnest($2::text[], $3::text[]) as t(id, node)
       on conflict do nothing`,
      [spaceId, ids, ids.map((id) => JSON.stringify(ctx.chunks.get(id)))],
    );
  }
  if (op) {
    await tx.query(
      `insert into op (space_id, seq, op_id, kind, oid, vid_before, vid_after, at, actor, device, data)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [spaceId, seq, ctx.opId, op.kind, op.oid, op.vidBefore, op.vidAfter, ctx.now, ctx.core.actor ?? null, ctx.core.deviceId, JSON.stringify(op.data)],
    );
  }
  for (const t of batches(ctx.transitive)) {
    await tx.query(
      `insert into op_transitive (space_id, oid, seq, vid_before, vid_after)
       select $1, t.oid, $2, t.vb, t.va from unnest($3::uuid[], $4::text[], $5::text[]) as t(oid, vb, va)`,
      [spaceId, seq, t.map((r) => r.oid), t.map((r) => r.vidBefore), t.map((r) => r.vidAfter)],
    );
  }
  for (const p of batches([...ctx.placements.values()])) {
    await tx.query(
      `insert into active_version (space_id, oid, vid, parent_oid, pos, is_root, dirty)
       select $1, t.oid, t.vid, t.parent_oid, t.pos, t.is_root, t.dirty
         from unnest($2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::boolean[], $7::boolean[])
           as t(oid, vid, parent_oid, pos, is_root, dirty)
       on conflict (space_id, oid) do update set vid = excluded.vid, parent_oid = excluded.parent_oid,
         pos = excluded.pos, is_root = excluded.is_root, dirty = excluded.dirty`,
      [
        spaceId,
        p.map((r) => r.oid),
        p.map((r) => r.vid),
        p.map((r) => r.parentOid),
        p.map((r) => r.pos),
        p.map((r) => r.isRoot),
        p.map((r) => r.dirty),
      ],
    );
  }
}
