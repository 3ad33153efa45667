/**
 * A page of replayed ops in one transaction (a catch-up must apply thousands of ops a second).
 * Every op still runs the ordinary write path (create, update, move, remove, checkout) and makes
 * exactly the records it would make alone, with its own seq. What changes is where its reads come
 * from and where its records go:
 *
 * - reads go through what the page's earlier ops wrote (newest rows, versions, chunks, places,
 *   lost lists, applied op ids), then the row cache, then storage;
 * - the page starts with one lock of the space and a prefetch of every chain the ops start from,
 *   so most ops read nothing from storage;
 * - records are written at the end, ALL records of one objective in ONE row (engine/format/rows.ts):
 *   a page of 500 ops over a 10,000-node outline writes ~4 rows per op instead of ~12.
 *
 * The result is the same as applying the ops one by one but for the packing of rows
 * (test/apply-batch.test.ts compares the versions, ops and documents). Rows reach the cache only
 * after commit.
 */
import type { Queryable } from "../storage/contract.js";
import type { Role } from "./roles.js";
import { loadExactHints, loadHints, toHint, walkUp, type Hint, type HintRecord, type Placement } from "./chains.js";
import { keepReachable, type ChunkLoader, type KidsNode } from "./children-tree.js";
import type { Core } from "./core.js";
import { notFound } from "./errors.js";
import { storedVidLookup } from "./find-version.js";
import { chunkLoader, loadVersions } from "./format/row-cache.js";
import type { SegmentWrites, Written } from "./format/rows.js";
import { isUuid } from "./ids.js";
import { forget, learnPage, take } from "./known.js";
import type { Candidate, Candidates } from "./locate.js";
import type { VersionRow } from "./types.js";
import type { ReplicaOp } from "./replicate.js";
import { encodeOpData } from "./format/op-row.js";
import {
  checkReplay,
  copyOpRows,
  copyVersionRows,
  opCopyRow,
  insertChunks,
  insertDocuments,
  insertRows,
  appendRows,
  newCtx,
  opRowOf,
  rowsOf,
  settleRows,
  storageReader,
  storedCandidates,
  upsertOps,
  type OpRow,
  type Origin,
  type PageWriter,
  type WriteCtx,
  type WriteReader,
  type Listed,
} from "./write.js";

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
  /** Each objective's newest row as the page sees it: stored rows read so far, then its own records. */
  readonly newest: Map<string, Hint>;
  /** Oids known to have no stored row. */
  readonly absent: Set<string>;
  readonly pending: Map<string, VersionRow>;
  readonly written: Written[];
  readonly chunks: Map<string, KidsNode>;
  readonly ops: OpRow[];
  readonly applied: Map<string, number>;
  readonly documents: { oid: string; seq: number }[];
  /** The actor of each document the page made (engine/roles.ts: its creator manages it). */
  readonly creators: Map<string, string | null>;
  /** Each actor's stored entries, read once per page (until a share op of the page changes them). */
  readonly roles: Map<string, Map<string, Role | null>>;
  /** Every record the page wrote, per objective, oldest first, as a newest-row hint with the record's seq. */
  readonly history: Map<string, Recorded[]>;
  /** Stored newest rows as of a past seq (reads of a version's tree), by that seq. */
  readonly past: Map<number, Map<string, Hint>>;
  readonly lost: Map<string, { oid: string; seq: number }[]>;
  readonly gained: Map<string, { oid: string; seq: number }[]>;
  readonly restored: Map<string, number[]>;
  readonly checkouts: number[];
  readonly outcomes: OutcomeRow[];
}

/** A newest-row hint as one of the page's records left it, with the record's seq. */
type Recorded = Hint & { readonly at: number };

/** A page as the code replaying ops sees it. */
export interface Page {
  /** The page's transaction (for checks under its lock). */
  readonly tx: Queryable;
  /** Pass as `Origin.page`: the op runs inside this page. */
  readonly writer: PageWriter;
  /** Whether an op of this page wrote an op row (it changed something). */
  applied(opId: string): boolean;
  /** Records an op that was not applied: it takes the next seq, and its log entry says why. */
  outcome(opId: string, outcome: string, detail: string): void;
}

const lower = (o: string) => (isUuid(o) ? o.toLowerCase() : o);

/** Reads the newest-row chains of objectives the page has not seen, in one statement. */
async function loadNewest(page: PageState, oids: readonly string[]): Promise<void> {
  const want = [...new Set(oids.map(lower))].filter((o) => isUuid(o) && !page.newest.has(o) && !page.absent.has(o));
  for (const o of oids) if (!isUuid(o)) page.absent.add(o);
  if (want.length === 0) return;
  // Every objective up the chains once (shared ascendants once), newest row each.
  const rows = await page.tx.query<HintRecord & Record<string, unknown>>("select * from logbook_chains($1, $2::uuid[], null)", [page.spaceId, want]);
  // A stored row of an objective the page has not written is its newest.
  for (const r of rows) if (!page.newest.has(r.oid)) page.newest.set(r.oid, toHint(r));
  for (const o of want) if (!page.newest.has(o)) page.absent.add(o);
}

/** The page's newest record of an objective as of a seq (undefined: none in the page). */
function pageHint(page: PageState, oid: string, maxSeq: number): Hint | undefined {
  const list = page.history.get(oid);
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.at <= maxSeq) return list[i];
  return undefined;
}

/** Newest-row chains as of a past seq: the page's records first, then stored rows as of it. */
async function hintsAsOf(page: PageState, starts: readonly string[], maxSeq: number): Promise<Map<string, Hint[]>> {
  let stored = page.past.get(maxSeq);
  if (!stored) page.past.set(maxSeq, (stored = new Map()));
  const none = new Set<string>();
  for (;;) {
    const out = new Map<string, Hint[]>();
    const missing: string[] = [];
    for (const start of new Set(starts)) {
      const walk = walkUp(lower(start), (at) => pageHint(page, at, maxSeq) ?? stored.get(at));
      if (walk.missing !== null && !none.has(walk.missing) && isUuid(walk.missing)) missing.push(walk.missing);
      out.set(start, walk.chain);
    }
    if (missing.length === 0) return out;
    const loaded = await loadHints(page.tx, page.spaceId, missing, maxSeq);
    for (const chain of loaded.values()) for (const h of chain) if (!stored.has(h.oid)) stored.set(h.oid, h);
    for (const o of missing) if (!stored.has(o)) none.add(o);
  }
}

/** Newest-row chains as the page sees them. */
async function hintsOf(page: PageState, starts: readonly string[]): Promise<Map<string, Hint[]>> {
  for (;;) {
    const out = new Map<string, Hint[]>();
    const missing: string[] = [];
    for (const start of new Set(starts)) {
      const walk = walkUp(lower(start), (at) => page.newest.get(at));
      if (walk.missing !== null && !page.absent.has(walk.missing)) missing.push(walk.missing);
      out.set(start, walk.chain);
    }
    if (missing.length === 0) return out;
    await loadNewest(page, missing);
  }
}

function reader(page: PageState, loader: ChunkLoader): WriteReader {
  const stored = storageReader(page.core, page.tx, page.spaceId, loader, new Map());
  const vids = storedVidLookup(page.tx, page.spaceId);
  return {
    loader,
    async versions(keys) {
      const out = new Map<string, VersionRow>();
      const rest: (readonly [string, number])[] = [];
      for (const k of keys) {
        const hit = page.pending.get(`${k[0]}|${k[1]}`);
        if (hit) out.set(`${k[0]}|${k[1]}`, hit);
        else rest.push(k);
      }
      if (rest.length > 0) for (const [key, row] of await loadVersions(page.core.cache, page.tx, page.spaceId, rest)) out.set(key, row);
      return out;
    },
    hints: (oids, maxSeq) => (maxSeq === undefined ? hintsOf(page, oids) : hintsAsOf(page, oids, maxSeq)),
    async exactHints(oids, maxSeq, stop) {
      // The page's own records are exact already; the rest from storage, and where storage's climb
      // passes an objective the page wrote, the page's record again.
      const out = new Map<string, Hint>();
      const rest: string[] = [];
      for (const o of oids) {
        const h = pageHint(page, lower(o), maxSeq);
        if (h) out.set(o, h);
        else if (isUuid(o)) rest.push(o);
      }
      if (rest.length > 0) {
        for (const [o, h] of await loadExactHints(page.tx, page.spaceId, rest, maxSeq, stop)) if (!out.has(o)) out.set(o, pageHint(page, o, maxSeq) ?? h);
      }
      return out;
    },
    async candidates(oid, maxSeq): Promise<Candidates> {
      // The page's records (newest first, as of maxSeq) come before anything stored.
      const mine = [...(page.history.get(oid) ?? [])].reverse().filter((h) => maxSeq === undefined || h.at <= maxSeq);
      const theirs = await storedCandidates(page.tx, page.spaceId, oid, maxSeq);
      const list: Candidate[] = [...mine.map((h) => ({ parentOid: h.parentOid, pos: h.pos })), ...theirs.list];
      return mine[0] ? { newest: mine[0].vseq, newestRow: mine[0].key, list } : { newest: theirs.newest, newestRow: theirs.newestRow, list };
    },
    async newest(oids) {
      const chains = await hintsOf(page, oids);
      const out = new Map<string, Hint>();
      for (const o of oids) {
        const h = chains.get(o)?.[0];
        if (h) out.set(o, h);
      }
      return out;
    },
    async actorEntries(actor) {
      // The page's documents are not stored yet: the ones this actor made are theirs.
      let read = page.roles.get(actor);
      if (!read) page.roles.set(actor, (read = await stored.actorEntries(actor)));
      const mine = new Map(read);
      for (const [oid, made] of page.creators) if (made === actor) mine.set(oid, "manager");
      return mine;
    },
    async creatorOf(oid) {
      const made = page.creators.get(oid.toLowerCase());
      return made !== undefined ? made : stored.creatorOf(oid);
    },
    async taken(oid) {
      if (!page.newest.has(oid) && !page.absent.has(oid)) await loadNewest(page, [oid]);
      return page.newest.has(oid);
    },
    async since(oids, after) {
      // Stored rows first, then the page's own records after `after`.
      const out = await stored.since(oids, after);
      const later = (list: readonly Listed[] | undefined) => (list ?? []).filter((d) => d.seq > after);
      for (const oid of oids) {
        const s = out.get(oid)!;
        out.set(oid, {
          existed: s.existed || pageHint(page, lower(oid), after) !== undefined,
          lost: [...s.lost, ...later(page.lost.get(oid))],
          gained: [...s.gained, ...later(page.gained.get(oid))],
          restored: s.restored || (page.restored.get(oid) ?? []).some((seq) => seq > after),
          newest: page.newest.get(lower(oid)) ?? s.newest,
        });
      }
      return out;
    },
    async checkoutsSince(after, upTo) {
      return page.checkouts.some((s) => s > after && (upTo === undefined || s <= upTo)) || stored.checkoutsSince(after, upTo);
    },
    async opSeq(opId) {
      return page.applied.get(opId) ?? vids.opSeq(opId);
    },
    alias: (vid) => vids.alias(vid),
  };
}

function append<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Takes a finished op's records into the page. */
function absorb(page: PageState, ctx: WriteCtx): void {
  // As a single write stores them: only the chunks its final trees reach.
  keepReachable(ctx.chunks, ctx.written.filter((w) => w.record.kind !== "mark").map((w) => w.version.kids));
  for (const w of ctx.written) {
    const r = w.record;
    const v = w.version;
    page.written.push(w);
    if (r.kind !== "mark") page.pending.set(`${v.oid}|${v.seq}`, v);
    const hint: Hint = { oid: v.oid, key: w.row, vseq: r.kind === "mark" ? r.vseq : v.seq, parentOid: v.parentOid, pos: v.pos, removed: r.kind === "mark" && r.removal };
    page.newest.set(v.oid, hint);
    page.absent.delete(v.oid);
    append(page.history, v.oid, { ...hint, at: r.seq });
    if (r.lost) for (const oid of r.lost) append(page.lost, v.oid, { oid, seq: r.seq });
    if (r.gained) for (const oid of r.gained) append(page.gained, v.oid, { oid, seq: r.seq });
    if (w.restored) append(page.restored, v.oid, r.seq);
  }
  for (const [id, node] of ctx.chunks) if (!page.chunks.has(id)) page.chunks.set(id, node);
  page.ops.push(opRowOf(ctx));
  page.applied.set(ctx.opId, ctx.seq);
  for (const oid of ctx.documents) {
    page.documents.push({ oid, seq: ctx.seq });
    page.creators.set(oid.toLowerCase(), ctx.actor);
  }
  // A restore, like a checkout, may link objectives whose newest rows say they are elsewhere.
  if (ctx.op!.kind === "checkout" || ctx.op!.kind === "restore") page.checkouts.push(ctx.seq);
  if (ctx.op!.kind === "share") page.roles.clear();
}

function writer(page: PageState): PageWriter {
  return {
    async write(spaceId, starts, fn, origin) {
      if (spaceId !== page.spaceId) throw new Error(`a page of space ${page.spaceId} cannot write to space ${spaceId}`);
      // Like `logbook_begin_write`: the op takes the next seq even if it changes nothing; an op
      // that throws is rolled back alone, seq included.
      const seq = ++page.seq;
      try {
        const base: ChunkLoader = {
          async getMany(ids) {
            const missing = ids.filter((id) => !page.chunks.has(id));
            const loaded = missing.length ? await page.base.getMany(missing) : [];
            const byId = new Map(missing.map((id, i) => [id, loaded[i]!]));
            return ids.map((id) => page.chunks.get(id) ?? byId.get(id)!);
          },
        };
        const ctx = newCtx(page.core, page.tx, page.spaceId, seq, (loader) => reader(page, loader), base, origin);
        const value = await fn(ctx, await ctx.locate.chains(starts));
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

/** Reads, in two statements, what the page's ops will read first: the chains and their versions. */
async function prefetch(page: PageState, starts: readonly string[]): Promise<void> {
  // The page may start knowing many newest rows (the previous page's): versions of the starts' chains only.
  const chains = await hintsOf(page, starts);
  const keys = [...new Map([...chains.values()].flat().map((h) => [h.oid, [h.oid, h.vseq] as const])).values()];
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
 * Ops of a page that were not in the log yet (a catch-up in clock order): inserted whole, applied
 * or with their outcome, instead of stored first and updated after.
 */
function freshOps(page: PageState, fresh: ReadonlyMap<string, ReplicaOp>): Write[] {
  const applied: OpRow[] = page.ops.map((o) => {
    const r = fresh.get(o.opId)!;
    return { ...o, hlc: r.hlc, kind: r.kind, oid: r.oid, at: r.at, actor: r.actor, device: r.device, data: r.data, serverSeq: r.serverSeq ?? null };
  });
  const skipped = page.outcomes.map((o) => ({ o, r: fresh.get(o.opId)! }));
  return [
    ...slices(applied).map((part): Write => (p) => upsertOps(p, "$1", part, page.core, false)),
    ...slices(skipped).map((part): Write => (p) =>
      `insert into op (space_id, op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, detail, server_seq)
         select $1, r->>0, r->>1, r->>2, r->>3, (r->>4)::int8, r->>5, r->>6, decode(r->>7, 'base64'), (r->>8)::int8, r->>9, r->>10, (r->>11)::int8
           from jsonb_array_elements(${p(JSON.stringify(part.map(({ o, r }) => [r.opId, r.hlc, r.kind, r.oid, r.at, r.actor, r.device, encodeOpData(r.data).toString("base64"), o.seq, o.outcome, o.detail, r.serverSeq ?? null])))}::jsonb) r`),
  ];
}

/** Writes the page: its rows, chunks, ops, outcomes and documents, in as few statements as fit. */
async function flush(page: PageState, { inserts: rows, appends }: SegmentWrites, fresh: ReadonlyMap<string, ReplicaOp> | undefined, cursor: number | undefined): Promise<void> {
  const pulled = cursor ?? (fresh ? [...fresh.values()].reduce((m, o) => Math.max(m, o.serverSeq ?? 0), 0) : 0);
  // Where the backend copies rows in binary (PGlite), rows and fresh ops go that way.
  const copy = page.tx.copyRows !== undefined;
  if (copy) {
    await Promise.all(copyVersionRows(page.tx, page.spaceId, rows));
    if (fresh) {
      const applied = page.ops.map((o) => {
        const r = fresh.get(o.opId)!;
        return opCopyRow(page.spaceId, { ...o, hlc: r.hlc, kind: r.kind, oid: r.oid, at: r.at, actor: r.actor, device: r.device, data: r.data, serverSeq: r.serverSeq ?? null }, page.core, "applied", null);
      });
      const skipped = page.outcomes.map((o) => {
        const r = fresh.get(o.opId)!;
        const row: OpRow = { opId: r.opId, hlc: r.hlc, kind: r.kind, oid: r.oid, at: r.at, actor: r.actor, device: r.device, data: r.data, seq: o.seq, vidBefore: null, vidAfter: null, touched: [], serverSeq: r.serverSeq ?? null };
        return opCopyRow(page.spaceId, row, page.core, o.outcome, o.detail);
      });
      await copyOpRows(page.tx, [...applied, ...skipped]);
    }
  }
  const writes: Write[] = [
    ...(copy ? [] : slices(rows).map((part): Write => (p) => insertRows(p, "$1", part))),
    ...slices([...page.chunks]).map((part): Write => (p) => insertChunks(p, "$1", part)),
    ...(fresh
      ? copy
        ? []
        : freshOps(page, fresh)
      : [
          ...slices(page.ops).map((part): Write => (p) => upsertOps(p, "$1", part, page.core, true)),
          ...slices(page.outcomes).map((part): Write => (p) =>
            `update op l set seq = t.seq, outcome = t.outcome, detail = t.detail
               from unnest(${p(part.map((o) => o.opId))}::text[], ${p(part.map((o) => o.seq))}::int8[], ${p(part.map((o) => o.outcome))}::text[], ${p(part.map((o) => o.detail))}::text[]) as t(op_id, seq, outcome, detail)
              where l.space_id = $1 and l.op_id = t.op_id`),
        ]),
    ...(page.documents.length > 0 ? [(p: (v: unknown) => string) => insertDocuments(p, "$1", page.documents)] : []),
    // One update of the space row: two in one statement of CTEs would keep only one of them.
    (p) => `update space set seq = greatest(seq, ${p(page.seq)})${pulled > 0 ? `, pulled = greatest(pulled, ${p(pulled)})` : ""} where space_id = $1`,
  ];
  // Appends are a SELECT of logbook_append: a statement of their own, not a CTE nobody reads.
  for (const part of slices(appends)) {
    const values: unknown[] = [page.spaceId];
    await page.tx.query(appendRows((v) => `$${values.push(v)}`, "$1", part), values);
  }
  const small = [copy ? 0 : rows.length, page.chunks.size, page.ops.length, page.outcomes.length].every((n) => n <= ROWS);
  await run(page.tx, page.spaceId, writes, small);
}

/**
 * Runs `body` over one page of ops in one transaction: locks the space, prefetches what ops
 * starting at `starts` will read, lets `body` apply the ops through `page.writer`, then writes every
 * row in bulk and commits. If `body` throws, nothing of the page is written. `fresh`: the page's ops
 * are not in the log yet (they are inserted); `cursor`: the pull cursor the page may move the space
 * to (default: its ops' highest server seq).
 */
export async function runPage<T>(
  core: Core,
  spaceId: string,
  starts: readonly string[],
  body: (page: Page) => Promise<T>,
  fresh?: ReadonlyMap<string, ReplicaOp>,
  cursor?: number,
): Promise<T> {
  let done: PageState | undefined;
  // Replayed ops change what this engine knew of the space's newest rows (engine/known.ts): the
  // page takes that knowledge, and starts from it if nothing was written since (the counter says).
  const known = take(core.known, spaceId);
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
      // Taken: the page owns the map now.
      newest: known && known.seq === locked.seq ? known.hints : new Map(),
      absent: new Set(),
      pending: new Map(),
      written: [],
      chunks: new Map(),
      ops: [],
      applied: new Map(),
      documents: [],
      creators: new Map(),
      roles: new Map(),
      history: new Map(),
      past: new Map(),
      lost: new Map(),
      gained: new Map(),
      restored: new Map(),
      checkouts: [],
      outcomes: [],
    };
    await prefetch(page, starts);
    const result = await body({
      tx,
      writer: writer(page),
      applied: (opId) => page.applied.has(opId),
      outcome(opId, outcome, detail) {
        page.outcomes.push({ opId, seq: ++page.seq, outcome, detail });
      },
    });
    const rows = rowsOf(page.written, core);
    await flush(page, rows, fresh, cursor);
    done = page;
    return result;
  });
  if (done) {
    settleRows(core, spaceId, done.written, done.chunks);
    // The page's newest rows are exact after it, unless an import wrote rows of its own as it
    // streamed (engine/import-replay.ts): those the page does not see.
    if (done.ops.some((o) => o.kind === "import")) forget(core.known, spaceId);
    else learnPage(core.known, spaceId, done.seq, done.newest);
  }
  return value;
}

export type { Origin, Placement };
