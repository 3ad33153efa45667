/**
 * Who may push to, pull from and listen to a space (docs/collaboration.md, "On the server"). The
 * space's creator owns it (its log, its quota); other users reach it through the entries the
 * space's own ops made, which the server reads from its replica (server/sync-replica.ts):
 *
 * - **push**: the owner and every member (a role that reads something); every op is checked against
 *   its actor's role where it acts (`engine.checkOps`), and a batch with one refused op is refused
 *   whole with 403 `FORBIDDEN`, storing nothing. Documents (roots) are made by the owner only: a
 *   member works inside what is shared with them, so the owner creates, and reads, every document.
 * - **pull, snapshot, socket**: the owner, and members who read the whole space (every document,
 *   nothing hidden): a device holds a whole replica, so a member who may read only part of the
 *   space is refused (`FORBIDDEN`) until partial replicas exist.
 *
 * The replica follows pushes in the background: a member is judged on a caught-up replica (a move,
 * grant or revoke pushed a moment ago counts), the owner on the replica as it is, and again once it
 * caught up before a refusal is answered. What slips through a race is refused where it matters:
 * in clock order, by every device's replay and the replica's.
 */
import { SyncError, type PushBatch } from "../sync/protocol.js";
import type { Storage } from "../storage/contract.js";
import type { SyncReplica } from "./sync-replica.js";
import type { SyncCaller } from "./sync-store.js";

/** The access checks of one server. */
export interface SyncAccess {
  /**
   * Whether the caller may push this batch (its actors bound to the caller): resolves to
   * `member` when the caller is not the owner; throws `NOT_FOUND` or `FORBIDDEN` naming the op.
   */
  push(caller: SyncCaller, spaceId: string, batch: PushBatch): Promise<{ readonly member: boolean }>;
  /** Whether the user may read the whole log: resolves as `push`; throws `NOT_FOUND` or `FORBIDDEN`. */
  read(userId: string, spaceId: string): Promise<{ readonly member: boolean }>;
}

/** The checks over the sync store's `storage` and the server's replica (none: only owners sync). */
export function createSyncAccess(storage: Storage, replica: SyncReplica | undefined): SyncAccess {
  const ownerOf = async (spaceId: string, hint = ""): Promise<string> => {
    const [space] = await storage.query<{ owner_user_id: string }>("select owner_user_id from sync_space where space_id = $1", [spaceId]);
    if (!space) throw new SyncError("NOT_FOUND", `space ${spaceId} does not exist on this server${hint}`);
    return space.owner_user_id;
  };
  const noReplica = (userId: string, spaceId: string) =>
    new SyncError("FORBIDDEN", `space ${spaceId} belongs to another user, and this server keeps no replica to check user ${userId}'s role there`);
  /** The replica holds every op stored so far (one that cannot apply them leaves the check to replay). */
  const caughtUp = (spaceId: string) => replica?.caughtUp(spaceId).catch(() => {});
  /** Asks, and asks again once the replica holds every op stored so far when the answer is no. */
  const confirmed = async <T>(spaceId: string, ask: () => Promise<T | undefined>): Promise<T | undefined> => {
    const first = await ask();
    if (first === undefined || !replica) return first;
    await caughtUp(spaceId);
    return ask();
  };
  return {
    async push(caller, spaceId, batch) {
      const owner = await ownerOf(spaceId, ": create it first (POST /sync/spaces)");
      const member = owner !== caller.userId;
      if (!replica) {
        if (member) throw noReplica(caller.userId, spaceId);
        return { member };
      }
      const engine = replica.engine;
      if (member) {
        const root = batch.ops.findIndex((op) => op.kind === "createDocument" || (op.kind === "import" && (op.data["parentOid"] ?? null) === null));
        if (root >= 0) {
          const op = batch.ops[root]!;
          throw new SyncError("FORBIDDEN", `ops[${root}] (${op.kind} ${op.opId}): user ${caller.userId} may not make documents in space ${spaceId}: only its owner does`, { opId: op.opId });
        }
        // A member is judged on every op stored so far (a move or a revoke pushed a moment ago).
        await caughtUp(spaceId);
        if (!(await engine.accessOf(spaceId, caller.userId)).member) throw new SyncError("FORBIDDEN", `user ${caller.userId} has no role in space ${spaceId}`);
      }
      // The owner's op kinds from a newer client are kept (replicas skip them alike), and their old
      // clocks cost only their own space; a member's are refused. The owner's batch is checked on
      // the replica as it is, and again once it caught up when that refuses.
      const check = () => engine.checkOps(spaceId, batch.ops, { passUnknownKinds: !member, anyClock: !member });
      const refused = member ? await check() : await confirmed(spaceId, check);
      // Named, so the device withdraws that op and pushes the rest (sync/sync-client.ts).
      if (refused) throw new SyncError("FORBIDDEN", refused.message, { opId: refused.opId });
      return { member };
    },
    async read(userId, spaceId) {
      const owner = await ownerOf(spaceId);
      if (owner === userId) return { member: false };
      if (!replica) throw noReplica(userId, spaceId);
      // On every op stored so far: a revoke pushed a moment ago counts.
      await caughtUp(spaceId);
      const reach = await replica.engine.accessOf(spaceId, userId);
      const why = !reach.member
        ? `user ${userId} has no role in space ${spaceId}`
        : !reach.readsAll
          ? `user ${userId} may read only part of space ${spaceId}, and a device holds all of it (partial replicas are not served yet)`
          : undefined;
      if (why) throw new SyncError("FORBIDDEN", why);
      return { member: true };
    },
  };
}
