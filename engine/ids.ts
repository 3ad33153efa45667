import { hash } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

/** Random bytes fetched 4 KiB at a time: one `getRandomValues` call per id cost ~7 µs (a syscall). */
const pool = new Uint8Array(4096);
let poolUsed = pool.length;
/** The last id's time and counter: ids made in one millisecond still sort in the order made. */
const last = { msecs: -1, seq: 0 };

function random16(): Uint8Array {
  if (poolUsed === pool.length) {
    crypto.getRandomValues(pool);
    poolUsed = 0;
  }
  poolUsed += 16;
  return pool.subarray(poolUsed - 16, poolUsed);
}

/**
 * A new globally unique objective or space id (UUIDv7: time-ordered, made offline), e.g. to give
 * `importTree` nodes their oids before they are written.
 */
export function newOid(): string {
  const random = random16();
  const now = Date.now();
  if (now > last.msecs) {
    last.msecs = now;
    // A random start within the millisecond (31 bits, as the uuid package does), then +1 per id.
    last.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else if (++last.seq > 0x7fffffff) {
    last.msecs++;
    last.seq = 0;
  }
  return uuidv7({ random, msecs: last.msecs, seq: last.seq });
}

/**
 * 128 bits of sha256 as base64url: the short, deterministic ids of versions and chunks. The
 * one-shot `crypto.hash` is ~4× faster than a `createHash` object per id (0.5 vs 2.2 µs here).
 */
export function hashId(text: string): string {
  return hash("sha256", text, "base64url").slice(0, 22);
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
