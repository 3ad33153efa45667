import { createHash } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

/** A new globally unique objective or space id (UUIDv7: time-ordered, made offline). */
export function newOid(): string {
  return uuidv7();
}

/** 128 bits of sha256 as base64url: the short, deterministic ids of versions and chunks. */
export function hashId(text: string): string {
  return createHash("sha256").update(text).digest("base64url").slice(0, 22);
}

/**
 * The deterministic version id (DESIGN.md §1): the hash of the objective, the op that made the
 * version and the version it replaces. Same ops in the same order give the same vids everywhere.
 */
export function versionId(oid: string, opId: string, previousVid: string | null): string {
  return hashId(`v1\u0000${oid}\u0000${opId}\u0000${previousVid ?? ""}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID in canonical text form (oids and space ids). */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

const VID = /^[A-Za-z0-9_-]{22}$/;

/** Whether `value` has the shape of a vid. */
export function isVid(value: unknown): value is string {
  return typeof value === "string" && VID.test(value);
}
