/**
 * A page of replayed ops in one transaction (issue 8: a catch-up must apply thousands of ops a
 * second). Every op still runs the ordinary write path (create, update, move, remove, checkout) and
 * makes exactly the rows it would make alone: its own op row, versions, op_transitive rows and
 * `active_version` changes, with its own seq. What changes is where its reads come from and where
 * its rows go:
 *
 * - reads go through an in-memory overlay of the rows the page's earlier ops made (versions,
 *   chunks, `active_version` placements), then the row cache, then storage;
 * - the page starts with one lock of the space and a prefetch of every chain the ops start from
 *   (one recursive query, each shared ascendant read once) and of those chains' version rows and
 *   top-level chunks, so most ops read nothing from storage;
 * - rows are collected and written at the end in a few bulk statements (engine/row-writes.ts),
 *   not one round trip per op; `active_version` gets each objective's last placement.
 *
 * The result is the same as applying the ops one by one (test/apply-batch.test.ts compares every
 * table). One difference, by design: the undo images of `active_version` (`active_undo`, for
 * placing late ops) are per transaction, the state before the page; engine/clock-order.ts undoes a
 * page's ops together. Rows reach the cache only after commit.
 */
import type { Queryable } from "../storage/contract.js";
import { toPlacement, type Placement, type PlacementRecord } from "./chains.js";
import { chunkId, keepReachable, type ChunkLoader, type KidsNode } from "./children-tree.js";
import type { Core } from "./core.js";
import { notFound } from "./errors.js";
import { isUuid } from "./ids.js";
import { chunkLoader, loadVersions, remember } from "./row-cache.js";
import type { Props, VersionRow } from "./types.js";
import { insertChunks, insertOps, insertTransitive, insertVersions, writePlacements, type OpRow, type TransitiveRow } from "./row-writes.js";
import { checkReplay, type Origin, type PageWriter, type WriteCtx, type WriteOverlay } from "./write.js";

/** An op that was kept but not applied: its log entry gets a seq and why. */
interface OutcomeRow {
  readonly opId: string;
  readonly seq: number;
  readonly outcome: string;
  readonly detail: string;
}

/** Everything a page has read and written so far. */
interface PageState {
  readonly core: Core;
  readonly tx: Queryable;
  readonly spaceId: string;
  /** The last seq handed out (the space's counter as op-by-op application would leave it). */
  seq: number;
  readonly base: ChunkLoader;
  /** `active_version` as the page sees it: storage rows read so far, overwritten by the page's ops. */
  readonly placements: Map<string, Placement>;
  /** Oids known to have no `active_version` row in storage. */
  readonly absent: Set<string>;
  readonly pending: Map<string, VersionRow>;
  readonly versions: VersionRow[];
  readonly chunks: Map<string, KidsNode>;
  readonly ops: OpRow[];
  readonly applied: Set<string>;
  readonly transitive: TransitiveRow[];
  /** Each objective's last placement: the `active_version` rows to upsert. */
  readonly active: Map<string, Placement>;
  readonly outcomes: OutcomeRow[];
}

/** A page as the code replaying ops sees it. */
export interface Page {
  /** Pass as `Origin.page`: the op runs inside this page. */
  readonly writer: PageWriter;
  /** Whether an op of this page wrote an op row (it changed something). */
  applied(opId: string): boolean;
  /** Records an op that was not applied: it takes the next seq, and its log entry says why. */
  outcome(opId: string, outcome: string, detail: string): void;
}

/** Reads storage rows of objectives the page has not seen yet: one statement per call. */
async function loadRows(page: PageState, oids: readonly string[]): Promise<void> {
  const want = [...new Set(oids.filter(isUuid).map((o) => o.toLowerCase()))].filter((o) => !page.placements.has(o) && !page.absent.has(o));
  if (want.length === 0) return;
  const rows = await page.tx.query<PlacementRecord & Record<string, unknown>>(
    "select oid, vid, parent_oid, pos, is_root, dirty from active_version where space_id = $1 and oid = any($2::uuid[])",
    [page.spaceId, want],
  );
  for (const r of rows) page.placements.set(r.oid, toPlacement(r));
  for (const o of want) if (!page.placements.has(o)) page.absent.add(o);
}

/**
 * Reads the chains of `oids` from storage into the overlay, in one recursive query that reads each
 * shared ascendant once (`union`). A storage row of an objective the page has not touched is
 * current (every write of the page is still in memory), so it is taken unless the page holds one.
 */
async function loadChainRows(page: PageState, oids: readonly string[]): Promise<void> {
  // Stored uuids are lower case, as the write functions' checked ids are; anything else has no row.
  for (const o of oids) if (!isUuid(o)) page.absent.add(o);
  const want = [...new Set(oids.filter(isUuid).map((o) => o.toLowerCase()))].filter((o) => !page.absent.has(o));
  if (want.length === 0) return;
  const rows = await page.tx.query<PlacementRecord & Record<string, unknown>>(
    `with recursive up(oid) as (
       select s from unnest($2::uuid[]) as s
       union
       select a.parent_oid from up join active_version a on a.space_id = $1 and a.oid = up.oid where a.parent_oid is not null)
     select a.oid, a.vid, a.parent_oid, a.pos, a.is_root, a.dirty from up join active_version a on a.space_id = $1 and a.oid = up.oid`,
    [page.spaceId, want],
  );
  for (const r of rows) if (!page.placements.has(r.oid)) page.placements.set(r.oid, toPlacement(r));
  for (const o of want) if (!page.placements.has(o)) page.absent.add(o);
}

/** The chains of `starts` as `logbook_chains` would return them after the page's earlier ops. */
async function chainsOf(page: PageState, starts: readonly string[]): Promise<Map<string, Placement[]>> {
  for (;;) {
    const out = new Map<string, Placement[]>();
    const missing: string[] = [];
    for (const start of new Set(starts)) {
      const chain: Placement[] = [];
      for (let at: string | null = isUuid(start) ? start.toLowerCase() : start; at !== null && chain.length <= 100_000; ) {
        const p = page.placements.get(at);
        if (!p) {
          if (!page.absent.has(at)) missing.push(at);
          break;
        }
        chain.push(p);
        at = p.parentOid;
      }
      if (chain.length > 0) out.set(start, chain);
    }
    if (missing.length === 0) return out;
    await loadChainRows(page, missing);
  }
}

function overlay(page: PageState): WriteOverlay {
  return {
    async versions(keys) {
      const out = new Map<string, VersionRow>();
      const rest: (readonly [string, string])[] = [];
      for (const k of keys) {
        const hit = page.pending.get(`${k[0]}|${k[1]}`);
        if (hit) out.set(`${k[0]}|${k[1]}`, hit);
        else rest.push(k);
      }
      if (rest.length === 0) return out;
      for (const [key, row] of await loadVersions(page.core.cache, page.tx, page.spaceId, rest)) out.set(key, row);
      return out;
    },
    chains: (oids) => chainsOf(page, oids),
    async taken(oid) {
      if (!page.placements.has(oid) && !page.absent.has(oid)) await loadRows(page, [oid]);
      return page.placements.has(oid);
    },
  };
}

function newCtx(page: PageState, seq: number, origin: Origin): WriteCtx {
  const chunks = new Map<string, KidsNode>();
  return {
    core: page.core,
    tx: page.tx,
    spaceId: page.spaceId,
    seq,
    opId: origin.opId,
    now: origin.at,
    actor: origin.actor,
    device: origin.device,
    hlc: origin.hlc ?? page.core.clock.now(),
    versions: [],
    chunks,
    transitive: [],
    placements: new Map(),
    overlay: overlay(page),
    loader: {
      async getMany(ids) {
        const missing = ids.filter((id) => !chunks.has(id) && !page.chunks.has(id));
        const loaded = missing.length ? await page.base.getMany(missing) : [];
        const byId = new Map(missing.map((id, i) => [id, loaded[i]!]));
        return ids.map((id) => chunks.get(id) ?? page.chunks.get(id) ?? byId.get(id)!);
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
}

/** Takes a finished op's rows into the page. */
function absorb(page: PageState, ctx: WriteCtx): void {
  const op = ctx.op!;
  // As a single write stores them: only the chunks its final trees reach.
  keepReachable(ctx.chunks, ctx.versions.map((v) => v.kids));
  for (const v of ctx.versions) {
    page.versions.push(v);
    page.pending.set(`${v.oid}|${v.vid}`, v);
  }
  for (const [id, node] of ctx.chunks) if (!page.chunks.has(id)) page.chunks.set(id, node);
  page.ops.push({ seq: ctx.seq, opId: ctx.opId, kind: op.kind, oid: op.oid, vidBefore: op.vidBefore, vidAfter: op.vidAfter, at: ctx.now, actor: ctx.actor, device: ctx.device, data: op.data, hlc: ctx.hlc });
  page.applied.add(ctx.opId);
  for (const t of ctx.transitive) page.transitive.push({ ...t, seq: ctx.seq });
  for (const [oid, p] of ctx.placements) {
    page.placements.set(oid, p);
    page.absent.delete(oid);
    page.active.set(oid, p);
  }
}

function writer(page: PageState): PageWriter {
  return {
    async write(spaceId, starts, fn, origin) {
      if (spaceId !== page.spaceId) throw new Error(`a page of space ${page.spaceId} cannot write to space ${spaceId}`);
      // Like `logbook_begin_write`: the op takes the next seq even if it changes nothing; an op
      // that throws is rolled back alone, seq included.
      const seq = ++page.seq;
      try {
        const ctx = newCtx(page, seq, origin);
        const value = await fn(ctx, await chainsOf(page, starts));
        checkReplay(ctx, origin);
        if (ctx.op) absorb(page, ctx);
        return value;
      } catch (error) {
        page.seq = seq - 1;
        throw error;
      }
    },
  };
}

/** Reads, in three statements, what the page's ops will read: chains, their versions, top chunks. */
async function prefetch(page: PageState, starts: readonly string[]): Promise<void> {
  await loadChainRows(page, starts);
  const keys = [...page.placements.values()].map((p) => [p.oid, p.vid] as const);
  const rows = await loadVersions(page.core.cache, page.tx, page.spaceId, keys);
  const refs = new Set<string>();
  for (const row of rows.values()) if ("i" in row.kids) for (const r of row.kids.i) refs.add(r[0]);
  if (refs.size > 0) await page.base.getMany([...refs]);
}

/** Rows per bulk statement. */
const ROWS = 2000;

function slices<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS) out.push(rows.slice(i, i + ROWS));
  return out;
}

/** One data-modifying statement of the flush, given how to add a parameter (`$1` is the space). */
type Write = (p: (value: unknown) => string) => string;

const versionWrites = (page: PageState): Write[] => slices(page.versions).map((part) => (p) => insertVersions(p, "$1", part));
const chunkWrites = (page: PageState): Write[] => slices([...page.chunks]).map((part) => (p) => insertChunks(p, "$1", part));
const opWrites = (page: PageState): Write[] => slices(page.ops).map((part) => (p) => insertOps(p, "$1", part));
const transitiveWrites = (page: PageState): Write[] => slices(page.transitive).map((part) => (p) => insertTransitive(p, "$1", part));

const outcomeWrites = (page: PageState): Write[] =>
  slices(page.outcomes).map((part) => (p) =>
    `update op_log l set seq = t.seq, outcome = t.outcome, detail = t.detail
       from unnest(${p(part.map((o) => o.opId))}::text[], ${p(part.map((o) => o.seq))}::int8[], ${p(part.map((o) => o.outcome))}::text[], ${p(part.map((o) => o.detail))}::text[]) as t(op_id, seq, outcome, detail)
      where l.space_id = $1 and l.op_id = t.op_id`);

/**
 * Each objective's last placement. The undo trigger on `active_version` logs each row's state
 * before the page, stamped with the space's seq (read when the trigger fires, after the statement):
 * set to the page's first op first, so undoing from any op of the page (engine/clock-order.ts undoes
 * a transaction's ops together) restores it.
 */
const activeWrites = (page: PageState): Write[] => {
  const first = page.ops[0];
  if (!first || page.active.size === 0) return [];
  return [
    (p) => `update space set seq = ${p(first.seq)} where space_id = $1`,
    ...slices([...page.active.values()]).map((part): Write => (p) => writePlacements(p, "$1", part, true)),
  ];
};

/** Runs writes as one statement of data-modifying CTEs (one round trip), or one statement each. */
async function run(tx: Queryable, space: string, writes: readonly Write[], together: boolean): Promise<void> {
  const groups = together ? [writes] : writes.map((w) => [w]);
  for (const group of groups) {
    if (group.length === 0) continue;
    const values: unknown[] = [space];
    const p = (value: unknown) => `$${values.push(value)}`;
    const sql = group.map((w) => w(p));
    await tx.query(sql.length === 1 ? sql[0]! : `with ${sql.map((q, k) => `w${k} as (${q})`).join(",\n")} select 1`, values);
  }
}

/**
 * Writes the page, each table's rows as one jsonb document per statement (engine/row-writes.ts).
 * A page whose tables each fit one statement (a live sync's few ops) is written in one round trip.
 */
async function flush(page: PageState, lockedSeq: number): Promise<void> {
  const active = activeWrites(page);
  const writes = [...versionWrites(page), ...chunkWrites(page), ...opWrites(page), ...transitiveWrites(page), ...outcomeWrites(page), ...active];
  const small = [page.versions.length, page.chunks.size, page.ops.length, page.transitive.length, page.outcomes.length, page.active.size].every((n) => n <= ROWS);
  await run(page.tx, page.spaceId, writes, small);
  const seq = active.length > 0 ? page.ops[0]!.seq : lockedSeq;
  if (page.seq !== seq) await page.tx.query("update space set seq = $2 where space_id = $1", [page.spaceId, page.seq]);
}

/**
 * Runs `body` over one page of ops in one transaction: locks the space, prefetches what ops
 * starting at `starts` will read, lets `body` apply the ops through `page.writer`, then writes every
 * row in bulk and commits. If `body` throws, nothing of the page is written.
 */
export async function runPage<T>(core: Core, spaceId: string, starts: readonly string[], body: (page: Page) => Promise<T>): Promise<T> {
  let done: PageState | undefined;
  const value = await core.storage.transaction(async (tx) => {
    // Locks the space for the page, as `logbook_begin_write` does for one op.
    const [locked] = await tx.query<{ seq: number }>("update space set seq = seq where space_id = $1 returning seq", [spaceId]);
    if (!locked) throw notFound(`space ${spaceId} does not exist`);
    const page: PageState = {
      core,
      tx,
      spaceId,
      seq: locked.seq,
      base: chunkLoader(core.cache, tx, spaceId),
      placements: new Map(),
      absent: new Set(),
      pending: new Map(),
      versions: [],
      chunks: new Map(),
      ops: [],
      applied: new Set(),
      transitive: [],
      active: new Map(),
      outcomes: [],
    };
    await prefetch(page, starts);
    const result = await body({
      writer: writer(page),
      applied: (opId) => page.applied.has(opId),
      outcome(opId, outcome, detail) {
        page.outcomes.push({ opId, seq: ++page.seq, outcome, detail });
      },
    });
    await flush(page, locked.seq);
    done = page;
    return result;
  });
  if (done) remember(core.cache, spaceId, done.versions, done.chunks);
  return value;
}
