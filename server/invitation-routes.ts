/**
 * The invitation routes of the sync server (docs/collaboration.md, "Invitations"):
 *
 * - `POST /sync/:space/invitations` `{ oid, email, role }`: a manager at `oid` invites an address
 *   (201 with the invitation; the role is given at once when the address has a verified account;
 *   the same invitation still waiting is answered as it is, with no second mail; 403
 *   `QUOTA_EXCEEDED` past `MAX_WAITING_INVITATIONS` waiting in the space, 429 `RATE_LIMITED`
 *   past `INVITES_PER_WINDOW` sent by one user in an hour);
 * - `GET /sync/:space/invitations`: the invitations on objectives the caller may share;
 * - `DELETE /sync/:space/invitations/:id`: withdraws one still waiting (204).
 */
import type { FastifyInstance } from "fastify";
import { parseEmail } from "../accounts/index.js";
import { isUuid } from "../engine/ids.js";
import { SyncError } from "../sync/protocol.js";
import type { SyncReplica } from "./sync-replica.js";
import {
  applyInvitation,
  createInvitation,
  deleteInvitation,
  invitationMail,
  invitationOf,
  listInvitations,
  type Invitation,
  type InvitationDeps,
  type InvitedRole,
  inviteLimiter,
  waitingLike,
} from "./sync-invitations.js";

const ROLES: ReadonlySet<string> = new Set(["manager", "collaborator", "viewer"]);

/** What the routes need besides the app (its accounts and `authenticateRequest`). */
export interface InvitationRouteDeps extends Omit<InvitationDeps, "replica"> {
  readonly replica: SyncReplica | undefined;
  /** The space's id from the route (checked), lowercase. */
  readonly spaceOf: (params: { space: string }) => string;
}

/** Registers the routes on the sync plugin's scope (its error handler and headers apply). */
export function invitationRoutes(sync: FastifyInstance, app: FastifyInstance, deps: InvitationRouteDeps): void {
  /** The replica, caught up on the space; invitations need one (roles are checked there). */
  const replicaFor = async (spaceId: string): Promise<SyncReplica> => {
    const replica = deps.replica;
    if (!replica) throw new SyncError("NOT_FOUND", `this server keeps no replica of space ${spaceId}: it cannot check roles for invitations`);
    await replica.caughtUp(spaceId);
    return replica;
  };
  /** FORBIDDEN unless `userId` may share `oid` (a manager there), NOT_FOUND unless it exists. */
  const checkManager = async (replica: SyncReplica, spaceId: string, oid: string, userId: string): Promise<void> => {
    await replica.engine.get(spaceId, oid).catch((error: unknown) => {
      if (error instanceof Error && "code" in error && error.code === "NOT_FOUND") throw new SyncError("NOT_FOUND", `space ${spaceId} has no objective ${oid}`);
      throw error;
    });
    const refused = await replica.engine.checkOps(spaceId, [{ opId: "invitation", kind: "share", oid, actor: userId, data: { user: "invited", role: "viewer" } }], { anyClock: true });
    if (refused) throw new SyncError("FORBIDDEN", `user ${userId} may not invite to objective ${oid}: only a manager there may`);
  };
  /**
   * The replica of a space the caller owns or is a member of (FORBIDDEN otherwise, before anything
   * about its objectives is told), caught up.
   */
  const memberReplica = async (spaceId: string, userId: string): Promise<SyncReplica> => {
    const [space] = await deps.storage.query<{ owner_user_id: string }>("select owner_user_id from sync_space where space_id = $1", [spaceId]);
    if (!space) throw new SyncError("NOT_FOUND", `space ${spaceId} does not exist on this server`);
    const replica = await replicaFor(spaceId);
    if (space.owner_user_id !== userId && !(await replica.engine.accessOf(spaceId, userId)).member) {
      throw new SyncError("FORBIDDEN", `user ${userId} has no role in space ${spaceId}`);
    }
    return replica;
  };
  const limit = inviteLimiter(deps.now);

  sync.post<{ Params: { space: string }; Body: unknown }>("/:space/invitations", async (request, reply): Promise<Invitation> => {
    const auth = await app.authenticateRequest(request);
    const spaceId = deps.spaceOf(request.params);
    const body = (request.body ?? {}) as { oid?: unknown; email?: unknown; role?: unknown };
    if (!isUuid(body.oid)) throw new SyncError("BAD_BATCH", `oid must be a UUID, got ${JSON.stringify(body.oid)?.slice(0, 80)}`);
    if (typeof body.role !== "string" || !ROLES.has(body.role)) throw new SyncError("BAD_BATCH", `role must be manager, collaborator or viewer, got ${JSON.stringify(body.role)?.slice(0, 80)}`);
    const email = parseEmail(body.email).normalized;
    const replica = await memberReplica(spaceId, auth.user.id);
    const oid = body.oid.toLowerCase();
    await checkManager(replica, spaceId, oid, auth.user.id);
    const role = body.role as InvitedRole;
    const invitee = await app.accounts.findUserByEmail(email);
    const verified = invitee?.state === "verified";
    const again = await waitingLike(deps.storage, spaceId, oid, email, role);
    if (again) {
      // Waiting still (its address was verified while the server could not apply it): now.
      if (verified) await applyInvitation({ ...deps, replica }, again, invitee.id);
      return invitationOf(deps.storage, spaceId, again.id);
    }
    limit(auth.user.id);
    const made = await createInvitation(deps, { spaceId, oid, email, role, invitedBy: auth.user.id });
    if (verified) await applyInvitation({ ...deps, replica }, made, invitee.id);
    app.accounts.sendMail(invitationMail(app.accounts.product, email, `${auth.user.firstName} (${auth.user.email})`, verified));
    void reply.status(201);
    return invitationOf(deps.storage, spaceId, made.id);
  });

  sync.get<{ Params: { space: string } }>("/:space/invitations", async (request): Promise<{ invitations: Invitation[] }> => {
    const auth = await app.authenticateRequest(request);
    const spaceId = deps.spaceOf(request.params);
    const replica = await memberReplica(spaceId, auth.user.id);
    const mine: Invitation[] = [];
    for (const inv of await listInvitations(deps.storage, spaceId)) {
      if (await checkManager(replica, spaceId, inv.oid, auth.user.id).then(() => true, () => false)) mine.push(inv);
    }
    return { invitations: mine };
  });

  sync.delete<{ Params: { space: string; id: string } }>("/:space/invitations/:id", async (request, reply) => {
    const auth = await app.authenticateRequest(request);
    const spaceId = deps.spaceOf(request.params);
    if (!isUuid(request.params.id)) throw new SyncError("BAD_BATCH", `invitation id must be a UUID, got ${JSON.stringify(request.params.id).slice(0, 80)}`);
    const replica = await memberReplica(spaceId, auth.user.id);
    const inv = await invitationOf(deps.storage, spaceId, request.params.id.toLowerCase());
    await checkManager(replica, spaceId, inv.oid, auth.user.id);
    await deleteInvitation(deps.storage, spaceId, inv.id);
    void reply.status(204);
  });
}
