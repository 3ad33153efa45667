import type { CopyColumn, Queryable } from "../storage/contract.js";
import { groupHints, loadExactHints, loadHints, toHint, walkUp, type Hint, type HintRecord, type Placement } from "./chains.js";
import { chunkId, keepReachable, type ChunkLoader, type ChunkSink, type KidsNode } from "./children-tree.js";
import type { Core } from "./core.js";
import { EngineError, notFound } from "./errors.js";
import { chunkBytes } from "./format/chunk.js";
import { fromB64, unpackEach } from "./format/codec.js";
import { encodeOpData, encodeOpVids, encodeTouched } from "./format/op-row.js";
import { cachedChunk, cachedVersion, chunkLoader, loadVersions, remember } from "./format/row-cache.js";
import { forget, knownChains, learn, learnRoles } from "./known.js";
import { LOST, REMOVED, RESTORED, segmentWrites, type Appended, type SegmentWrites, type StoredRow, type Written } from "./format/rows.js";
import { versionRecord } from "./format/version-record.js";
import { recordLists, type State } from "./format/record.js";
import { vidMaker } from "./ids.js";
import { actorEntries, creatorOf, type Role } from "./roles.js";
import { deviceNo } from "./format/devices.js";
import { candidatesOf, locator, type Candidates, type LocateEnv, type Locator } from "./locate.js";
import type { OpKind, Props, VersionRow } from "./types.js";
import { storedVidLookup, type VidLookup } from "./find-version.js";

/**
 * Who made an op elsewhere: replaying another device's op keeps its id, time, actor and device,
 * so the versions it makes get the same vids as where it was made.
 */
export interface Origin {
  readonly opId: string;
  readonly at: number;
  readonly actor: string | null;
  readonly device: string;
  /** The op's hybrid logical clock (engine/hlc.ts), kept as made. */
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
  write<T>(spaceId: string, starts: readonly string[], fn: (ctx: WriteCtx, chains: Map<string, Placement[] | undefined>) => Promise<T>, origin: Origin): Promise<T>;
}

/** What a write reads: storage inside its transaction, or a page's unwritten rows first. */
export interface WriteReader extends LocateEnv, VidLookup {
  /** Whether an objective has any stored record (exists, active or not). */
  taken(oid: string): Promise<boolean>;
  /** What happened to each of `oids` after `after`, as a checkout to it asks (see `Since`). */
  since(oids: readonly string[], after: number): Promise<Map<string, Since>>;
  checkoutsSince(after: number, upTo?: number): Promise<boolean>;
  /** Who created a document (engine/roles.ts): the actor of the op that made it, null for none. */
  creatorOf(documentOid: string): Promise<string | null>;
  /** A user's own entries in the space and the documents they made (engine/roles.ts `actorEntries`). */
  actorEntries(actor: string): Promise<Map<string, Role | null>>;
  /** Each objective's newest row (one level: no walk up its chain); absent when it has none. */
  newest(oids: readonly string[]): Promise<Map<string, Hint>>;
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
  /**
   * The op's hybrid logical clock: its place in the order every device applies ops in. Written
   * once more by a local import, which reads the clock last, after its parts (engine/import-parts.ts).
   */
  hlc: string;
  /** Records this write makes, in order (engine/format/). */
  readonly written: Written[];
  readonly chunks: Map<string, KidsNode>;
  /** Document roots this write creates. */
  readonly documents: string[];
  /** Chunks of this transaction first, then cache and storage. */
  readonly loader: ChunkLoader;
  readonly sink: ChunkSink;
  readonly reader: WriteReader;
  /** Finds objectives in the active tree as this write sees it. */
  readonly locate: Locator;
  /** Makes the vids of this op's versions (engine/ids.ts). */
  readonly vids: (oid: string, previousVid: string | null) => { vid: string; h: Buffer };
  /** The op's device number and counter, as version records name the op. */
  readonly deviceNo: number;
  readonly counter: number;
  op?: { kind: OpKind; oid: string; vidBefore: string | null; vidAfter: string | null; data: Props };
}

/** Versions for a write: the page's unwritten ones, cache, then storage (inside the transaction). */
export function readVersions(ctx: WriteCtx, keys: readonly (readonly [string, number])[]): Promise<Map<string, VersionRow>> {
  return ctx.reader.versions(keys);
}

/** Chains of objectives up to their document roots as this write sees them (undefined: not active). */
export function readChains(ctx: WriteCtx, oids: readonly string[]): Promise<Map<string, Placement[] | undefined>> {
  return ctx.locate.chains(oids);
}

/** Whether an objective already exists (has any record), as this write sees it. */
export function isTaken(ctx: WriteCtx, oid: string): Promise<boolean> {
  return ctx.reader.taken(oid);
}

/**
 * Records a new version of an objective: based on `base` (null: it is created) with `state`, at
 * the place `at` says it has (its `latest` decides whether the record may be a delta).
 */
export function writeVersion(ctx: WriteCtx, oid: string, base: VersionRow | null, state: State, at: Newest | undefined, lost?: readonly string[], gained?: readonly string[]): VersionRow {
  const { vid, h } = ctx.vids(oid, base?.vid ?? null);
  const stored = { h, dev: ctx.deviceNo, counter: ctx.counter };
  const latest = at?.latest;
  const { record, chain, bytes } = versionRecord(ctx.core.cache.devices, {
    oid, seq: ctx.seq, vid: stored, at: ctx.now, base, state, latest, latestRow: at?.latestRow, ...(lost && lost.length > 0 ? { lost } : {}), ...(gained && gained.length > 0 ? { gained } : {}),
  });
  const version: VersionRow = { oid, vid, seq: ctx.seq, createdAt: ctx.now, ...state, chain };
  ctx.written.push({
    record,
    version,
    bytes,
    row: chain.imageRow,
    moved: base !== null && (base.parentOid !== state.parentOid || base.pos !== state.pos),
    restored: base !== null && latest !== base.seq,
  });
  return version;
}

/** What a write knows of an objective's newest stored row (engine/chains.ts `Placement`). */
export interface Newest {
  /** The version current after its newest record. */
  readonly latest: number | undefined;
  /** The key of its newest row. */
  readonly latestRow?: number | undefined;
}

/**
 * Records that this op touched an objective without a new version: its removal (history lists it),
 * or a note that objectives left its subtree (`lost`, read by later checkouts). A mark goes to the
 * objective's newest row (`latestRow`).
 */
export function writeMark(ctx: WriteCtx, version: VersionRow, removal: boolean, latestRow: number | undefined, lost?: readonly string[], restored = false): void {
  if (latestRow === undefined) throw new Error(`mark of ${version.oid} at seq ${ctx.seq}: its newest row is unknown`);
  const record = { kind: "mark" as const, seq: ctx.seq, vseq: version.seq, removal, ...(lost && lost.length > 0 ? { lost } : {}) };
  ctx.written.push({ record, version, bytes: undefined, row: latestRow, moved: false, restored });
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
 * Candidate places of many objectives from storage, in one statement: per objective its newest
 * row (as of maxSeq: the segment holding it), every row that moved it, and its first.
 */
export async function storedCandidatesMany(q: Queryable, spaceId: string, oids: readonly string[], maxSeq: number | undefined): Promise<Map<string, Candidates>> {
  type Row = { oid: string; seq: number; vseq: number; parent_oid: string | null; pos: string | null; flags: number; body: Uint8Array };
  const rows = await q.query<Row>(
    `select k.oid, v.* from unnest($2::uuid[]) as k(oid)
       cross join lateral (
         (select seq, vseq, parent_oid, pos, flags, body from version where space_id = $1 and oid = k.oid and ($3::int8 is null or seq <= $3) order by seq desc limit 1)
         union all
         (select seq, vseq, parent_oid, pos, flags, body from version where space_id = $1 and oid = k.oid and flags & 1 <> 0 order by seq desc)
         union all
         (select seq, vseq, parent_oid, pos, flags, body from version where space_id = $1 and oid = k.oid order by seq limit 1)) v`,
    [spaceId, [...new Set(oids)], maxSeq ?? null],
  );
  const byOid = new Map<string, Row[]>(oids.map((o) => [o.toLowerCase(), []]));
  for (const r of rows) byOid.get(r.oid)?.push(r);
  return new Map(oids.map((oid) => [oid, candidatesOf(byOid.get(oid.toLowerCase())!, maxSeq)]));
}

/** Candidate places of an objective from storage (engine/locate.ts), with its newest version. */
export async function storedCandidates(q: Queryable, spaceId: string, oid: string, maxSeq: number | undefined): Promise<Candidates> {
  return (await storedCandidatesMany(q, spaceId, [oid], maxSeq)).get(oid)!;
}

/** An objective listed by a record (that left or entered a subtree) and the record's seq. */
export interface Listed {
  readonly oid: string;
  readonly seq: number;
}

/**
 * What a checkout to `after` asks about an objective (engine/checkout.ts), in one answer: whether
 * it existed then, which objectives left its subtree since (its records' lost lists) and which
 * moved into it (gained lists), and whether a record since builds on an older version than its
 * newest then (restored). The row holding `after` counts: a record appended to it later may be
 * any of those.
 */
export interface Since {
  readonly existed: boolean;
  readonly lost: readonly Listed[];
  readonly gained: readonly Listed[];
  readonly restored: boolean;
  /**
   * Its newest row, present whenever it `existed` (absent when it has none). When its record removes the objective (`removed`), it
   * is not in the active tree now (whatever brings an objective back writes a record of it
   * first), so a checkout need not look for it there; a mark the checkout leaves on it goes there.
   */
  readonly newest: Hint | undefined;
}

/**
 * `Since` for many objectives in one statement: per objective the row holding `after` (it exists
 * only if the objective had a record by then) with its newest row, and every later row flagged
 * LOST or RESTORED, with the bodies only of those flagged LOST (the lists are in their records).
 */
export async function storedSince(q: Queryable, spaceId: string, oids: readonly string[], after: number): Promise<Map<string, Since>> {
  const out = new Map<string, { existed: boolean; lost: Listed[]; gained: Listed[]; restored: boolean; newest: Hint | undefined }>(
    oids.map((o) => [o, { existed: false, lost: [], gained: [], restored: false, newest: undefined }]),
  );
  if (oids.length === 0) return out;
  const rows = await q.query<{ oid: string; held: boolean; n_key: number | null; n_vseq: number; n_parent: string | null; n_pos: string | null; n_flags: number; flags: number; body: Uint8Array | null }>(
    // The newest row comes with the held one (one per objective that existed then; only those
    // need it), not with every later row: each column of each row costs in the reply.
    `select k.oid, v.held, v.n_key, v.n_vseq, v.n_parent, v.n_pos, v.n_flags, v.flags, case when v.flags & ${LOST} <> 0 then v.body end as body
       from unnest($2::uuid[]) as k(oid)
       cross join lateral (
         (select true as held, n.seq as n_key, n.vseq as n_vseq, n.parent_oid as n_parent, n.pos as n_pos, n.flags as n_flags, t.flags, t.body
            from version t, lateral (select u.seq, u.vseq, u.parent_oid, u.pos, u.flags from version u where u.space_id = $1 and u.oid = k.oid order by u.seq desc limit 1) n
           where t.space_id = $1 and t.oid = k.oid and t.seq <= $3 order by t.seq desc limit 1)
         union all
         (select false, null, null, null, null, null, t.flags, t.body from version t
           where t.space_id = $1 and t.oid = k.oid and t.flags & ${LOST | RESTORED} <> 0 and t.seq > $3 order by t.seq)) v`,
    [spaceId, [...oids], after],
  );
  for (const row of rows) {
    const s = out.get(row.oid);
    if (!s) continue;
    if (row.held) s.existed = true;
    if (row.flags & RESTORED) s.restored = true;
    if (row.n_key !== null) s.newest = { oid: row.oid, key: row.n_key, vseq: row.n_vseq, parentOid: row.n_parent, pos: row.n_pos, removed: (row.n_flags & REMOVED) !== 0 };
    if (!row.body) continue;
    unpackEach(row.body, (value) =>
      recordLists(value, after, (seq, lost, gained) => {
        for (const o of lost) s.lost.push({ oid: o, seq });
        for (const o of gained) s.gained.push({ oid: o, seq });
      }),
    );
  }
  return out;
}

/** Each objective's newest stored row as a hint, in one statement (no walk up). */
export async function loadNewestRows(q: Queryable, spaceId: string, oids: readonly string[]): Promise<Map<string, Hint>> {
  const rows = await q.query<HintRecord & Record<string, unknown>>(
    `select v.* from unnest($2::uuid[]) as s(oid)
       cross join lateral (select v.oid, v.seq as key, v.vseq, v.parent_oid, v.pos, v.flags from version v where v.space_id = $1 and v.oid = s.oid order by v.seq desc limit 1) v`,
    [spaceId, [...new Set(oids)]],
  );
  const byOid = new Map(rows.map((r) => [r.oid, toHint(r)]));
  const out = new Map<string, Hint>();
  for (const o of oids) {
    const h = byOid.get(o.toLowerCase());
    if (h) out.set(o, h);
  }
  return out;
}

/** Whether an objective has any stored record. */
export async function storedTaken(q: Queryable, spaceId: string, oid: string): Promise<boolean> {
  return (await q.query("select 1 from version where space_id = $1 and oid = $2 limit 1", [spaceId, oid])).length > 0;
}

/** What locating reads from storage (`q`: a transaction, or the storage itself), through the cache. */
export function storedEnv(core: Core, q: Queryable, spaceId: string, loader: ChunkLoader): LocateEnv & { checkoutsSince(after: number, upTo?: number): Promise<boolean> } {
  /** A seq after which no checkout or restore was found (for the life of this env: one read or write). */
  let quietAfter: number | undefined;
  return {
    loader,
    versions: (keys) => loadVersions(core.cache, q, spaceId, keys),
    hints: (oids, maxSeq) => loadHints(q, spaceId, oids, maxSeq),
    candidates: (oid, maxSeq) => storedCandidates(q, spaceId, oid, maxSeq),
    candidatesMany: (oids, maxSeq) => storedCandidatesMany(q, spaceId, oids, maxSeq),
    exactHints: (oids, maxSeq, stop) => loadExactHints(q, spaceId, oids, maxSeq, stop),
    async checkoutsSince(after, upTo) {
      // None after some seq means none after any later one: a checkout asks again for each batch.
      if (upTo === undefined && quietAfter !== undefined && after >= quietAfter) return false;
      const sql = "select 1 from op where space_id = $1 and kind in ('checkout', 'restore') and seq is not null and seq > $2 and ($3::int8 is null or seq <= $3) limit 1";
      const any = (await q.query(sql, [spaceId, after, upTo ?? null])).length > 0;
      if (!any && upTo === undefined && (quietAfter === undefined || after < quietAfter)) quietAfter = after;
      return any;
    },
  };
}

/** The reader of a write on its own: storage inside the transaction, through the cache. */
export function storageReader(core: Core, tx: Queryable, spaceId: string, loader: ChunkLoader, seeded: Map<string, Hint[]>, roles = new Map<string, Map<string, Role | null>>()): WriteReader {
  /**
   * Chains as of `maxSeq`: an objective's newest row is also its newest as of `maxSeq` when its key
   * is not after it, so the chains this write read already answer for those; only the walks that
   * meet a later row go to storage (a checkout reads the same objectives now and in its target).
   */
  async function pastHints(oids: readonly string[], maxSeq: number): Promise<Map<string, Hint[]>> {
    const known = new Map<string, Hint>();
    for (const chain of seeded.values()) for (const h of chain) if (h.key <= maxSeq) known.set(h.oid, h);
    const walks = new Map(oids.map((o) => [o, walkUp(o.toLowerCase(), (x) => known.get(x))] as const));
    const missing = [...new Set([...walks.values()].flatMap((w) => (w.missing === null ? [] : [w.missing])))];
    if (missing.length > 0) for (const [o, chain] of await loadHints(tx, spaceId, missing, maxSeq)) for (const h of chain) known.set(h.oid, h);
    const out = new Map<string, Hint[]>();
    for (const o of oids) {
      const w = walks.get(o)!;
      const chain = w.missing === null ? w.chain : [...w.chain, ...walkUp(w.missing, (x) => known.get(x)).chain];
      if (chain.length > 0) out.set(o, chain);
    }
    return out;
  }
  return {
    ...storedVidLookup(tx, spaceId),
    ...storedEnv(core, tx, spaceId, loader),
    async hints(oids, maxSeq) {
      if (maxSeq !== undefined) return pastHints(oids, maxSeq);
      // Storage does not change during a write (its rows go out at the end): every chain read is
      // kept, and so is the chain of each objective on it (its suffix).
      const missing = oids.filter((o) => !seeded.has(o));
      if (missing.length > 0) {
        const loaded = await loadHints(tx, spaceId, missing, undefined);
        for (const o of missing) {
          const chain = loaded.get(o) ?? [];
          seeded.set(o, chain);
          chain.forEach((h, i) => {
            if (!seeded.has(h.oid)) seeded.set(h.oid, chain.slice(i));
          });
        }
      }
      return new Map(oids.map((o) => [o, seeded.get(o)!]));
    },
    async newest(oids) {
      const missing = oids.filter((o) => !seeded.has(o));
      const loaded = missing.length > 0 ? await loadNewestRows(tx, spaceId, missing) : new Map<string, Hint>();
      const out = new Map<string, Hint>();
      for (const o of oids) {
        const h = seeded.has(o) ? seeded.get(o)![0] : loaded.get(o);
        if (h) out.set(o, h);
      }
      return out;
    },
    creatorOf: (oid) => creatorOf(tx, spaceId, oid),
    async actorEntries(actor) {
      // Read once per write (and kept by the engine afterwards: engine/known.ts).
      let mine = roles.get(actor);
      if (!mine) roles.set(actor, (mine = await actorEntries(tx, spaceId, actor)));
      return mine;
    },
    taken: (oid) => storedTaken(tx, spaceId, oid),
    since: (oids, after) => storedSince(tx, spaceId, oids, after),
  };
}

/** A write context over a reader (its own transaction, or one op of a page). */
export function newCtx(core: Core, tx: Queryable, spaceId: string, seq: number, reader: (loader: ChunkLoader) => WriteReader, base: ChunkLoader, origin: Origin | undefined): WriteCtx {
  const chunks = new Map<string, KidsNode>();
  const loader: ChunkLoader = {
    async getMany(ids) {
      const missing = ids.filter((id) => !chunks.has(id));
      const loaded = missing.length ? await base.getMany(missing) : [];
      const byId = new Map(missing.map((id, i) => [id, loaded[i]!]));
      return ids.map((id) => chunks.get(id) ?? byId.get(id)!);
    },
  };
  const r = reader(loader);
  const opId = origin?.opId ?? `${core.deviceId}.${seq}`;
  const device = origin?.device ?? core.deviceId;
  return {
    core,
    tx,
    spaceId,
    seq,
    opId,
    vids: vidMaker(opId),
    deviceNo: deviceNo(core.cache.devices, device),
    counter: Number(opId.slice(opId.lastIndexOf(".") + 1)),
    now: origin?.at ?? core.now(),
    actor: origin ? origin.actor : (core.actor ?? null),
    device,
    hlc: origin?.hlc ?? core.clock.now(),
    written: [],
    chunks,
    documents: [],
    loader,
    sink: {
      put(node) {
        const id = chunkId(node);
        chunks.set(id, node);
        return id;
      },
    },
    reader: r,
    locate: locator(r, { kind: "active" }),
  };
}

/**
 * Runs one change as one transaction. The first statement bumps the space's sequence, which
 * both numbers the op and locks the space: writers to one space serialize (no lost update), and
 * every read after it sees the latest committed tree. Rows are cached only after commit.
 * `once`: `fn` must run at most once (an import reads its events as it goes).
 */
export async function runWrite<T>(
  core: Core,
  spaceId: string,
  starts: readonly string[],
  fn: (ctx: WriteCtx, chains: Map<string, Placement[] | undefined>) => Promise<T>,
  origin?: Origin,
  options: { readonly once?: boolean } = {},
): Promise<T> {
  if (origin?.page) return origin.page.write(spaceId, starts, fn, origin);
  // A write built from memory may start over the long way: not one that consumes its input once.
  // An actor's role is checked from memory too, when the engine knows their entries (engine/known.ts).
  if (!origin && !options.once) {
    const fast = await optimistic(core, spaceId, starts, fn);
    if (fast) return fast.value;
  }
  let written: { ctx: WriteCtx; read: Hint[]; roles: Map<string, Map<string, Role | null>> } | undefined;
  const result = await core.storage.transaction(async (tx) => {
    // One round trip: lock the space, number the op, read the chains the op starts from.
    const rows = await tx.query<{ seq: number } & HintRecord & Record<string, unknown>>(
      "select * from logbook_begin_write($1, $2::uuid[])",
      [spaceId, [...new Set(starts)]],
    );
    if (!rows[0]) throw notFound(`space ${spaceId} does not exist`);
    const seeded = groupHints(rows.slice(1), [...new Set(starts)]);
    for (const s of starts) if (!seeded.has(s)) seeded.set(s, []);
    const roles = new Map<string, Map<string, Role | null>>();
    const ctx = newCtx(core, tx, spaceId, rows[0].seq, (loader) => storageReader(core, tx, spaceId, loader, seeded, roles), chunkLoader(core.cache, tx, spaceId), origin);
    const chains = await ctx.locate.chains(starts);
    const value = await fn(ctx, chains);
    checkReplay(ctx, origin);
    if (ctx.op) await flush(ctx, origin !== undefined);
    written = { ctx, read: [...seeded.values()].flat(), roles };
    return value;
  });
  if (written) {
    const { ctx, read, roles } = written;
    if (ctx.op) settleRows(core, spaceId, ctx.written, ctx.chunks);
    if (ctx.op?.kind === "import" || spilledOids(ctx).length > 0) forget(core.known, spaceId);
    else {
      learn(core.known, spaceId, ctx.seq, read, ctx.op ? madeHints(ctx.written) : []);
      learnRoles(core.known, spaceId, ctx.seq, ctx.op?.kind ?? "", ctx.actor, ctx.documents, ctx.actor === null ? undefined : roles.get(ctx.actor));
    }
  }
  return result;
}

/** Thrown inside a write built from memory when it would have to read storage: it runs the long way. */
class NeedsStorage extends Error {}

const refuse = (): never => {
  throw new NeedsStorage("not known in memory");
};

/** A reader that answers from memory only (known newest rows, cached versions and chunks). */
function memoryReader(core: Core, spaceId: string, loader: ChunkLoader): WriteReader {
  return {
    loader,
    async versions(keys) {
      const out = new Map<string, VersionRow>();
      for (const [oid, seq] of keys) out.set(`${oid}|${seq}`, cachedVersion(core.cache, spaceId, oid, seq) ?? refuse());
      return out;
    },
    async hints(oids, maxSeq) {
      if (maxSeq !== undefined) return refuse();
      return knownChains(core.known, spaceId, oids) ?? refuse();
    },
    candidates: refuse,
    taken: refuse,
    since: refuse,
    checkoutsSince: refuse,
    newest: refuse,
    creatorOf: refuse,
    async actorEntries(actor) {
      return core.known.get(spaceId)?.roles?.get(actor) ?? refuse();
    },
    opSeq: refuse,
    alias: refuse,
  };
}

/** The newest-row hints of the rows a write made. */
function madeHints(written: readonly Written[]): Hint[] {
  const last = new Map<string, Written>();
  for (const w of written) last.set(w.version.oid, w);
  return [...last.values()].map((w) => {
    const r = w.record;
    return { oid: w.version.oid, key: w.row, vseq: r.kind === "mark" ? r.vseq : w.version.seq, parentOid: w.version.parentOid, pos: w.version.pos, removed: r.kind === "mark" && r.removal };
  });
}

/**
 * A local write built entirely from what this engine knows (engine/known.ts) and sent as ONE
 * statement: the space's counter moves only if it is still the one this engine saw, and every
 * insert is guarded by that move. Undefined when something was not known in memory, or another
 * engine wrote first: then the write runs the long way.
 */
async function optimistic<T>(
  core: Core,
  spaceId: string,
  starts: readonly string[],
  fn: (ctx: WriteCtx, chains: Map<string, Placement[] | undefined>) => Promise<T>,
): Promise<{ value: T } | undefined> {
  const k = core.known.get(spaceId);
  if (!k || !knownChains(core.known, spaceId, starts)) return undefined;
  const seq = k.seq + 1;
  const cachedOnly: ChunkLoader = {
    async getMany(ids) {
      return ids.map((id) => cachedChunk(core.cache, spaceId, id) ?? refuse());
    },
  };
  const refusing: Queryable = { query: async () => refuse() };
  const ctx = newCtx(core, refusing, spaceId, seq, (loader) => memoryReader(core, spaceId, loader), cachedOnly, undefined);
  let value: T;
  try {
    value = await fn(ctx, await ctx.locate.chains(starts));
  } catch (error) {
    if (error instanceof NeedsStorage) return undefined;
    // Roles known in memory may be stale (another engine's grant): only storage refuses for good.
    if (error instanceof EngineError && error.code === "FORBIDDEN") return undefined;
    throw error;
  }
  if (!ctx.op) return { value };
  keepReachable(ctx.chunks, ctx.written.filter((w) => w.record.kind !== "mark").map((w) => w.version.kids));
  const rows = rowsOf(ctx.written, core);
  if (rows.inserts.length + rows.appends.length > BATCH || ctx.chunks.size > BATCH) return undefined;
  const { values, p } = params();
  const space = p(spaceId);
  const guard = "exists (select 1 from bump)";
  const parts = [`bump as (update space set seq = seq + 1 where space_id = ${space} and seq = ${p(k.seq)} returning seq)`];
  if (rows.inserts.length > 0) parts.push(`w0 as (${insertRows(p, space, rows.inserts, guard)})`);
  if (rows.appends.length > 0) parts.push(`w4 as (${appendRows(p, space, rows.appends, guard)})`);
  if (ctx.chunks.size > 0) parts.push(`w1 as (${insertChunks(p, space, [...ctx.chunks], guard)})`);
  parts.push(`w2 as (${upsertOps(p, space, [opRowOf(ctx)], core, false, guard)})`);
  if (ctx.documents.length > 0) parts.push(`w3 as (${insertDocuments(p, space, ctx.documents.map((oid) => ({ oid, seq })), guard)})`);
  const done = await core.storage.query<{ seq: number }>(`with ${parts.join(",\n")} ${appended(rows.appends.length > 0 ? "w4" : undefined, "seq from bump")}`, values);
  if (done.length === 0) {
    // Another engine wrote to this space: what this one knows is stale.
    forget(core.known, spaceId);
    return undefined;
  }
  settleRows(core, spaceId, ctx.written, ctx.chunks);
  learn(core.known, spaceId, seq, [], madeHints(ctx.written));
  learnRoles(core.known, spaceId, seq, ctx.op.kind, ctx.actor, ctx.documents, undefined);
  return { value };
}

/** Groups a transaction's records into new rows and records appended to stored ones. */
export function rowsOf(written: readonly Written[], core: Core): SegmentWrites {
  return segmentWrites(written, core.cache.devices);
}

/**
 * After commit: the newest version of each objective goes into the cache (a page's intermediate
 * versions are rarely read again, and caching them all would push out what is).
 */
export function settleRows(core: Core, spaceId: string, written: readonly Written[], chunks: ReadonlyMap<string, KidsNode>): void {
  const newest = new Map<string, VersionRow>();
  for (const w of written) {
    if (w.record.kind === "mark") continue;
    newest.set(w.version.oid, w.version);
  }
  remember(core.cache, spaceId, newest.values(), chunks);
}

/** Rows per bulk statement: keeps parameters small for big imports. */
const BATCH = 5000;

/** Collects `$n` parameters for one statement. */
export function params() {
  const values: unknown[] = [];
  return { values, p: (value: unknown) => `$${values.push(value)}` };
}

const list = (p: (v: unknown) => string, rows: readonly (readonly unknown[])[]) => `jsonb_array_elements(${p(JSON.stringify(rows))}::jsonb) r`;

/** Inserts stored version rows (bodies travel as base64 inside one jsonb parameter). */
export function insertRows(p: (v: unknown) => string, space: string, rows: readonly StoredRow[], guard = "true"): string {
  return `insert into version (space_id, oid, seq, vseq, parent_oid, pos, flags, body)
     select ${space}, (r->>0)::uuid, (r->>1)::int8, (r->>2)::int8, (r->>3)::uuid, r->>4, (r->>5)::int2, decode(r->>6, 'base64')
       from ${list(p, rows.map((r) => [r.oid, r.seq, r.vseq, r.parentOid, r.pos, r.flags, r.body.toString("base64")]))} where ${guard}`;
}

/**
 * Appends records to stored rows (segments): the body grows, the columns take the place and
 * version after the new last record, flags gain the new records' and REMOVED follows the last.
 * A SELECT of `logbook_append` (one UPDATE joined with the rows, each named once): as a CTE it
 * runs only where the statement reads it (`appended`).
 */
export function appendRows(p: (v: unknown) => string, space: string, rows: readonly Appended[], guard = "true"): string {
  const col = (f: (r: Appended) => unknown) => p(rows.map(f));
  return `select logbook_append(${space}, ${col((r) => r.oid)}::uuid[], ${col((r) => r.seq)}::int8[], ${col((r) => r.vseq)}::int8[], ${col((r) => r.parentOid)}::uuid[],
       ${col((r) => r.pos)}::text[], ${col((r) => r.flags)}::int2[], ${col((r) => r.removed)}::bool[], ${col((r) => r.body.toString("base64"))}::text[]) as n where ${guard}`;
}

/** The final SELECT of a statement of CTEs, reading the append CTE `name` so that it runs. */
const appended = (name: string | undefined, columns: string) => (name ? `select ${columns}, (select n from ${name}) as appended` : `select ${columns}`);

const VERSION_COLUMNS: readonly CopyColumn[] = [
  { name: "space_id", type: "uuid" },
  { name: "oid", type: "uuid" },
  { name: "seq", type: "int8" },
  { name: "vseq", type: "int8" },
  { name: "parent_oid", type: "uuid" },
  { name: "pos", type: "text" },
  { name: "flags", type: "int2" },
  { name: "body", type: "bytea" },
];

/**
 * Writes stored version rows in bulk: binary COPY where the backend has it (PGlite), else one
 * INSERT per 5,000 rows. Returns the statements' promises (sent in order, one transaction).
 */
export function copyVersionRows(tx: Queryable, spaceId: string, rows: readonly StoredRow[]): Promise<unknown>[] {
  if (rows.length === 0) return [];
  if (tx.copyRows) return [tx.copyRows("version", VERSION_COLUMNS, rows.map((r) => [spaceId, r.oid, r.seq, r.vseq, r.parentOid, r.pos, r.flags, r.body]))];
  const sent: Promise<unknown>[] = [];
  for (let from = 0; from < rows.length; from += BATCH) {
    const { values, p } = params();
    sent.push(tx.query(insertRows(p, p(spaceId), rows.slice(from, from + BATCH)), values));
  }
  return sent;
}

const OP_COLUMNS: readonly CopyColumn[] = ["space_id", "op_id", "hlc", "kind", "oid", "at", "actor", "device", "data", "seq", "outcome", "detail", "server_seq", "vids", "touched"].map(
  (name): CopyColumn => ({ name, type: name === "space_id" ? "uuid" : ["at", "seq", "server_seq"].includes(name) ? "int8" : ["data", "vids", "touched"].includes(name) ? "bytea" : "text" }),
);

/** The fields of a new op row in `OP_COLUMNS` order. */
export function opCopyRow(spaceId: string, o: OpRow, core: Core, outcome: string, detail: string | null): unknown[] {
  return [
    spaceId, o.opId, o.hlc, o.kind, o.oid, o.at, o.actor, o.device, encodeOpData(o.data), o.seq, outcome, detail, o.serverSeq ?? null,
    outcome === "applied" ? encodeOpVids(o.vidBefore, o.vidAfter, core.cache.devices) : null,
    outcome === "applied" ? encodeTouched(o.touched) : null,
  ];
}

/** Inserts new op rows (not in the log yet): binary COPY where the backend has it. */
export function copyOpRows(tx: Queryable, rows: readonly unknown[][]): Promise<unknown> | undefined {
  return tx.copyRows && rows.length > 0 ? tx.copyRows("op", OP_COLUMNS, rows) : undefined;
}

/** Inserts chunks (content-addressed: a chunk stored already is skipped). */
export function insertChunks(p: (v: unknown) => string, space: string, chunks: readonly (readonly [string, KidsNode])[], guard = "true"): string {
  return `insert into chunk (space_id, chunk_id, node)
     select ${space}, decode(r->>0, 'base64'), decode(r->>1, 'base64') from ${list(p, chunks.map(([id, node]) => [fromB64(id).toString("base64"), chunkBytes(node).toString("base64")]))}
     where ${guard} on conflict do nothing`;
}

/** One op row as a write stores it. */
export interface OpRow {
  readonly opId: string;
  readonly hlc: string;
  readonly kind: string;
  readonly oid: string;
  readonly at: number;
  readonly actor: string | null;
  readonly device: string;
  readonly data: Props;
  readonly seq: number;
  readonly vidBefore: string | null;
  readonly vidAfter: string | null;
  readonly touched: readonly string[];
  /** The sync server's number, for an op pulled from one (stored with it). */
  readonly serverSeq?: number | null;
}

/** The op row of a write context. */
export function opRowOf(ctx: WriteCtx): OpRow {
  const op = ctx.op!;
  return {
    opId: ctx.opId,
    hlc: ctx.hlc,
    kind: op.kind,
    oid: op.oid,
    at: ctx.now,
    actor: ctx.actor,
    device: ctx.device,
    data: op.data,
    seq: ctx.seq,
    vidBefore: op.vidBefore,
    vidAfter: op.vidAfter,
    touched: [...new Set([...spilledOids(ctx), ...ctx.written.map((w) => w.version.oid)])],
  };
}

/**
 * Inserts op rows as applied; `known` ops (replayed from the log, where they wait with no seq) are
 * updated in place instead.
 */
export function upsertOps(p: (v: unknown) => string, space: string, ops: readonly OpRow[], core: Core, known: boolean, guard = "true"): string {
  const rows = ops.map((o) => [
    o.opId,
    o.hlc,
    o.kind,
    o.oid,
    o.at,
    o.actor,
    o.device,
    encodeOpData(o.data).toString("base64"),
    o.seq,
    encodeOpVids(o.vidBefore, o.vidAfter, core.cache.devices).toString("base64"),
    encodeTouched(o.touched).toString("base64"),
    o.serverSeq ?? null,
  ]);
  return `insert into op (space_id, op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, vids, touched, server_seq)
     select ${space}, r->>0, r->>1, r->>2, r->>3, (r->>4)::int8, r->>5, r->>6, decode(r->>7, 'base64'), (r->>8)::int8, 'applied',
            decode(r->>9, 'base64'), decode(r->>10, 'base64'), (r->>11)::int8
       from ${list(p, rows)} where ${guard}` +
    (known
      ? `
     on conflict (space_id, op_id) do update set seq = excluded.seq, outcome = 'applied', detail = null, vids = excluded.vids, touched = excluded.touched`
      : "");
}

/** Inserts document rows. */
export function insertDocuments(p: (v: unknown) => string, space: string, docs: readonly { oid: string; seq: number }[], guard = "true"): string {
  return `insert into document (space_id, oid, seq) select ${space}, (r->>0)::uuid, (r->>1)::int8 from ${list(p, docs.map((d) => [d.oid, d.seq]))} where ${guard}`;
}

/**
 * The rows of one op as data-modifying CTEs of ONE statement: a single round trip for the whole
 * write (an edit at depth 10 would otherwise pay several).
 */
function writeStatement(ctx: WriteCtx, rows: readonly StoredRow[], appends: readonly Appended[], chunks: readonly (readonly [string, KidsNode])[], withOp: boolean, replayed: boolean): { sql: string; values: unknown[] } {
  const { values, p } = params();
  const space = p(ctx.spaceId);
  const parts: string[] = [];
  if (appends.length > 0) parts.push(appendRows(p, space, appends));
  if (rows.length > 0) parts.push(insertRows(p, space, rows));
  if (chunks.length > 0) parts.push(insertChunks(p, space, chunks));
  if (withOp) {
    parts.push(upsertOps(p, space, [opRowOf(ctx)], ctx.core, replayed));
    if (ctx.documents.length > 0) parts.push(insertDocuments(p, space, ctx.documents.map((oid) => ({ oid, seq: ctx.seq }))));
  }
  return { sql: `with ${parts.map((part, k) => `w${k} as (${part})`).join(",\n")} ${appended(appends.length > 0 ? "w0" : undefined, "1")}`, values };
}

/**
 * Sends the records collected so far (not the op) and forgets them, so a long write such as a
 * streamed import keeps its memory bounded; the returned promise settles when storage has them
 * (statements of one transaction run in the order sent). Every chunk collected must be final.
 * Records of one objective must all be in one spill (an import's rows are written once each).
 */
export function spill(ctx: WriteCtx): Promise<void> {
  const { inserts, appends } = rowsOf(ctx.written, ctx.core);
  if (appends.length > 0) throw new Error("a spilled write appends to no stored row (an import writes each objective once)");
  const chunks = [...ctx.chunks];
  const sent: Promise<unknown>[] = copyVersionRows(ctx.tx, ctx.spaceId, inserts);
  for (let from = 0; from < chunks.length; from += BATCH) {
    const { values, p } = params();
    sent.push(ctx.tx.query(insertChunks(p, p(ctx.spaceId), chunks.slice(from, from + BATCH)), values));
  }
  spilled.set(ctx, (spilled.get(ctx) ?? []).concat(inserts.map((row) => row.oid)));
  ctx.written.length = 0;
  ctx.chunks.clear();
  return Promise.all(sent).then(() => undefined);
}

/** Objectives whose rows a write spilled already (they still count as touched by its op). */
const spilled = new WeakMap<WriteCtx, string[]>();

/** Objectives a write spilled before its end. */
export function spilledOids(ctx: WriteCtx): readonly string[] {
  return spilled.get(ctx) ?? [];
}

async function flush(ctx: WriteCtx, replayed: boolean): Promise<void> {
  keepReachable(ctx.chunks, ctx.written.filter((w) => w.record.kind !== "mark").map((w) => w.version.kids));
  const { inserts, appends } = rowsOf(ctx.written, ctx.core);
  const chunks = [...ctx.chunks];
  const largest = Math.max(inserts.length, appends.length, chunks.length, 1);
  for (let from = 0; from < largest; from += BATCH) {
    const { sql, values } = writeStatement(ctx, inserts.slice(from, from + BATCH), appends.slice(from, from + BATCH), chunks.slice(from, from + BATCH), from === 0, replayed);
    await ctx.tx.query(sql, values);
  }
}
