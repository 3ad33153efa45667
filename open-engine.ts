import type { Storage, StorageConfig } from "./storage/contract.js";
import { migrate } from "./storage/migrate.js";
import { checkout } from "./engine/checkout.js";
import type { Core } from "./engine/core.js";
import { create, createDocument, createSpace, type NewDocument, type NewObjective } from "./engine/create.js";
import { diff } from "./engine/diff.js";
import { EngineError } from "./engine/errors.js";
import { history, versions } from "./engine/history.js";
import { importTree, type ImportOptions, type TreeInput } from "./engine/import-tree.js";
import { importStream, type ImportEvent, type ImportStreamOptions } from "./engine/import-stream.js";
import { newOid } from "./engine/ids.js";
import { move, type Destination } from "./engine/move.js";
import { children, documents, get, subtree, versionOrActive, type At, type ChildrenOptions, type SubtreeOptions, type SubtreeRow } from "./engine/read.js";
import { remove } from "./engine/remove.js";
import { restore } from "./engine/restore.js";
import { applyOps, opsSince, type ApplyOptions, type ReplicaOp } from "./engine/replicate.js";
import { exportSnapshot, loadSnapshot, type SnapshotFrame } from "./engine/snapshot.js";
import { exportSubtree, type SubtreeExportOptions } from "./engine/subtree-snapshot.js";
import { conflicts, logSince, pullCursor, pushMark, setPushMark, settle, withdraw, withdrawAll, type ConflictEvent, type LogOptions } from "./engine/clock-order.js";
import { createHlcClock } from "./engine/hlc.js";
import { createRowCache } from "./engine/format/row-cache.js";
import { ensureDevices, rememberDevice, type Devices } from "./engine/format/devices.js";
import { createKnown } from "./engine/known.js";
import { upgradeToRecords } from "./engine/format/upgrade-v6.js";
import type { Change, Objective, Op, Page, VersionRef, VersionRow } from "./engine/types.js";
export type { ImportOptions, TreeInput };
import { update, type Patch } from "./engine/update.js";
import { namingVisible, requireAccessTo, statsSeen, withoutHidden } from "./engine/access.js";
import { actorEntries, allows, checkUser, type Entry, type Role } from "./engine/roles.js";
import { collaborators, share, shareHistory, type EntryChange } from "./engine/share.js";
import { checkId } from "./engine/validate.js";
import { exportPartial, holdsPartial, loadPartial, partialTops, type PartialTop, type PartialTops } from "./engine/partial-replica.js";
import { checkOps, refusedOps, type CheckedOp, type CheckOptions, type OpRefusal } from "./engine/check-ops.js";
import { accessOf, type SpaceAccess } from "./engine/space-access.js";
import { DEFAULT_LIMITS, type Limits } from "./engine/validate.js";
import { foldsOf, setFolded } from "./viewbuilder/folds.js";
import { rowIndex, scrollTo, view, type View, type ViewOptions } from "./viewbuilder/view.js";

/** Options of `openEngine`. */
export interface EngineOptions {
  /** The backend: `pglite({ dataDir? })` (embedded) or `postgres({ connectionString })`. */
  readonly storage: StorageConfig;
  /** Bytes of immutable rows kept in memory. Default 64 MiB. */
  readonly cacheBytes?: number;
  /**
   * The user this engine's database belongs to (a device signed in to a sync server: the user's
   * id there). Recorded as the actor of every op it makes, and every write and read is checked
   * against that user's role (docs/collaboration.md). Without it the engine acts for its owner
   * and is never refused.
   */
  readonly actor?: string;
  readonly limits?: Partial<Limits>;
  /** The clock (ms); for tests. */
  readonly now?: () => number;
  /** Told what a long schema migration is doing (upgrading a big database takes a while). */
  readonly onProgress?: (message: string) => void;
}

/** The data conversions of schema migrations (engine/format/upgrade-v6.ts): what `migrate` needs. */
export const DATA_STEPS = { "v6-records": upgradeToRecords } as const;

/** The engine: the API outliner apps embed (see API.md). Every method is one transaction or a read. */
export interface Engine extends AsyncDisposable {
  readonly deviceId: string;
  /** The user this engine acts for (`openEngine({ actor })`, `as(user)`); undefined: its owner. */
  readonly actor: string | undefined;
  /** Which backend it runs on. */
  readonly storageKind: "pglite" | "postgres";
  /** A new space; `{ spaceId }` makes a replica of a space made on another device. */
  createSpace(options?: { spaceId?: string }): Promise<{ spaceId: string }>;
  createDocument(spaceId: string, input: NewDocument): Promise<Objective>;
  create(spaceId: string, input: NewObjective): Promise<Objective>;
  update(spaceId: string, oid: string, patch: Patch): Promise<Objective>;
  move(spaceId: string, oid: string, to: Destination): Promise<Objective>;
  remove(spaceId: string, oid: string): Promise<void>;
  /** Puts a removed objective back (its last parent and place, or `to`), its subtree as it was: an app's undo of `remove`. */
  restore(spaceId: string, oid: string, to?: Destination): Promise<Objective>;
  checkout(spaceId: string, oid: string, vid: string): Promise<Objective>;
  /**
   * Gives a user a role on an objective's subtree (`null` takes their entry there away): a `share`
   * op, versioned apart from content (no content version). Only a manager there may. Returns the
   * entries in force on the objective afterwards (docs/collaboration.md).
   */
  share(spaceId: string, oid: string, user: string, role: Role | null): Promise<Entry[]>;
  /** The entries in force on an objective, its own and inherited: who may read, edit or share it. */
  collaborators(spaceId: string, oid: string): Promise<Entry[]>;
  /** Every change of the entries set on one objective, newest first (their own history). */
  shareHistory(spaceId: string, oid: string): Promise<EntryChange[]>;
  /**
   * The same engine acting for `user`: every write and read is checked against the user's role
   * (FORBIDDEN otherwise), and the documents the user creates are theirs to manage. What is the
   * owner's (sync and log calls, snapshots, other users' folds, `as` itself) is FORBIDDEN to it.
   * Closing either closes both.
   *
   * @example
   * const bob = engine.as("bob@example.com");
   * await bob.update(spaceId, oid, { content: "edited by bob" }); // FORBIDDEN unless bob may edit it
   */
  as(user: string): Engine;
  get(spaceId: string, oid: string, at?: At): Promise<Objective>;
  children(spaceId: string, oid: string, options?: ChildrenOptions): Promise<Objective[]>;
  /** The documents of a space (active root versions), oldest first. */
  documents(spaceId: string): Promise<Objective[]>;
  /** A subtree's rows down to `depth` levels, depth-first, a level per few statements (`logbook tree --depth`). */
  subtree(spaceId: string, oid: string, options: SubtreeOptions): Promise<SubtreeRow[]>;
  history(spaceId: string, oid: string, options?: Page): Promise<{ ops: Op[]; next?: string }>;
  versions(spaceId: string, oid: string, options?: Page): Promise<{ versions: VersionRef[]; next?: string }>;
  diff(spaceId: string, oid: string, fromVid: string, toVid: string): Promise<Change[]>;
  /** Bulk import of whole trees in one transaction (see `ImportOptions`). */
  importTree(spaceId: string, options: ImportOptions): Promise<{ oids: string[]; count: number }>;
  /**
   * Bulk import of an outline streamed as open/close events (files of any size): one transaction
   * and one op, memory bounded by the open rows (see `ImportStreamOptions`).
   */
  importStream(spaceId: string, events: AsyncIterable<ImportEvent> | Iterable<ImportEvent>, options?: ImportStreamOptions): Promise<{ oids: string[]; count: number }>;
  /** Rows `[offset, offset + limit)` of a document's depth-first view (DESIGN.md §6). */
  view(spaceId: string, rootOid: string, options?: ViewOptions): Promise<View>;
  /** Row index of `oid` in a view, -1 when absent or folded away. */
  rowIndex(spaceId: string, rootOid: string, oid: string, options?: ViewOptions): Promise<number>;
  /** Offset of a `limit`-row window with `oid` near its middle, -1 when not visible. */
  scrollTo(spaceId: string, rootOid: string, oid: string, limit: number, options?: ViewOptions): Promise<number>;
  /** Folds or unfolds an objective for a user (view state: no version is made). */
  setFolded(spaceId: string, user: string, oid: string, folded: boolean): Promise<void>;
  /** The objectives a user folded in a space. */
  folds(spaceId: string, user: string): Promise<string[]>;
  /** The space's op log after local sequence `after`, oldest first (what another device replays). */
  opsSince(spaceId: string, options?: { after?: number; limit?: number }): Promise<{ ops: ReplicaOp[]; next?: number }>;
  /**
   * Takes ops made elsewhere: stored once each (duplicates skipped) and applied in hybrid-logical-clock
   * order, rebuilding after a late op, so devices with the same ops hold the same vids. `applied`
   * counts new ops, `skipped` known ones, `rebuilt` applied ops undone and re-applied after a late one.
   */
  applyOps(spaceId: string, ops: readonly ReplicaOp[], options?: ApplyOptions): Promise<{ applied: number; skipped: number; rebuilt: number }>;
  /** Every op this device knows (made here or received, applied or not), in clock order after `afterHlc`. */
  logSince(spaceId: string, options?: LogOptions): Promise<ReplicaOp[]>;
  /**
   * Withdraws one of this device's own ops that a sync server refused (FORBIDDEN): undone with what
   * follows it, kept as a conflict event (`refused:FORBIDDEN`), the rest re-applied; never pushed again.
   */
  withdraw(spaceId: string, opId: string, reason: string): Promise<void>;
  /**
   * Withdraws many refused ops at once (what a sync server's 403 lists): one undo to the oldest and
   * one replay of the rest, however many they are.
   */
  withdrawAll(spaceId: string, refused: readonly { readonly opId: string; readonly detail: string }[]): Promise<void>;
  /** Ops kept but not applied (merge-rule conflicts, unknown kinds, no-ops), newest first. */
  conflicts(spaceId: string, options?: { limit?: number; before?: string }): Promise<ConflictEvent[]>;
  /** The highest sync-server seq among the ops pulled into this space (0: none). */
  pullCursor(spaceId: string): Promise<number>;
  /** The clock up to which a sync server acknowledged this device's own ops ("" when none was). */
  pushMark(spaceId: string): Promise<string>;
  /** Records that a sync server holds this device's own ops up to `hlc` (the mark only moves forward). */
  setPushMark(spaceId: string, hlc: string): Promise<void>;
  /** Applies pending ops of the log (left by a crash mid-apply); returns how many were undone and redone. */
  settle(spaceId: string): Promise<number>;
  /**
   * The space's stored rows, frame by frame (engine/snapshot.ts): what a sync server's replica sends
   * a device that joins. Keep writers away from the space while it is read.
   */
  exportSnapshot(spaceId: string): AsyncGenerator<SnapshotFrame>;
  /**
   * Loads another engine's snapshot into an empty space here, in one transaction; then pull ops after
   * the returned cursor. CONFLICT when the space holds rows, or this database numbers devices
   * differently and holds rows already (replay the ops instead).
   */
  loadSnapshot(spaceId: string, frames: AsyncIterable<SnapshotFrame> | Iterable<SnapshotFrame>): Promise<{ cursor: number; rows: number }>;
  /**
   * The rows of one subtree at one version, frame by frame (engine/subtree-snapshot.ts): loaded with
   * `loadSnapshot` into an empty space, it reads there as `(oid, vid)` reads here, with the same vids.
   * FORBIDDEN when it reaches one of `options.hidden`.
   *
   * @example
   * await copy.loadSnapshot(newSpaceId, engine.exportSubtree(spaceId, oid, vid));
   */
  exportSubtree(spaceId: string, oid: string, vid: string, options?: SubtreeExportOptions): AsyncGenerator<SnapshotFrame>;
  /**
   * The first op of a batch its actor may not apply here (engine/check-ops.ts), or undefined: what
   * a sync server asks its replica before it stores a push. Reads only.
   */
  checkOps(spaceId: string, ops: readonly CheckedOp[], options?: CheckOptions): Promise<OpRefusal | undefined>;
  /**
   * The highest objectives `user` may read in a space, with their active vids, and those withheld
   * (something inside is hidden from them): what a partial replica holds (engine/partial-replica.ts).
   */
  partialTops(spaceId: string, user: string): Promise<PartialTops>;
  /**
   * The current state of `user`'s tops, frame by frame (a sync server's replica sends it), but for
   * those `have` lists with the vid they still have. Keep writers away meanwhile.
   */
  exportPartial(spaceId: string, user: string, have?: readonly PartialTop[]): AsyncGenerator<SnapshotFrame>;
  /**
   * Replaces what this database holds of a space with a partial export, keeping its own op log;
   * CONFLICT while own ops after `pushedUpTo` (the push mark) wait to be pushed.
   */
  loadPartial(spaceId: string, frames: AsyncIterable<SnapshotFrame> | Iterable<SnapshotFrame>, pushedUpTo: string): Promise<{ tops: readonly PartialTop[]; sent: readonly string[]; entries: number; rows: number }>;
  /** Whether this database holds a partial replica of the space (it stays one: a whole replica starts in a fresh space). */
  holdsPartial(spaceId: string): Promise<boolean>;
  /** Every op of a batch its actor may not apply here, each judged as `checkOps` judges the first. */
  refusedOps(spaceId: string, ops: readonly CheckedOp[], options?: CheckOptions): Promise<OpRefusal[]>;
  /**
   * A user's reach in a space: member or not, reads all of it or part, their entries (an engine
   * acting for a user asks for that user only).
   */
  accessOf(spaceId: string, user: string): Promise<SpaceAccess>;
  /** Rows read from storage since open (cache misses), for tests and benchmarks. */
  rowsRead(): number;
  /** Drops every cached row (to measure cold reads). */
  clearCache(): void;
  close(): Promise<void>;
}

/**
 * What an engine needs to start, in one statement: this database's device id and number, and the
 * newest clock of its log (a new clock must sort after it). A database opened before only reads;
 * the first open also numbers the device (two writes, once).
 */
async function startState(storage: Storage, devices: Devices): Promise<{ deviceId: string; after: string | undefined }> {
  const read = () =>
    storage.query<{ device_id: string | null; device_no: number | null; hlc: string | null }>(
      `select m.value as device_id, d.no as device_no,
              -- per space through the (space_id, hlc) index: a handful of spaces, one probe each
              (select max((select max(o.hlc) from op o where o.space_id = s.space_id)) from space s) as hlc
         from (select 1) one
         left join meta m on m.key = 'device_id'
         left join device d on d.id = m.value::uuid`,
    );
  let [row] = await read();
  if (!row?.device_id) {
    await storage.query("insert into meta (key, value) values ('device_id', $1) on conflict (key) do nothing", [newOid()]);
    [row] = await read();
  }
  const deviceId = row!.device_id!;
  if (row!.device_no === null) await ensureDevices(devices, storage, [deviceId]);
  else rememberDevice(devices, row!.device_no, deviceId);
  return { deviceId, after: row!.hlc ?? undefined };
}

/** View options with the reader's hidden objectives added (none: as given). */
function withHidden(options: ViewOptions | undefined, hidden: ReadonlySet<string>): ViewOptions | undefined {
  return hidden.size === 0 ? options : { ...options, hidden: [...(options?.hidden ?? []), ...hidden] };
}

/** The version row `vid` of an objective (a past read's tree; only needed when something is hidden), or undefined. */
async function pastRoot(core: Core, spaceId: string, oid: string, vid: string | undefined, hidden: ReadonlySet<string>): Promise<VersionRow | undefined> {
  return vid === undefined || hidden.size === 0 ? undefined : (await versionOrActive(core, spaceId, oid, vid)).row;
}

/**
 * Opens (creating or migrating the schema) an engine on a backend.
 *
 * @example
 * await using engine = await openEngine({ storage: pglite() });
 * const { spaceId } = await engine.createSpace();
 * const doc = await engine.createDocument(spaceId, { content: "Plan" });
 */
export async function openEngine(options: EngineOptions): Promise<Engine> {
  const storage = await options.storage.open();
  let core: Core;
  try {
    await migrate(storage, { data: DATA_STEPS, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    const cache = createRowCache(options.cacheBytes ?? 64 * 1024 * 1024);
    const { deviceId, after } = await startState(storage, cache.devices);
    core = {
      storage,
      cache,
      deviceId,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      actor: options.actor,
      now: options.now ?? Date.now,
      // Replicas must converge, so a received clock is never refused here (the server refuses skew).
      known: createKnown(),
      clock: createHlcClock({ device: deviceId, wallClock: options.now ?? Date.now, maxDriftMs: Infinity, ...(after ? { after } : {}) }),
    };
  } catch (error) {
    await storage.close();
    throw error;
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    core.cache.lru.clear();
    await storage.close();
  };
  /** The API over one core: the engine's own, or one acting for a user (same storage and caches). */
  const api = (core: Core, delegated: boolean): Engine => {
    const open = <A extends unknown[], R>(fn: (core: Core, ...args: A) => Promise<R>) =>
      (...args: A): Promise<R> => {
        if (closed) return Promise.reject(new EngineError("CLOSED", "the engine is closed"));
        return fn(core, ...args);
      };
    // Reads of one objective check the actor's role there first (engine/access.ts), and are told
    // what is hidden from the actor below it.
    const reading = <A extends unknown[], R>(fn: (core: Core, spaceId: string, oid: string, hidden: ReadonlySet<string>, ...rest: A) => Promise<R>) =>
      open(async (c: Core, spaceId: string, oid: string, ...rest: A): Promise<R> => {
        // The check locates the objective; the read reuses that chain (one locate, not two).
        const call: Core = { ...c, located: new Map() };
        const hidden = await requireAccessTo(call, checkId("spaceId", spaceId), checkId("oid", oid));
        return fn(call, spaceId, oid, hidden, ...rest);
      });
    // Sync plumbing and other users' state are the owner's: an engine handed out by `as` refuses
    // them (one opened with `actor` is that user's own device, which syncs).
    const ownerOnly = <A extends unknown[], R>(what: string, fn: (core: Core, ...args: A) => Promise<R>) =>
      open(async (c: Core, ...args: A): Promise<R> => {
        if (delegated) throw new EngineError("FORBIDDEN", `user ${c.actor} may not call ${what}: it is the owner's engine's (sync, snapshots, logs)`);
        return fn(c, ...args);
      });
    // Exports of stored rows: generators, so checked when called rather than when first read.
    const ownerFrames = <A extends unknown[]>(what: string, fn: (core: Core, ...args: A) => AsyncGenerator<SnapshotFrame>) => (...args: A): AsyncGenerator<SnapshotFrame> => {
      if (closed) throw new EngineError("CLOSED", "the engine is closed");
      if (delegated) throw new EngineError("FORBIDDEN", `user ${core.actor} may not call ${what}: it is the owner's engine's (sync, snapshots, logs)`);
      return fn(core, ...args);
    };
    // A user's folds are their own.
    const ownFolds = (c: Core, user: string | undefined) => {
      if (delegated && user !== undefined && user !== c.actor) throw new EngineError("FORBIDDEN", `user ${c.actor} may not use the folds of user ${user}`);
    };
    const plain = <A extends unknown[], R>(fn: (core: Core, spaceId: string, oid: string, ...rest: A) => Promise<R>) =>
      reading((c: Core, spaceId: string, oid: string, _hidden: ReadonlySet<string>, ...rest: A) => fn(c, spaceId, oid, ...rest));
    return {
      deviceId: core.deviceId,
      actor: core.actor,
      storageKind: storage.kind,
      createSpace: open(createSpace),
      createDocument: open(createDocument),
      create: open(create),
      update: open(update),
      move: open(move),
      remove: open(remove),
      restore: open(restore),
      checkout: open(checkout),
      share: open(share),
      collaborators: open(collaborators),
      shareHistory: open(shareHistory),
      // Active versions a reader sees have statistics without what is hidden from them.
      // (Of a past version: as that version's tree held them.)
      get: reading(async (c, spaceId, oid, hidden, at?: At) => {
        const got = await get(c, spaceId, oid, at);
        return (await statsSeen(c, spaceId, [got], hidden, await pastRoot(c, spaceId, oid, at?.vid, hidden)))[0]!;
      }),
      children: reading(async (c, spaceId, oid, hidden, options?: ChildrenOptions) => {
        const kids = (await children(c, spaceId, oid, options)).filter((k) => !hidden.has(k.oid.toLowerCase()));
        return statsSeen(c, spaceId, kids, hidden, await pastRoot(c, spaceId, oid, options?.vid, hidden));
      }),
      subtree: reading(async (c, spaceId, oid, hidden, options: SubtreeOptions) => {
        const rows = withoutHidden(await subtree(c, spaceId, oid, options), hidden);
        return statsSeen(c, spaceId, rows, hidden, await pastRoot(c, spaceId, oid, options?.vid, hidden));
      }),
      documents: open(async (c, spaceId) => {
        const all = await documents(c, spaceId);
        if (c.actor === undefined) return all;
        // A document is a root: the reader's own entry on it (or the creator's) is their role there.
        const entries = await actorEntries(c.storage, checkId("spaceId", spaceId), c.actor);
        return all.filter((d) => allows(entries.get(d.oid.toLowerCase()) ?? undefined, "read"));
      }),
      // Ops and changes inside subtrees hidden from a reader are left out.
      history: reading(async (c, spaceId, oid, hidden, options?: Page) => {
        const page = await history(c, spaceId, oid, options);
        return { ...page, ops: await namingVisible(c, spaceId, page.ops, hidden, oid) };
      }),
      versions: plain(versions),
      diff: reading(async (c, spaceId, oid, hidden, fromVid: string, toVid: string) => namingVisible(c, spaceId, await diff(c, spaceId, oid, fromVid, toVid), hidden, oid)),
      importTree: open(importTree),
      importStream: open(importStream),
      // A reader's view leaves out the subtrees hidden from them (rows, total and statistics).
      view: reading(async (c, spaceId, rootOid, hidden, options?: ViewOptions) => {
        ownFolds(c, options?.user);
        return view(c, spaceId, rootOid, withHidden(options, hidden));
      }),
      rowIndex: reading(async (c, spaceId, rootOid, hidden, oid: string, options?: ViewOptions) => {
        ownFolds(c, options?.user);
        return rowIndex(c, spaceId, rootOid, oid, withHidden(options, hidden));
      }),
      scrollTo: reading(async (c, spaceId, rootOid, hidden, oid: string, limit: number, options?: ViewOptions) => {
        ownFolds(c, options?.user);
        return scrollTo(c, spaceId, rootOid, oid, limit, withHidden(options, hidden));
      }),
      setFolded: open(async (c, spaceId: string, user: string, oid: string, folded: boolean) => {
        ownFolds(c, user);
        return setFolded(c, spaceId, user, oid, folded);
      }),
      folds: open(async (c, spaceId: string, user: string) => {
        ownFolds(c, user);
        return foldsOf(c, spaceId, user);
      }),
      opsSince: ownerOnly("opsSince", opsSince),
      applyOps: ownerOnly("applyOps", applyOps),
      logSince: ownerOnly("logSince", logSince),
      withdraw: ownerOnly("withdraw", withdraw),
      withdrawAll: ownerOnly("withdrawAll", withdrawAll),
      conflicts: ownerOnly("conflicts", conflicts),
      pullCursor: ownerOnly("pullCursor", pullCursor),
      pushMark: ownerOnly("pushMark", pushMark),
      setPushMark: ownerOnly("setPushMark", setPushMark),
      settle: ownerOnly("settle", settle),
      exportSnapshot: ownerFrames("exportSnapshot", exportSnapshot),
      loadSnapshot: ownerOnly("loadSnapshot", loadSnapshot),
      exportSubtree: ownerFrames("exportSubtree", exportSubtree),
      checkOps: ownerOnly("checkOps", checkOps),
      partialTops: ownerOnly("partialTops", partialTops),
      exportPartial: ownerFrames("exportPartial", exportPartial),
      loadPartial: ownerOnly("loadPartial", loadPartial),
      holdsPartial: ownerOnly("holdsPartial", holdsPartial),
      refusedOps: ownerOnly("refusedOps", refusedOps),
      accessOf: open(async (c, spaceId: string, user: string) => {
        if (delegated && user !== c.actor) throw new EngineError("FORBIDDEN", `user ${c.actor} may not read the reach of user ${user}`);
        return accessOf(c, spaceId, user);
      }),
      as: (user: string) => {
        // Only the owner hands out acting engines: one acting for a user cannot become another.
        if (delegated) throw new EngineError("FORBIDDEN", `user ${core.actor} may not act for user ${user}`);
        return api({ ...core, actor: checkUser(user) }, true);
      },
      rowsRead: () => core.cache.rowsRead,
      clearCache: () => core.cache.lru.clear(),
      close,
      [Symbol.asyncDispose]: close,
    };
  };
  return api(core, false);
}
