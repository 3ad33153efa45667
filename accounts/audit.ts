/**
 * The audit trail: one row per security event (sign-in and its failures, sign-out, password
 * reset and change, device revocation, account state change), with the user, device and client
 * address where known. Never a secret, never user-chosen text.
 */
import type { Knex } from "knex";
import type { AccountsContext } from "./context.js";
import { AccountsError } from "./errors.js";
import { TABLES } from "./migrations.js";
import { num } from "./rows.js";
import { guarded } from "./store.js";
import { parseId } from "./validation.js";

/** What happened. */
export type AuditEvent =
  | "sign-in"
  | "sign-in-failed"
  | "sign-out"
  | "password-reset-requested"
  | "password-reset"
  | "password-changed"
  | "device-revoked"
  | "state-changed";

/** One entry of the trail. */
export interface AuditEntry {
  /** Increasing id (the order of the trail). */
  readonly id: number;
  /** When, epoch ms. */
  readonly at: number;
  readonly event: AuditEvent;
  readonly userId: string | null;
  /** The device signed in on, revoked, or whose session signed out. */
  readonly deviceId: string | null;
  /** The client address of the request, when the caller gave one. */
  readonly ip: string | null;
}

/** What a flow records; `at` is the context's clock. */
export type AuditRecord = Pick<AuditEntry, "event" | "userId"> & { readonly deviceId?: string | null; readonly ip?: string | undefined };

/** Appends an entry, inside the caller's transaction when given one. */
export async function recordAudit(ctx: AccountsContext, record: AuditRecord, trx?: Knex.Transaction): Promise<void> {
  const row = { at: ctx.now(), event: record.event, user_id: record.userId, device_id: record.deviceId ?? null, ip: record.ip ?? null };
  if (trx) await trx(TABLES.audit).insert(row);
  else await guarded("recording an audit event", () => ctx.db(TABLES.audit).insert(row));
}

/** Options of {@link auditTrail}. */
export interface AuditQuery {
  /** Only this user's entries. */
  readonly userId?: string;
  /** Entries older than this id (paging backwards). */
  readonly beforeId?: number;
  /** At most this many, newest first. Default 100, at most 1000. */
  readonly limit?: number;
}

/**
 * Reads the trail, newest first.
 *
 * @example
 * const page = await accounts.auditTrail({ userId, limit: 50 });
 * const older = await accounts.auditTrail({ userId, beforeId: page.at(-1)?.id, limit: 50 });
 */
export async function auditTrail(ctx: AccountsContext, query: AuditQuery = {}): Promise<readonly AuditEntry[]> {
  const limit = query.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new AccountsError("INVALID_ARGUMENT", `limit must be an integer in 1..1000, got ${String(limit)}`);
  if (query.beforeId !== undefined && (!Number.isSafeInteger(query.beforeId) || query.beforeId < 1)) {
    throw new AccountsError("INVALID_ARGUMENT", `beforeId must be a positive integer, got ${String(query.beforeId)}`);
  }
  const userId = query.userId === undefined ? undefined : parseId("userId", query.userId);
  const rows = await guarded("reading the audit trail", () => {
    const q = ctx.db(TABLES.audit).select("id", "at", "event", "user_id", "device_id", "ip").orderBy("id", "desc").limit(limit);
    if (userId !== undefined) q.where({ user_id: userId });
    if (query.beforeId !== undefined) q.where("id", "<", query.beforeId);
    return q;
  });
  return rows.map((r: { id: unknown; at: unknown; event: AuditEvent; user_id: string | null; device_id: string | null; ip: string | null }) => ({
    id: num(r.id),
    at: num(r.at),
    event: r.event,
    userId: r.user_id,
    deviceId: r.device_id,
    ip: r.ip,
  }));
}
