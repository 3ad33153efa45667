/**
 * Invitations by e-mail (docs/collaboration.md, "Invitations"): a manager gives a role on a subtree
 * to an address. An address with a verified account gets the role at once; any other gets it when
 * its account is verified (`accounts.onVerified`). Either way a mail goes to the address through
 * the accounts transport.
 *
 * A role is an entry, and entries are ops (engine/share.ts): the server's replica makes the `share`
 * op for the manager who invited (`replica.originate`), numbered and stored like a pushed op, so
 * every device replays it in clock order like any other.
 */
import { randomUUID } from "node:crypto";
import type { MailMessage } from "../accounts/index.js";
import type { Storage } from "../storage/contract.js";
import { SyncError, type Invitation, type InvitedRole } from "../sync/protocol.js";

export type { Invitation, InvitedRole };
import type { SyncReplica } from "./sync-replica.js";

type Row = {
  id: string;
  space_id: string;
  oid: string;
  email: string;
  role: InvitedRole;
  invited_by: string;
  created_at: number | string;
  applied_at: number | string | null;
  outcome: "applied" | "refused" | null;
};

const toInvitation = (r: Row): Invitation => ({
  id: r.id,
  spaceId: r.space_id,
  oid: r.oid,
  email: r.email,
  role: r.role,
  invitedBy: r.invited_by,
  createdAt: Number(r.created_at),
  appliedAt: r.applied_at === null ? null : Number(r.applied_at),
  outcome: r.outcome,
});

const COLUMNS = "id::text as id, space_id::text as space_id, oid::text as oid, email, role, invited_by, created_at, applied_at, outcome";

/** The mail an invited address gets. */
export function invitationMail(product: string, to: string, inviter: string, hasAccount: boolean): MailMessage {
  return {
    to,
    subject: `${inviter} shared an outline with you on ${product}`,
    text: [
      "Hello,",
      "",
      `${inviter} shared part of an outline with this address on ${product}.`,
      hasAccount
        ? "It is in your account now: open it on any of your devices."
        : `Sign up on ${product} with this address; once you confirm it, the outline is yours to open.`,
      "",
      "If you did not expect this, you can ignore this mail.",
    ].join("\n"),
  };
}

/** What applying invitations needs. */
export interface InvitationDeps {
  readonly storage: Storage;
  readonly replica: SyncReplica;
  /** Pokes the space's listening sockets after the replica made an op. */
  readonly poke: (spaceId: string, lastSeq: number) => void;
  readonly now: () => number;
}

/** Invitations a space may have waiting at once: a ceiling on the mail a manager can make the server send. */
export const MAX_WAITING_INVITATIONS = 200;

/**
 * The invitation already waiting for the same address, objective and role (asked again: no second
 * mail), or undefined; QUOTA_EXCEEDED when the space has `MAX_WAITING_INVITATIONS` waiting.
 */
export async function waitingLike(storage: Storage, spaceId: string, oid: string, email: string, role: InvitedRole): Promise<Invitation | undefined> {
  const [same] = await storage.query<Row>(
    `select ${COLUMNS} from sync_invitation where space_id = $1 and oid = $2 and email = $3 and role = $4 and applied_at is null limit 1`,
    [spaceId, oid, email, role],
  );
  if (same) return toInvitation(same);
  const [count] = await storage.query<{ n: number | string }>("select count(*) as n from sync_invitation where space_id = $1 and applied_at is null", [spaceId]);
  if (Number(count!.n) >= MAX_WAITING_INVITATIONS) {
    throw new SyncError("QUOTA_EXCEEDED", `space ${spaceId} has ${count!.n} invitations waiting; withdraw some first (at most ${MAX_WAITING_INVITATIONS})`);
  }
  return undefined;
}

/** Records an invitation (the caller checked the inviter's role). */
export async function createInvitation(deps: Pick<InvitationDeps, "storage" | "now">, input: Omit<Invitation, "id" | "createdAt" | "appliedAt" | "outcome">): Promise<Invitation> {
  const [row] = await deps.storage.query<Row>(
    `insert into sync_invitation (id, space_id, oid, email, role, invited_by, created_at) values ($1, $2, $3, $4, $5, $6, $7) returning ${COLUMNS}`,
    [randomUUID(), input.spaceId, input.oid, input.email, input.role, input.invitedBy, deps.now()],
  );
  return toInvitation(row!);
}

/** The invitations of a space, newest first. */
export async function listInvitations(storage: Storage, spaceId: string): Promise<Invitation[]> {
  return (await storage.query<Row>(`select ${COLUMNS} from sync_invitation where space_id = $1 order by created_at desc, id`, [spaceId])).map(toInvitation);
}

/** One invitation of a space, or NOT_FOUND. */
export async function invitationOf(storage: Storage, spaceId: string, id: string): Promise<Invitation> {
  const [row] = await storage.query<Row>(`select ${COLUMNS} from sync_invitation where space_id = $1 and id = $2`, [spaceId, id]);
  if (!row) throw new SyncError("NOT_FOUND", `space ${spaceId} has no invitation ${id}`);
  return toInvitation(row);
}

/** Withdraws an invitation still waiting; CONFLICT once it became a role (take that away with a share). */
export async function deleteInvitation(storage: Storage, spaceId: string, id: string): Promise<void> {
  const gone = await storage.query("delete from sync_invitation where space_id = $1 and id = $2 and applied_at is null returning id", [spaceId, id]);
  if (gone.length > 0) return;
  const found = await invitationOf(storage, spaceId, id);
  throw new SyncError("CONFLICT", `invitation ${id} became a role of ${found.email} already: take it away by sharing ${found.oid} with role null`);
}

/**
 * Turns an invitation into a role of `userId`: the replica makes the share op for the inviter.
 * `refused` when the inviter may no longer share there (or the objective is gone); the invitation
 * is marked either way, once (a second call does nothing).
 */
export async function applyInvitation(deps: InvitationDeps, invitation: Invitation, userId: string): Promise<Invitation["outcome"]> {
  const claimed = await deps.storage.query("update sync_invitation set applied_at = $2 where id = $1 and applied_at is null returning id", [invitation.id, deps.now()]);
  if (claimed.length === 0) return null;
  let outcome: "applied" | "refused" = "applied";
  try {
    const last = await deps.replica.originate(invitation.spaceId, invitation.invitedBy, (engine) => engine.share(invitation.spaceId, invitation.oid, userId, invitation.role));
    if (last !== undefined) deps.poke(invitation.spaceId, last);
  } catch (error) {
    if (!(error instanceof Error && "code" in error && (error.code === "FORBIDDEN" || error.code === "NOT_FOUND"))) {
      // Not the invitation's fault (storage, shutdown): it waits for the next verification or call.
      await deps.storage.query("update sync_invitation set applied_at = null where id = $1", [invitation.id]);
      throw error;
    }
    outcome = "refused";
  }
  await deps.storage.query("update sync_invitation set outcome = $2 where id = $1", [invitation.id, outcome]);
  return outcome;
}

/** Applies every invitation waiting for `email` (its account was just verified), oldest first. */
export async function applyInvitationsFor(deps: InvitationDeps, email: string, userId: string): Promise<void> {
  const rows = await deps.storage.query<Row>(`select ${COLUMNS} from sync_invitation where email = $1 and applied_at is null order by created_at, id`, [email.toLowerCase()]);
  for (const row of rows) await applyInvitation(deps, toInvitation(row), userId);
}

/**
 * After a restart: invitations claimed but never finished (the server stopped in between) wait
 * again, and every waiting one whose address has a verified account now is applied.
 */
export async function resumeInvitations(deps: InvitationDeps, verifiedUserOf: (email: string) => Promise<string | undefined>): Promise<void> {
  await deps.storage.query("update sync_invitation set applied_at = null where applied_at is not null and outcome is null");
  const rows = await deps.storage.query<Row>(`select ${COLUMNS} from sync_invitation where applied_at is null order by created_at, id`);
  for (const row of rows) {
    const userId = await verifiedUserOf(row.email);
    if (userId !== undefined) await applyInvitation(deps, toInvitation(row), userId);
  }
}

/** Invitations one user may send in `INVITE_WINDOW_MS` (each may mail an address and make an op). */
export const INVITES_PER_WINDOW = 50;
const INVITE_WINDOW_MS = 60 * 60_000;

/** A per-inviter limit: RATE_LIMITED past `INVITES_PER_WINDOW` invitations in an hour. */
export function inviteLimiter(now: () => number): (userId: string) => void {
  const sent = new Map<string, number[]>();
  return (userId) => {
    const since = now() - INVITE_WINDOW_MS;
    const mine = (sent.get(userId) ?? []).filter((t) => t > since);
    if (mine.length >= INVITES_PER_WINDOW) {
      throw new SyncError("RATE_LIMITED", `user ${userId} sent ${mine.length} invitations in the last hour; the limit is ${INVITES_PER_WINDOW}`);
    }
    mine.push(now());
    sent.set(userId, mine);
  };
}
