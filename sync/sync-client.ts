/**
 * A syncing device (DESIGN.md §8): an engine (PGlite in memory or in a data dir) whose space is
 * kept in step with a sync server. Edits go to the engine as always and work offline; the client
 * pushes the device's own ops (idempotently: the server keeps one copy per op id), pulls
 * "everything after server seq N" in pages, and applies them with `engine.applyOps`, which orders
 * them by clock. The pull cursor is the highest server seq stored in the engine's op log, written
 * in the same transaction as the ops, so a client killed at any point resumes where it was.
 */
import type { Engine } from "../open-engine.js";
import { EngineError } from "../engine/errors.js";
import { pushBatches, SyncError } from "./protocol.js";
import type { SyncTransport } from "./transport.js";

/** Options of {@link createSyncClient}. */
export interface SyncClientOptions {
  readonly engine: Engine;
  readonly spaceId: string;
  readonly transport: SyncTransport;
  /**
   * This device creates the space on the server (`POST /sync/spaces`) before its first push: the
   * device where the space was made. Idempotent for its user; another user's space is `CONFLICT`.
   * Without it the client joins a space its user created elsewhere (`NOT_FOUND` if none did).
   */
  readonly create?: boolean;
  /**
   * A device whose space is still empty here copies the server replica's rows of it (a snapshot)
   * before pulling the ops after them, instead of replaying the whole history. Falls back to
   * replaying when the server has no replica or this database cannot take the rows as they are.
   * Default true.
   */
  readonly bootstrap?: boolean;
  /** Ops per push. Default 200. */
  readonly pushBatch?: number;
  /** Ops per pull page. Default 500. */
  readonly pullLimit?: number;
  /** Reconnect backoff: first wait and cap, in ms (doubling, with jitter). Default 250 and 10000. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** While online, sync at least this often even without pokes, in ms. Default 30000. */
  readonly pollMs?: number;
  /** After every round of the background loop (and of `sync()`), with what it moved. */
  readonly onRound?: (round: SyncRound) => void;
  /** Every failure of the background loop (it keeps going unless the session is refused). */
  readonly onError?: (error: unknown) => void;
  /** Randomness for backoff jitter. */
  readonly random?: () => number;
}

/** What one sync round did. */
export interface SyncRound {
  readonly pushed: number;
  readonly pulled: number;
}

/** A syncing device (see the module comment). */
export interface SyncClient {
  /** One round: finish an interrupted apply, push every own op the server may lack, pull to the end. */
  sync(): Promise<SyncRound>;
  /** Goes online: listens for pokes, syncs on pokes and local changes, reconnects with backoff. */
  start(): void;
  /** Goes offline (edits keep working); resolves when the background loop has stopped. */
  stop(): Promise<void>;
  /**
   * Tells the background loop that local edits wait to be pushed: it syncs at once, or right after
   * the round in progress (a change during a round is never left for the next poll).
   */
  changed(): void;
  /**
   * Takes this engine's device back after its accounts device was revoked (or replaced by a new
   * sign-in): binds it to the session's accounts device, so its ops, offline edits included, can
   * be pushed again instead of being refused as `FORGED`. Call it with a transport of the new
   * session, after a `FORGED` refusal; `CONFLICT` while the old accounts device is still active.
   */
  rebind(): Promise<void>;
  /**
   * Copies one version of one subtree of the space, with its history up to it, from the server's
   * replica into `into`, an empty space of this engine (a space of its own: it does not sync). It
   * reads there as `(oid, vid)` reads on the server, with the same vids, and works offline: older
   * versions, checkouts, edits. Members copy only what their role reads (`FORBIDDEN` otherwise).
   *
   * @example
   * const copy = randomUUID();
   * await client.copySubtree(oid, vid, copy);
   * const { rows } = await engine.view(copy, oid);
   */
  copySubtree(oid: string, vid: string, into: string): Promise<{ rows: number }>;
  /** `offline` after a failure until the next successful round; `refused` when the session was refused. */
  readonly status: "stopped" | "connecting" | "online" | "offline" | "refused";
}

const FATAL = new Set(["UNAUTHENTICATED", "FORBIDDEN", "FORGED", "QUOTA_EXCEEDED", "NOT_FOUND", "CONFLICT"]);

/**
 * The ops of a refused push to withdraw: those the 403 lists that this batch holds (an older
 * server names only the first, in `opId`). None: the refusal is about something else (stop).
 */
function refusedIn(error: SyncError, batch: readonly { readonly opId: string }[]): { opId: string; detail: string }[] {
  const mine = new Set(batch.map((op) => op.opId));
  const listed = error.refused ?? (error.opId === undefined ? [] : [{ opId: error.opId, message: error.message }]);
  return listed.filter((r) => mine.has(r.opId)).map((r) => ({ opId: r.opId, detail: r.message }));
}

/**
 * Creates a sync client for one space of an engine (the space must exist: `createSpace({ spaceId })`
 * on a new device). Nothing happens until `sync()` or `start()`; the first round registers the
 * engine's device with the server and, with `create`, creates the space there.
 *
 * @example
 * // The device that made the space:
 * const client = createSyncClient({ engine, spaceId, transport: httpTransport({ baseUrl, token }), create: true });
 * client.start();
 * // Another device of the same user joins it: createSyncClient({ engine, spaceId, transport })
 */
export function createSyncClient(options: SyncClientOptions): SyncClient {
  const { engine, spaceId, transport } = options;
  const pushBatch = options.pushBatch ?? 200;
  const pullLimit = options.pullLimit ?? 500;
  const initialMs = options.backoff?.initialMs ?? 250;
  const maxMs = options.backoff?.maxMs ?? 10_000;
  const random = options.random ?? Math.random;
  // Own ops up to this clock were acknowledged by the server: kept in the engine, so a restarted
  // device reads its log from there (undefined: not read yet).
  let pushedHlc: string | undefined;
  let running: Promise<SyncRound> | undefined;
  let again = false;
  // A poke or a local change since the background loop's round began: it runs another at once.
  let dirty = false;
  let status: SyncClient["status"] = "stopped";
  let stopped = true;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let socket: { close(): void } | undefined;

  const push = async (): Promise<number> => {
    let pushed = 0;
    pushedHlc ??= await engine.pushMark(spaceId);
    for (;;) {
      const ops = await engine.logSince(spaceId, { device: engine.deviceId, afterHlc: pushedHlc, limit: pushBatch, pushable: true });
      if (ops.length === 0) return pushed;
      // Ops already pulled back from the server carry its seq: it has them.
      const unsent = ops.filter((op) => op.serverSeq === undefined).map(({ serverSeq: _s, vidAfter: _v, ...op }) => op);
      let withdrew = false;
      for (const batch of pushBatches(unsent)) {
        try {
          await transport.push(spaceId, { device: engine.deviceId, ops: batch });
        } catch (error) {
          // Ops the user's role does not allow (they raced a move or a revoke while offline): they are
          // withdrawn here at once, shown as conflicts, and the rest is pushed without them.
          const refused = error instanceof SyncError && error.code === "FORBIDDEN" ? refusedIn(error, batch) : [];
          if (refused.length === 0) throw error;
          await engine.withdrawAll(spaceId, refused);
          options.onError?.(error);
          withdrew = true;
          break;
        }
        pushed += batch.length;
      }
      if (withdrew) continue;
      pushedHlc = ops[ops.length - 1]!.hlc;
      await engine.setPushMark(spaceId, pushedHlc);
      if (ops.length < pushBatch) return pushed;
    }
  };

  const pull = async (): Promise<number> => {
    let pulled = 0;
    for (;;) {
      const after = await engine.pullCursor(spaceId);
      const page = await transport.pull(spaceId, after, pullLimit);
      // A page that does not answer this request (a cache or a replayed answer) is not trusted:
      // its "no more" could hide ops.
      if (page.lastSeq < after || page.ops.some((op) => !(op.serverSeq > after))) {
        throw new SyncError("UNAVAILABLE", `stale pull page: asked for ops after ${after}, got up to ${page.lastSeq}`);
      }
      if (page.ops.length > 0) pulled += (await engine.applyOps(spaceId, page.ops)).applied;
      if (!page.more) return pulled;
    }
  };

  // Once per client: the space exists on the server (made here, or joined) and this engine's
  // device is registered to the session's accounts device, before anything is pushed.
  let registered = false;
  const register = async () => {
    if (options.create) {
      if (!transport.createSpace) throw new SyncError("BAD_BATCH", "this transport cannot create spaces");
      await transport.createSpace(spaceId);
    }
    const bound = await transport.bind?.(engine.deviceId);
    // The server stores this device's ops as the signed-in user's: an engine acting for someone
    // else would check its own edits against another user's roles than every other replica.
    if (bound?.userId !== undefined && engine.actor !== undefined && engine.actor !== bound.userId) {
      throw new SyncError("FORGED", `this engine acts for user ${engine.actor}, but the session is user ${bound.userId}'s: open the engine with actor ${bound.userId}`);
    }
    registered = true;
  };

  // Once per client, while the space is empty here: copy the replica's rows instead of replaying.
  let bootstrapped = options.bootstrap === false || !transport.snapshot;
  const bootstrap = async () => {
    partial ??= await engine.holdsPartial(spaceId);
    if (!partial && (await engine.pullCursor(spaceId)) === 0 && (await engine.logSince(spaceId, { limit: 1 })).length === 0) {
      try {
        await engine.loadSnapshot(spaceId, transport.snapshot!(spaceId));
      } catch (error) {
        // A broken stream, an unreachable or busy server: the load left nothing, the round fails and
        // the next one starts the snapshot again. A member who reads part of the space holds a
        // partial replica instead. Anything else (no replica there): the pull replays.
        if (error instanceof SyncError && (error.code === "UNAVAILABLE" || error.code === "RATE_LIMITED")) throw error;
        if (error instanceof SyncError && error.partial) partial = true;
        else options.onError?.(error);
      }
    }
    bootstrapped = true;
  };

  // A member who may read only part of the space: the device holds those subtrees' state, loaded
  // again from the replica whenever a top's vid differs there (engine/partial-replica.ts).
  // Once a partial replica, always one here: pulling ops onto it would not give the space's state.
  let partial: boolean | undefined;
  // Each top's entries mark as of the last load (entries make no vid): unknown after a restart, so
  // the tops travel once then.
  let marks = new Map<string, number | undefined>();
  const refreshPartial = async (): Promise<number> => {
    if (!transport.tops || !transport.partial) throw new SyncError("FORBIDDEN", "this transport cannot hold a partial replica, which is all this user may read of the space");
    const { tops } = await transport.tops(spaceId);
    const have = (await engine.documents(spaceId)).map((d) => ({ oid: d.oid, vid: d.vid, ...(marks.get(d.oid) === undefined ? {} : { entries: marks.get(d.oid)! }) }));
    const held = have.map((t) => `${t.oid}|${t.vid}|${t.entries}`);
    const wanted = tops.map((t) => `${t.oid}|${t.vid}|${t.entries}`);
    if (held.length === wanted.length && wanted.every((t) => held.includes(t))) return 0;
    // An edit made here since the push: pushed first, in another round (a load would refuse it,
    // and does if one comes during the download).
    const mark = await engine.pushMark(spaceId);
    if ((await engine.logSince(spaceId, { device: engine.deviceId, afterHlc: mark, limit: 1, pushable: true })).length > 0) {
      again = true;
      return 0;
    }
    // Tops held with the replica's vid and entries mark are equal: only the others travel.
    try {
      const loaded = await engine.loadPartial(spaceId, transport.partial(spaceId, have), mark);
      marks = new Map(loaded.tops.map((t) => [t.oid, t.entries]));
    } catch (error) {
      if (error instanceof EngineError && error.code === "CONFLICT") {
        again = true;
        return 0;
      }
      throw error;
    }
    return wanted.filter((t) => !held.includes(t)).length;
  };
  const pullOrPartial = async (): Promise<number> => {
    partial ??= await engine.holdsPartial(spaceId);
    if (partial) return refreshPartial();
    try {
      return await pull();
    } catch (error) {
      if (!(error instanceof SyncError && error.partial)) throw error;
      partial = true;
      return refreshPartial();
    }
  };

  const round = async (): Promise<SyncRound> => {
    await engine.settle(spaceId);
    if (!registered) await register();
    if (!bootstrapped) await bootstrap();
    const pushed = await push();
    const pulled = await pullOrPartial();
    options.onRound?.({ pushed, pulled });
    return { pushed, pulled };
  };

  const sync = async (): Promise<SyncRound> => {
    // One round at a time; a request during a round runs one more round after it.
    if (running) {
      again = true;
      await running.catch(() => {});
      if (running) return running;
    }
    running = (async () => {
      let total = { pushed: 0, pulled: 0 };
      do {
        again = false;
        const r = await round();
        total = { pushed: total.pushed + r.pushed, pulled: total.pulled + r.pulled };
      } while (again);
      return total;
    })();
    try {
      return await running;
    } finally {
      running = undefined;
    }
  };

  const sleep = (ms: number, interruptible: boolean) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        if (wake === done) wake = undefined;
        resolve();
      }
      if (interruptible) wake = done;
      else wakeOnStop = done;
    });
  let wakeOnStop: (() => void) | undefined;

  /** Something to sync: wakes the loop if it sleeps, else marks its round as not the last. */
  const nudge = () => {
    dirty = true;
    wake?.();
  };

  const background = async () => {
    let attempt = 0;
    while (!stopped) {
      try {
        if (!socket) {
          status = "connecting";
          // The socket only listens to spaces that exist on the server.
          if (!registered) await register();
          socket = await transport.listen([spaceId], {
            onPoke: () => nudge(),
            onClose: () => {
              socket = undefined;
              wake?.();
            },
          });
        }
        dirty = false;
        await sync();
        status = "online";
        attempt = 0;
        // What arrived during the round (a poke, a local edit) is not waited for until the poll.
        if (!dirty) await sleep(options.pollMs ?? 30_000, true);
      } catch (error) {
        options.onError?.(error);
        socket?.close();
        socket = undefined;
        if (error instanceof SyncError && FATAL.has(error.code)) {
          status = "refused";
          stopped = true;
          return;
        }
        status = "offline";
        const wait = Math.min(maxMs, initialMs * 2 ** attempt) * (0.5 + random() / 2);
        attempt = Math.min(attempt + 1, 30);
        await sleep(wait, false);
      }
    }
  };

  return {
    sync,
    start() {
      if (!stopped) return;
      stopped = false;
      loop = background();
    },
    async stop() {
      stopped = true;
      socket?.close();
      socket = undefined;
      wake?.();
      wakeOnStop?.();
      await loop;
      loop = undefined;
      if (status !== "refused") status = "stopped";
    },
    changed() {
      nudge();
    },
    async copySubtree(oid, vid, into) {
      if (!transport.subtree) throw new SyncError("BAD_BATCH", "this transport cannot copy subtrees");
      const { rows } = await engine.loadSnapshot(into, transport.subtree(spaceId, oid, vid));
      return { rows };
    },
    async rebind() {
      if (!transport.bind) throw new SyncError("BAD_BATCH", "this transport cannot bind devices");
      await transport.bind(engine.deviceId);
      if (status === "refused") status = "stopped";
    },
    get status() {
      return status;
    },
  };
}
