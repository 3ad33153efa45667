/**
 * Who may push to, pull from and listen to a space (docs/collaboration.md, "On the server"). The
 * space's creator owns it (its log, its quota); other users reach it through the entries the
 * space's own ops made, which the server reads from its replica (server/sync-replica.ts):
 *
 * - **push**: the owner and every member (a role that reads something); every op is checked against
 *   its actor's role where it acts (`engine.refusedOps`), and a batch with refused ops is refused
 *   whole with 403 `FORBIDDEN` listing them, storing nothing. Documents (roots) are made by the
 *   owner only: a member works inside what is shared with them.
 * - **pull, snapshot**: the owner, and members who read the whole space (every document, nothing
 *   hidden). A member who may read only part of it gets `FORBIDDEN` with `partial`: their device
 *   holds a partial replica (`reach`: tops, partial; engine/partial-replica.ts).
 * - **socket**: the owner and every member (`reach`).
 *
 * The replica follows pushes in the background: a member is judged on a caught-up replica (a move,
 * grant or revoke pushed a moment ago counts), the owner on the replica as it is, and again once it
 * caught up before a refusal is answered. What slips through a race is refused where it matters:
 * in clock order, by every device's replay and the replica's.
 */
import { SyncError, type PushBatch } from "../sync/protocol.js";
import type { OpRefusal } from "../engine/check-ops.js";
import type { SpaceAccess } from "../engine/space-access.js";
import { allows } from "../engine/roles.js";
import type { Storage } from "../storage/contract.js";
import type { SyncReplica } from "./sync-replica.js";
import type { SyncCaller } from "./sync-store.js";

/** How long a member's request waits for the replica to catch up before it is UNAVAILABLE. */
const CATCH_UP_MS = 5_000;

/** A push's 403: the first refusal is the message, every refused op is listed (the device withdraws them all). */
function forbidden(refused: readonly OpRefusal[]): SyncError {
  const more = refused.length > 1 ? ` (and ${refused.length - 1} more ops of the batch)` : "";
  return new SyncError("FORBIDDEN", `${refused[0]!.message}${more}`, { refused: refused.map((r) => ({ opId: r.opId, message: r.message })) });
}

/** The access checks of one server. */
export interface SyncAccess {
  /**
   * Whether the caller may push this batch (its actors bound to the caller): resolves to
   * `member` when the caller is not the owner; throws `NOT_FOUND` or `FORBIDDEN` naming the op.
   */
  push(caller: SyncCaller, spaceId: string, batch: PushBatch): Promise<{ readonly member: boolean }>;
  /**
   * Whether the user may read the whole log: resolves as `push`; throws `NOT_FOUND` or `FORBIDDEN`
   * (with `partial` when they may read part of it: their device holds a partial replica).
   */
  read(userId: string, spaceId: string): Promise<{ readonly member: boolean }>;
  /** Whether the user may read any of the space (its owner, or a member: partial replicas, sockets). */
  reach(userId: string, spaceId: string): Promise<{ readonly member: boolean }>;
  /**
   * Whether the user may copy the subtree of `oid` (a subtree snapshot): the owner and whole-space
   * readers may; a member only where their role reads `oid` as it stands now, and never what a
   * `none` entry of theirs hides (`hidden`: the export refuses a version that reaches one).
   * FORBIDDEN naming the objective otherwise.
   */
  subtree(userId: string, spaceId: string, oid: string): Promise<{ readonly hidden: ReadonlySet<string> }>;
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
  /**
   * The replica holds every op stored so far, or UNAVAILABLE: it cannot apply the space's ops now,
   * or does not within `CATCH_UP_MS` (on PGlite, a snapshot being read holds the space): the client retries.
   */
  const caughtUp = async (spaceId: string): Promise<void> => {
    if (!replica) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SyncError("UNAVAILABLE", `the replica of space ${spaceId} is busy: try again soon`)), CATCH_UP_MS);
      timer.unref();
    });
    try {
      await Promise.race([replica.caughtUp(spaceId), late]);
    } catch (error) {
      if (error instanceof SyncError) throw error;
      throw new SyncError("UNAVAILABLE", `the replica of space ${spaceId} cannot check roles now: try again later`);
    } finally {
      clearTimeout(timer);
    }
  };
  /** Asks, and asks again once the replica caught up when the answer is no (as it was, if it cannot). */
  const confirmed = async <T>(spaceId: string, ask: () => Promise<T | undefined>): Promise<T | undefined> => {
    const first = await ask();
    if (first === undefined || !replica) return first;
    try {
      await caughtUp(spaceId);
    } catch {
      return first;
    }
    return ask();
  };
  /** The batch's ops the server does not hold yet (a retried push is judged on what is new). */
  const unstored = async (spaceId: string, ops: PushBatch["ops"]): Promise<PushBatch["ops"]> => {
    const held = new Set(
      (await storage.query<{ op_id: string }>("select op_id from sync_op where space_id = $1 and op_id = any($2::text[])", [spaceId, ops.map((o) => o.opId)])).map((r) => r.op_id),
    );
    return held.size === 0 ? ops : ops.filter((o) => !held.has(o.opId));
  };
  /**
   * A member's device pushes its ops in clock order: a new op older than one the device pushed
   * before is refused (a backdated clock would make every replica undo and redo what followed it).
   */
  const inClockOrder = async (spaceId: string, device: string, ops: PushBatch["ops"]): Promise<void> => {
    const [row] = await storage.query<{ hlc: string | null }>("select max(hlc) as hlc from sync_op where space_id = $1 and device = $2", [spaceId, device]);
    const newest = row?.hlc ?? null;
    if (newest === null) return;
    const early = ops.flatMap((op, index) =>
      op.hlc <= newest ? [{ index, opId: op.opId, message: `ops[${index}] (${op.kind} ${op.opId}): its clock ${op.hlc} is older than ops device ${device} pushed before (${newest})` }] : [],
    );
    if (early.length > 0) throw forbidden(early);
  };
  /** The space's owner, or a member's reach on the caught-up replica; FORBIDDEN for anyone else. */
  const memberReach = async (userId: string, spaceId: string): Promise<"owner" | SpaceAccess> => {
    if ((await ownerOf(spaceId)) === userId) return "owner";
    if (!replica) throw noReplica(userId, spaceId);
    // On every op stored so far: a revoke pushed a moment ago counts.
    await caughtUp(spaceId);
    const reach = await replica.engine.accessOf(spaceId, userId);
    if (!reach.member) throw new SyncError("FORBIDDEN", `user ${userId} has no role in space ${spaceId}`);
    return reach;
  };
  return {
    async push(caller, spaceId, checked) {
      const owner = await ownerOf(spaceId, ": create it first (POST /sync/spaces)");
      const member = owner !== caller.userId;
      if (!replica) {
        if (member) throw noReplica(caller.userId, spaceId);
        return { member };
      }
      const engine = replica.engine;
      if (!member) {
        // The owner can be refused only where an entry names them (they made every document):
        // with none, nothing to check, and their push pays this one probe.
        const [named] = await storage.query("select 1 from share where space_id = $1 and user_id = $2 limit 1", [spaceId, caller.userId]);
        if (!named) return { member };
      }
      const ops = await unstored(spaceId, checked.ops);
      if (ops.length === 0) return { member };
      if (member) {
        const root = ops.findIndex((op) => op.kind === "createDocument" || (op.kind === "import" && (op.data["parentOid"] ?? null) === null));
        if (root >= 0) {
          const op = ops[root]!;
          throw new SyncError("FORBIDDEN", `${op.kind} ${op.opId}: user ${caller.userId} may not make documents in space ${spaceId}: only its owner does`, { opId: op.opId });
        }
        await inClockOrder(spaceId, checked.device, ops);
        // A member is judged on every op stored so far (a move or a revoke pushed a moment ago).
        await caughtUp(spaceId);
        if (!(await engine.accessOf(spaceId, caller.userId)).member) throw new SyncError("FORBIDDEN", `user ${caller.userId} has no role in space ${spaceId}`);
        const refused = await engine.refusedOps(spaceId, ops);
        // Named, so the device withdraws those ops at once and pushes the rest (sync/sync-client.ts).
        if (refused.length > 0) throw forbidden(refused);
        return { member };
      }
      // The owner's op kinds from a newer client are kept (replicas skip them alike), and their old
      // clocks cost only their own space. Checked on the replica as it is, and again once it
      // caught up when that refuses.
      const refused = await confirmed(spaceId, async () => {
        const all = await engine.refusedOps(spaceId, ops, { passUnknownKinds: true, anyClock: true });
        return all.length > 0 ? all : undefined;
      });
      if (refused) throw forbidden(refused);
      return { member };
    },
    async read(userId, spaceId) {
      const reach = await memberReach(userId, spaceId);
      if (reach === "owner") return { member: false };
      if (!reach.readsAll) {
        throw new SyncError("FORBIDDEN", `user ${userId} may read only part of space ${spaceId}: their device holds a partial replica (GET tops, partial)`, { partial: true });
      }
      return { member: true };
    },
    async reach(userId, spaceId) {
      return { member: (await memberReach(userId, spaceId)) !== "owner" };
    },
    async subtree(userId, spaceId, oid) {
      const reach = await memberReach(userId, spaceId);
      if (reach === "owner" || reach.readsAll) return { hidden: new Set() };
      const refuse = () => new SyncError("FORBIDDEN", `user ${userId} may not read objective ${oid} of space ${spaceId}`);
      // Its place now (nearest first): the role there is the nearest entry's.
      const at = await replica!.engine.get(spaceId, oid).catch(() => undefined);
      if (!at) throw refuse();
      const roles = new Map(reach.entries.map((e) => [e.oid.toLowerCase(), e.role]));
      const role = [oid, ...[...(at.path ?? [])].reverse()].map((o) => roles.get(o.toLowerCase())).find((r) => r !== undefined);
      if (!allows(role, "read")) throw refuse();
      return { hidden: new Set(reach.entries.filter((e) => e.role === "none").map((e) => e.oid.toLowerCase())) };
    },
  };
}
