/**
 * Raw row shapes of the accounts tables and their conversion to API data. Drivers differ
 * (pg returns int8 as string, mysql2 returns booleans as 0/1), so every field is coerced.
 */
import type { Device, User, UserState } from "./types.js";

/** A row of `account_users`. */
export interface UserRow {
  readonly id: string;
  readonly email: string;
  readonly email_normalized: string;
  readonly password_hash: string;
  readonly first_name: string;
  readonly state: string;
  readonly verification_code_hash: string | null;
  readonly verification_expires_at: unknown;
  readonly verification_attempts: unknown;
  readonly last_login_at: unknown;
  readonly created_at: unknown;
  readonly password_changed_at: unknown;
}

/** A row of `account_devices`. */
export interface DeviceRow {
  readonly id: string;
  readonly user_id: string;
  readonly name: string;
  readonly created_at: unknown;
  readonly last_seen_at: unknown;
  readonly revoked_at: unknown;
}

/** A row of `account_sessions`. */
export interface SessionRow {
  readonly id: string;
  readonly user_id: string;
  readonly device_id: string;
  readonly token_hash: string;
  readonly created_at: unknown;
  readonly expires_at: unknown;
  readonly revoked: unknown;
  readonly last_used_at: unknown;
}

/** A row of `account_password_resets`. */
export interface ResetRow {
  readonly id: string;
  readonly user_id: string;
  readonly key_hash: string;
  readonly created_at: unknown;
  readonly expires_at: unknown;
  readonly used_at: unknown;
}

/** An int8/bigint column as a number. */
export function num(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

/** A nullable int8/bigint column as a number or null. */
export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

/** A boolean column (true/false or 1/0) as a boolean. */
export function bool(value: unknown): boolean {
  return value === true || value === 1 || value === "1" || value === "t";
}

/** Converts a user row to API data. */
export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    firstName: row.first_name,
    state: row.state as UserState,
    createdAt: num(row.created_at),
    lastLoginAt: numOrNull(row.last_login_at),
  };
}

/** Converts a device row to API data. */
export function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    createdAt: num(row.created_at),
    lastSeenAt: num(row.last_seen_at),
  };
}
