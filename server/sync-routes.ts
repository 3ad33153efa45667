/**
 * The sync routes (docs/sync.md): `POST /sync/:space/push`, `GET /sync/:space/pull`, and the
 * `GET /sync/ws` socket that pokes devices when their spaces get new ops. Every route needs an
 * accounts session (cookie or `Authorization: Bearer`), so register `accountsPlugin` first.
 */
import { PassThrough } from "node:stream";
import websocket from "@fastify/websocket";
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { AccountsError } from "../accounts/index.js";
import type { Authenticated } from "../accounts/index.js";
import type { Storage } from "../storage/contract.js";
import type { PartialTop, PartialTops } from "../engine/partial-replica.js";
import type { SnapshotFrame } from "../engine/snapshot.js";
import { EngineError } from "../engine/errors.js";
import { isVid } from "../engine/ids.js";
import {
  checkPullQuery,
  checkPushBatch,
  isDeviceId,
  isSpaceId,
  LIMITS,
  SYNC_STATUS,
  SyncError,
  type BindResult,
  type CreateSpaceResult,
  encodeSnapshotFrame,
} from "../sync/protocol.js";
import { sessionTokenFrom } from "./cookies.js";
import { handleError } from "./http-errors.js";
import { createSyncHub, type SyncHub } from "./sync-hub.js";
import { openSyncReplica, type SyncReplica } from "./sync-replica.js";
import { createSyncAccess } from "./sync-access.js";
import { invitationRoutes } from "./invitation-routes.js";
import { applyInvitationsFor, resumeInvitations } from "./sync-invitations.js";
import { bindActors, bindDevice, createSyncSpace, DEFAULT_QUOTAS, migrateSyncStore, pullOps, pushOps, type SyncCaller, type SyncQuotas } from "./sync-store.js";

declare module "fastify" {
  interface FastifyInstance {
    /** The open sync sockets (for tests and shutdown). */
    syncHub: SyncHub;
    /** The server's replica of every space (undefined with `replica: false`). */
    syncReplica: SyncReplica | undefined;
  }
}

/** Options of {@link syncPlugin}. */
export interface SyncPluginOptions {
  /** Where ops are stored (opened by the caller, who closes it after the server). */
  readonly storage: Storage;
  /** Clock in ms for clock-skew checks (tests). Default `Date.now`. */
  readonly now?: () => number;
  /**
   * How often every open socket re-checks its session (expiry, idle timeout, revocations made by
   * another process), in ms. Revocations through this server's accounts close sockets at once.
   * Default 30000.
   */
  readonly revalidateMs?: number;
  /** How often sockets are pinged, in ms; one that missed the previous pong is dropped. Default 30000. */
  readonly pingMs?: number;
  /** Open sockets per user; more are refused with 429 `RATE_LIMITED`. Default 16. */
  readonly maxSocketsPerUser?: number;
  /** Open sockets in all; more are refused with 503 `UNAVAILABLE`. Default 10000. */
  readonly maxSockets?: number;
  /** Per-user quotas (spaces, ops); a push past one gets 403 `QUOTA_EXCEEDED`. Default {@link DEFAULT_QUOTAS}. */
  readonly quotas?: Partial<SyncQuotas>;
  /** URL prefix. Default `/sync`. */
  readonly routePrefix?: string;
  /**
   * Keep a replica of every space (an engine on `storage` that applies each pushed op in clock
   * order, as devices do: server/sync-replica.ts). Default true; false stores and serves ops only.
   */
  readonly replica?: boolean;
}

const caller = (auth: Authenticated): SyncCaller => ({ userId: auth.user.id, accountDeviceId: auth.device.id });

/** Snapshots streamed at once (each reads a space a few megabytes at a time); more get 429. */
const MAX_SNAPSHOTS = 4;
/** Partial replicas read at once (one per user). */
const MAX_PARTIALS = 4;
/** The longest a snapshot may take to send. */
const SNAPSHOT_DEADLINE_MS = 10 * 60_000;

/** Resolves when a stream can take more, or is gone (no listener left behind). */
function drained(out: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
  });
}

function spaceOf(params: { readonly space: string }): string {
  const space = params.space;
  if (!isSpaceId(space)) throw new SyncError("BAD_BATCH", `space must be a UUID, got ${JSON.stringify(space).slice(0, 80)}`);
  return space.toLowerCase();
}

/** The tops a device says it holds: at most 1,000 `{ oid, vid }`. */
function checkHave(value: unknown): PartialTop[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 1000) throw new SyncError("BAD_BATCH", "have must list at most 1000 { oid, vid } tops");
  return value.map((t, i) => {
    const o = t as { oid?: unknown; vid?: unknown; entries?: unknown } | null;
    if (!o || !isSpaceId(o.oid) || typeof o.vid !== "string" || o.vid.length > 200 || (o.entries !== undefined && !Number.isSafeInteger(o.entries))) {
      throw new SyncError("BAD_BATCH", `have[${i}] must be { oid: uuid, vid, entries? }, got ${JSON.stringify(t)?.slice(0, 120)}`);
    }
    return { oid: o.oid.toLowerCase(), vid: o.vid, ...(typeof o.entries === "number" ? { entries: o.entries } : {}) };
  });
}

/** Typed JSON errors: sync codes, then accounts codes, then fastify's own (413 → TOO_LARGE). */
function syncErrors(error: FastifyError | SyncError | AccountsError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof SyncError) {
    void reply.status(SYNC_STATUS[error.code]).send({ error: { code: error.code, message: error.message, ...(error.opId === undefined ? {} : { opId: error.opId }), ...(error.refused ? { refused: error.refused } : {}), ...(error.partial ? { partial: true } : {}) } });
    return;
  }
  if (!(error instanceof AccountsError) && error.statusCode === 413) {
    void reply.status(413).send({ error: { code: "TOO_LARGE", message: error.message } });
    return;
  }
  if (!(error instanceof AccountsError) && error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    void reply.status(415).send({ error: { code: "BAD_BATCH", message: error.message } });
    return;
  }
  handleError(error as FastifyError, request, reply);
}

const plugin: FastifyPluginAsync<SyncPluginOptions> = async (app: FastifyInstance, options) => {
  if (!app.hasDecorator("authenticateRequest")) throw new Error("register accountsPlugin before syncPlugin");
  const { storage } = options;
  const now = options.now ?? Date.now;
  const quotas: SyncQuotas = { ...DEFAULT_QUOTAS, ...options.quotas };
  await migrateSyncStore(storage);
  const replica =
    options.replica === false
      ? undefined
      : await openSyncReplica(storage, { onError: (spaceId, error) => app.log.error({ spaceId, err: error }, "the replica could not apply a space's ops (retried on its next push)") });
  app.decorate("syncReplica", replica);
  const access = createSyncAccess(storage, replica);
  const hub = createSyncHub(
    (token) => app.accounts.authenticate(token),
    {
      ...(options.maxSocketsPerUser === undefined ? {} : { maxSocketsPerUser: options.maxSocketsPerUser }),
      ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }),
    },
    async (userId, spaceId) => void (await access.reach(userId, spaceId)),
  );
  app.decorate("syncHub", hub);
  if (replica) {
    // Spaces whose ops the replica had not all stored or applied when the server stopped, in turn
    // and in the background (requests are served meanwhile).
    const behind = await storage.query<{ space_id: string }>(
      `select s.space_id from sync_space s left join space e on e.space_id = s.space_id
        where coalesce(e.pulled, 0) < s.last_seq or exists (select 1 from op o where o.space_id = s.space_id and o.seq is null)`,
    );
    void replica.followAll(behind.map((r) => r.space_id));
  }
  const timers = [setInterval(() => void hub.revalidate(), options.revalidateMs ?? 30_000), setInterval(() => hub.ping(), options.pingMs ?? 30_000)];
  for (const t of timers) t.unref();
  // A revocation through this server's accounts (sign-out, device revoked, password reset or
  // change, account disabled) closes that user's sockets at once; nobody else's are re-checked.
  const unsubscribe = app.accounts.onSessionsRevoked((userId) => void hub.revalidateUser(userId));
  const invitations = { storage, poke: (spaceId: string, lastSeq: number) => hub.poke(spaceId, lastSeq), now };
  // An address proven just now gets the roles waiting for it.
  const unsubscribeVerified = app.accounts.onVerified((user) => {
    if (!replica) return;
    applyInvitationsFor({ ...invitations, replica }, user.email, user.id).catch((error: unknown) => app.log.error({ err: error, userId: user.id }, "invitations could not be applied"));
  });
  if (replica) {
    // Invitations a stop interrupted, and those whose address was verified meanwhile.
    void resumeInvitations({ ...invitations, replica }, async (email) => {
      const user = await app.accounts.findUserByEmail(email);
      return user?.state === "verified" ? user.id : undefined;
    }).catch((error: unknown) => app.log.error({ err: error }, "invitations could not be resumed"));
  }
  app.addHook("onClose", async () => {
    for (const t of timers) clearInterval(t);
    unsubscribe();
    unsubscribeVerified();
    hub.closeAll();
    await replica?.close();
  });
  await app.register(websocket, { options: { maxPayload: 4096 } });
  const prefix = options.routePrefix ?? "/sync";
  let snapshots = 0;
  let partials = 0;
  const partialsOf = new Set<string>();

  await app.register(
    async (sync) => {
      sync.setErrorHandler(syncErrors);
      // Answers carry a user's ops: no cache may keep them.
      sync.addHook("onSend", async (_request, reply, payload) => {
        void reply.header("cache-control", "no-store");
        return payload;
      });

      sync.post<{ Params: { space: string } }>("/:space/push", { bodyLimit: LIMITS.maxBatchBytes }, async (request) => {
        const auth = await app.authenticateRequest(request);
        const spaceId = spaceOf(request.params);
        const batch = bindActors(checkPushBatch(request.body, now()), auth.user.id);
        const { member } = await access.push(caller(auth), spaceId, batch);
        const result = await pushOps(storage, caller(auth), spaceId, batch, now(), quotas, { member });
        if (result.accepted > 0) {
          hub.poke(spaceId, result.lastSeq);
          replica?.follow(spaceId);
          // Whose entries changed: their sockets are re-checked once the replica holds the change.
          const named = new Set(batch.ops.filter((op) => op.kind === "share" && typeof op.data["user"] === "string").map((op) => op.data["user"] as string));
          if (named.size > 0 && replica) {
            void replica
              .caughtUp(spaceId)
              .catch(() => {})
              .then(() => Promise.all([...named].map((u) => hub.recheckAccess(u))));
          }
        }
        return result;
      });

      // A space exists on the server once its creator says so; it is theirs (idempotent).
      sync.post<{ Body: unknown }>("/spaces", async (request, reply): Promise<CreateSpaceResult> => {
        const auth = await app.authenticateRequest(request);
        const body = request.body as { spaceId?: unknown } | null;
        const spaceId = body !== null && typeof body === "object" ? body.spaceId : undefined;
        if (!isSpaceId(spaceId)) throw new SyncError("BAD_BATCH", `spaceId must be a UUID, got ${JSON.stringify(spaceId)?.slice(0, 80)}`);
        const result = await createSyncSpace(storage, caller(auth), spaceId.toLowerCase(), now(), quotas);
        void reply.status(result.created ? 201 : 200);
        return result;
      });

      sync.get<{ Params: { space: string }; Querystring: { after?: string; limit?: string } }>("/:space/pull", async (request) => {
        const auth = await app.authenticateRequest(request);
        const spaceId = spaceOf(request.params);
        const { after, limit } = checkPullQuery(request.query.after, request.query.limit);
        const { member } = await access.read(auth.user.id, spaceId);
        return pullOps(storage, caller(auth), spaceId, after, limit, { member });
      });

      /**
       * Streams frames to the device while the replica is held as `exclusive` says (PGlite, or a
       * read that is not one pinned moment), with backpressure and a deadline.
       */
      const streamFrames = (request: FastifyRequest, reply: FastifyReply, spaceId: string, frames: () => AsyncIterable<SnapshotFrame>, exclusive: boolean) => {
        if (snapshots >= MAX_SNAPSHOTS) throw new SyncError("RATE_LIMITED", `${MAX_SNAPSHOTS} snapshots are being sent: try again soon`);
        snapshots++;
        const out = new PassThrough();
        // A device that reads too slowly gives the space (PGlite) and the connection back.
        const deadline = setTimeout(() => out.destroy(new Error("snapshot deadline passed")), SNAPSHOT_DEADLINE_MS);
        deadline.unref();
        const reading = <T>(fn: () => Promise<T>) => (exclusive ? replica!.exclusive(spaceId, fn) : fn());
        void reading(async () => {
          for await (const frame of frames()) {
            if (out.destroyed) return;
            // Backpressure: a slow device holds the read, not the server's memory.
            if (!out.write(encodeSnapshotFrame(frame))) await drained(out);
          }
          out.end();
        })
          .catch((error: unknown) => {
            request.log.error({ spaceId, err: error }, "snapshot failed");
            out.destroy(error as Error);
          })
          .finally(() => {
            clearTimeout(deadline);
            snapshots--;
          });
        void reply.header("content-type", "application/octet-stream");
        return reply.send(out);
      };

      /**
       * Frames read whole (under the replica's round lock when `exclusive`), then sent from memory:
       * a slow reader never holds the space, and a refusal found while reading is a status.
       */
      const sendWhole = async (reply: FastifyReply, spaceId: string, frames: () => AsyncIterable<SnapshotFrame>, exclusive: boolean) => {
        const out: Buffer[] = [];
        const read = async () => {
          for await (const frame of frames()) out.push(encodeSnapshotFrame(frame));
        };
        await (exclusive ? replica!.exclusive(spaceId, read) : read());
        void reply.header("content-type", "application/octet-stream");
        return reply.send(Buffer.concat(out));
      };

      /** The replica holds every op stored so far, or `refusal` (logged): what a copy of its rows waits for. */
      const caughtUpOr = async (request: FastifyRequest, spaceId: string, refusal: SyncError) => {
        try {
          await replica!.caughtUp(spaceId);
        } catch (error) {
          request.log.error({ spaceId, err: error }, "the replica cannot serve a copy of its rows");
          throw refusal;
        }
      };

      // A joining device copies the replica's rows instead of replaying the space's history.
      sync.get<{ Params: { space: string } }>("/:space/snapshot", async (request, reply) => {
        const auth = await app.authenticateRequest(request);
        const spaceId = spaceOf(request.params);
        await access.read(auth.user.id, spaceId);
        if (!replica) throw new SyncError("NOT_FOUND", `this server keeps no replica of space ${spaceId}: replay its ops`);
        // Caught up before the answer starts: a replica that cannot apply the space says so with a
        // status (the device replays), not with a stream cut short.
        await caughtUpOr(request, spaceId, new SyncError("NOT_FOUND", `the replica of space ${spaceId} cannot serve it now: replay its ops`));
        // A pinned read (Postgres) sees one moment while the replica goes on following pushes, so
        // members are not kept waiting; without one (PGlite) rounds wait for the download.
        return streamFrames(request, reply, spaceId, () => replica.engine.exportSnapshot(spaceId), !replica.readsAlongside);
      });

      // One version of one subtree with its history up to it (engine/subtree-snapshot.ts): read
      // whole before the answer (a missing version or a hidden objective is a status, not a cut
      // stream), then sent from memory. Counted with the snapshots.
      sync.get<{ Params: { space: string; oid: string; vid: string } }>("/:space/subtree/:oid/:vid", async (request, reply) => {
        const auth = await app.authenticateRequest(request);
        const spaceId = spaceOf(request.params);
        const { oid, vid } = request.params;
        if (!isSpaceId(oid)) throw new SyncError("BAD_BATCH", `oid must be a UUID, got ${JSON.stringify(oid).slice(0, 80)}`);
        if (!isVid(vid)) throw new SyncError("BAD_BATCH", `vid must be a version id, got ${JSON.stringify(vid).slice(0, 80)}`);
        const { hidden } = await access.subtree(auth.user.id, spaceId, oid.toLowerCase());
        if (!replica) throw new SyncError("NOT_FOUND", `this server keeps no replica of space ${spaceId}: it cannot copy part of it`);
        // A version pushed a moment ago is on the replica before it is looked for.
        await caughtUpOr(request, spaceId, new SyncError("UNAVAILABLE", `the replica of space ${spaceId} cannot serve it now: try again later`));
        if (snapshots >= MAX_SNAPSHOTS) throw new SyncError("RATE_LIMITED", `${MAX_SNAPSHOTS} snapshots are being sent: try again soon`);
        snapshots++;
        try {
          return await sendWhole(reply, spaceId, () => replica.engine.exportSubtree(spaceId, oid, vid, { hidden }), !replica.readsAlongside).catch((error: unknown) => {
            if (error instanceof EngineError && (error.code === "NOT_FOUND" || error.code === "FORBIDDEN")) throw new SyncError(error.code, error.message);
            throw error;
          });
        } finally {
          snapshots--;
        }
      });

      // A member who may read part of the space: the subtrees they read (tops) and their vids, which
      // the device compares with its own, then their current state (engine/partial-replica.ts).
      /** The caller, the space and the replica, for a member (partial or not) of it. */
      const partialRequest = async (request: FastifyRequest<{ Params: { space: string } }>) => {
        const auth = await app.authenticateRequest(request);
        const spaceId = spaceOf(request.params);
        await access.reach(auth.user.id, spaceId);
        if (!replica) throw new SyncError("NOT_FOUND", `this server keeps no replica of space ${spaceId}: it cannot serve part of it`);
        return { userId: auth.user.id, spaceId, replica };
      };
      sync.get<{ Params: { space: string } }>("/:space/tops", async (request): Promise<PartialTops> => {
        const { userId, spaceId, replica } = await partialRequest(request);
        // Committed state (every round is a transaction of its own): no lock to wait for.
        return replica.engine.partialTops(spaceId, userId);
      });
      // POST: the body lists the tops the device holds (`have`, with their vids): those are not sent again.
      sync.post<{ Params: { space: string }; Body: unknown }>("/:space/partial", async (request, reply) => {
        const { userId, spaceId, replica } = await partialRequest(request);
        const have = checkHave((request.body as { have?: unknown } | null)?.have);
        // One at a time per user, a few at once in all; the export is read while no round runs and
        // sent from memory afterwards (~215 B a row), so a slow reader never holds the space.
        if (partials >= MAX_PARTIALS || partialsOf.has(userId)) throw new SyncError("RATE_LIMITED", `partial replicas are being sent (at most one per user, ${MAX_PARTIALS} in all): try again soon`);
        partials++;
        partialsOf.add(userId);
        try {
          return await sendWhole(reply, spaceId, () => replica.engine.exportPartial(spaceId, userId, have), true);
        } finally {
          partials--;
          partialsOf.delete(userId);
        }
      });

      invitationRoutes(sync, app, { ...invitations, replica, spaceOf });

      // A device registers its engine device id (before its first push), or, signed in again after
      // its accounts device was revoked, takes it back.
      sync.post<{ Params: { device: string } }>("/devices/:device/bind", async (request): Promise<BindResult> => {
        const auth = await app.authenticateRequest(request);
        const device = request.params.device;
        if (!isDeviceId(device)) throw new SyncError("BAD_BATCH", `device must be a device id, got ${JSON.stringify(device).slice(0, 80)}`);
        const active = new Set((await app.accounts.listDevices(auth.user.id)).map((d) => d.id));
        const result = await bindDevice(storage, caller(auth), device, active, now());
        if (result.rebound) request.log.info({ device, accountDeviceId: result.accountDeviceId, userId: auth.user.id }, "engine device rebound");
        return { ...result, userId: auth.user.id };
      });

      const sockets = new WeakMap<FastifyRequest, { auth: Authenticated; token: string; spaces: string[]; member: boolean }>();
      sync.get<{ Querystring: { spaces?: string } }>(
        "/ws",
        {
          websocket: true,
          // Refused before the upgrade: a plain 401/403/400/429 answer, no socket.
          preValidation: async (request) => {
            const auth = await app.authenticateRequest(request);
            const over = hub.refusal(auth.user.id);
            if (over) throw new SyncError(over.code, over.message);
            const spaces = (request.query.spaces ?? "").split(",").filter((s) => s !== "");
            if (spaces.length === 0 || spaces.length > 100) throw new SyncError("BAD_BATCH", `spaces must list 1..100 space ids, got ${JSON.stringify(request.query.spaces ?? "").slice(0, 120)}`);
            let member = false;
            for (const s of spaces) {
              if (!isSpaceId(s)) throw new SyncError("BAD_BATCH", `space must be a UUID, got ${JSON.stringify(s).slice(0, 80)}`);
              if ((await access.reach(auth.user.id, s.toLowerCase())).member) member = true;
            }
            sockets.set(request, { auth, token: sessionTokenFrom(request)!, spaces: spaces.map((s) => s.toLowerCase()), member });
          },
        },
        (socket, request) => {
          const s = sockets.get(request)!;
          // Devices only listen; anything they send is ignored.
          socket.on("message", () => {});
          hub.add({ socket, token: s.token, userId: s.auth.user.id, spaces: new Set(s.spaces), member: s.member });
          // A revoke applied between the check before the upgrade and now closes it here.
          if (s.member) void hub.recheckAccess(s.auth.user.id);
        },
      );
    },
    { prefix },
  );
};

Object.assign(plugin, { [Symbol.for("skip-override")]: true, [Symbol.for("fastify.display-name")]: "logbook-sync" });

/**
 * Registers the sync routes and socket (needs `accountsPlugin` registered first), creating the
 * sync tables on `storage` if missing.
 *
 * @example
 * const app = await createServer({ accounts });
 * await app.register(syncPlugin, { storage: await postgres({ connectionString }).open() });
 * await app.listen({ host: "127.0.0.1", port: 8787 });
 */
export const syncPlugin: FastifyPluginAsync<SyncPluginOptions> = plugin;
