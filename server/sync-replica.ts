/**
 * The server's own replica of every space (issue 15, docs/sync.md "The server's replica"): an engine
 * on the server's storage that applies each space's ops exactly as a device does (pulled in server
 * order, applied in clock order), so it holds the same versions, vid for vid. The server stays the
 * place that authenticates, numbers and stores ops; the replica follows behind each push, one round
 * at a time per space, and is what snapshots and permission checks read.
 *
 * One server process per storage: two replicas on one database would apply the same ops twice.
 */
import { EngineError } from "../engine/errors.js";
import { openEngine, type Engine } from "../open-engine.js";
import type { ReplicaOp } from "../engine/replicate.js";
import type { Storage } from "../storage/contract.js";
import { appendServerOps, opsAfter } from "./sync-store.js";

/** Ops the replica applies per `applyOps` call (one pull page's worth). */
const PAGE = 500;

/** The replica of a sync server. */
export interface SyncReplica {
  /** The engine holding the replica (read it; never write to it: only pushed ops do). */
  readonly engine: Engine;
  /** Asks for a round over a space (after a push stored ops); rounds of one space never overlap. */
  follow(spaceId: string): void;
  /** Runs a round over each space in turn (a server catching up on start); resolves when done. */
  followAll(spaceIds: readonly string[]): Promise<void>;
  /** Resolves when the space's replica holds every op stored when it was called (runs a round if needed). */
  caughtUp(spaceId: string): Promise<void>;
  /**
   * Runs `fn` while no round changes the space's replica (a snapshot read: call `caughtUp` first
   * for a fresh one); pushes meanwhile are followed right after.
   */
  exclusive<T>(spaceId: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Whether a snapshot reads one moment while rounds go on (the storage pins reads: Postgres), so
   * it needs no `exclusive`; on PGlite it does (a download then holds the space's rounds).
   */
  readonly readsAlongside: boolean;
  /**
   * Makes ops on the server, as `actor` (an invitation's share op, made for the manager who sent
   * it): `fn` writes through the replica's engine acting for them, then the ops it made are
   * numbered after the space's others and stored like pushed ones, so every device pulls them.
   * Runs while no round does; resolves to the space's last seq (undefined: `fn` made no op).
   */
  originate(spaceId: string, actor: string, fn: (engine: Engine) => Promise<unknown>): Promise<number | undefined>;
  /** Waits for running rounds and closes the engine (not the storage: its owner closes it). */
  close(): Promise<void>;
}

/** The storage, minus its close: the replica's engine shares it with the sync store. */
function shared(storage: Storage): Storage {
  return {
    kind: storage.kind,
    query: (sql, params) => storage.query(sql, params),
    transaction: (fn) => storage.transaction(fn),
    ...(storage.copyRows ? { copyRows: storage.copyRows.bind(storage) } : {}),
    ...(storage.readSnapshot ? { readSnapshot: storage.readSnapshot.bind(storage) } : {}),
    close: async () => {},
  };
}

/**
 * Opens the replica on the sync store's storage (the engine's tables beside `sync_*`; migrated
 * on open) and reads ops from `sync_op`.
 */
export async function openSyncReplica(
  storage: Storage,
  options: {
    readonly onError?: (spaceId: string, error: unknown) => void;
    /** The replica engine's row cache. Default 16 MiB: it mostly writes, and every server process holds one. */
    readonly cacheBytes?: number;
  } = {},
): Promise<SyncReplica> {
  const engine = await openEngine({ storage: { kind: storage.kind, open: async () => shared(storage) }, cacheBytes: options.cacheBytes ?? 16 * 1024 * 1024 });
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  const errors = new Map<string, unknown>();
  let closing = false;

  const round = async (spaceId: string): Promise<void> => {
    await engine.createSpace({ spaceId }).catch((error: unknown) => {
      if (!(error instanceof EngineError && error.code === "CONFLICT")) throw error;
    });
    // Ops stored by an earlier round that stopped before applying them.
    await engine.settle(spaceId);
    while (!closing) {
      // Pages as devices pull them: 500 ops and 1 MiB at most.
      const { ops } = await opsAfter(storage, spaceId, await engine.pullCursor(spaceId), PAGE);
      if (ops.length === 0) return;
      await engine.applyOps(spaceId, ops);
    }
  };

  const run = (spaceId: string): Promise<void> => {
    const current = running.get(spaceId);
    if (current) {
      again.add(spaceId);
      return current;
    }
    const next = (async () => {
      do {
        again.delete(spaceId);
        try {
          await round(spaceId);
          errors.delete(spaceId);
        } catch (error) {
          errors.set(spaceId, error);
          try {
            options.onError?.(spaceId, error);
          } catch {
            // A failing logger must not become an unhandled rejection.
          }
          return;
        }
      } while (again.has(spaceId) && !closing);
    })().finally(() => running.delete(spaceId));
    running.set(spaceId, next);
    return next;
  };

  /**
   * Numbers and stores the replica's own ops the server does not hold yet (those just made, or
   * left by a crash between making and storing them), then pulls them back with what was pushed
   * meanwhile, in server order: the cursor never skips an op. The last seq, or undefined.
   */
  const storeOwn = async (spaceId: string): Promise<number | undefined> => {
    const made: ReplicaOp[] = [];
    for (let after = ""; ; ) {
      const page = await engine.logSince(spaceId, { device: engine.deviceId, afterHlc: after, limit: 10_000 });
      made.push(...page.filter((o) => o.serverSeq === undefined));
      if (page.length < 10_000) break;
      after = page[page.length - 1]!.hlc;
    }
    if (made.length === 0) return undefined;
    const last = await appendServerOps(storage, spaceId, made.map(({ serverSeq: _s, vidAfter: _v, ...op }) => op), Date.now());
    await round(spaceId);
    return last;
  };

  const exclusive = async <T>(spaceId: string, fn: () => Promise<T>): Promise<T> => {
    for (let current = running.get(spaceId); current; current = running.get(spaceId)) await current.catch(() => {});
    let release!: () => void;
    running.set(spaceId, new Promise<void>((resolve) => (release = resolve)));
    try {
      return await fn();
    } finally {
      running.delete(spaceId);
      release();
      if (again.has(spaceId) && !closing) void run(spaceId);
    }
  };

  // Ops the replica made but a crash kept from being stored: stored now, before anything else.
  const unstored = await storage.query<{ space_id: string }>("select distinct space_id::text as space_id from op where device = $1 and server_seq is null and seq is not null", [
    engine.deviceId,
  ]);
  for (const { space_id } of unstored) await exclusive(space_id, () => storeOwn(space_id));

  return {
    engine,
    follow(spaceId) {
      if (!closing) void run(spaceId);
    },
    async followAll(spaceIds) {
      // One after another: a server started after a while shares its storage with the replica,
      // and PGlite has one connection.
      for (const spaceId of spaceIds) if (!closing) await run(spaceId);
    },
    async caughtUp(spaceId) {
      // A round that started before the call may have read the ops before the newest: one more.
      await running.get(spaceId);
      await run(spaceId);
      const error = errors.get(spaceId);
      if (error !== undefined) throw error;
    },
    exclusive,
    readsAlongside: storage.readSnapshot !== undefined,
    async originate(spaceId, actor, fn) {
      return exclusive(spaceId, async () => {
        // On every op stored so far, so the new ones sort after what the devices pushed.
        await round(spaceId);
        await fn(engine.as(actor));
        return storeOwn(spaceId);
      });
    },
    async close() {
      closing = true;
      await Promise.all(running.values());
      await engine.close();
    },
  };
}
