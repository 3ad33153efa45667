import { b64, uuidB64 } from "./format/codec.js";
import { sha256 } from "./sha256.js";
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
 * The deterministic version ids (DESIGN.md §1) of one op's versions, named after the op:
 * `<hash>.<device>.<counter>`, where `hash` is 96 bits of sha256 over the objective, the op and
 * the version it replaces (16 base64url characters), and `device.counter` is the op id with the
 * device's uuid as 22 base64url characters. The hash chains every version to its whole history,
 * so equal `(oid, vid)` means an equal subtree on every device; the op part lets storage find the
 * version through the op (`op_id` is indexed anyway) with no index of vids of its own. The op's
 * part is made once; each call returns the vid and its hash bytes (what version records store).
 * The one-shot `crypto.hash` is ~4× faster than a `createHash` object per id.
 *
 * @example
 * vidMaker("0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b.42")(oid, previous).vid // "q3Xk0pLx9Wm0AgZ1.AZOitFxtfo-aCxwtPk9aaw.42"
 */
export function vidMaker(opId: string): (oid: string, previousVid: string | null) => { vid: string; h: Buffer } {
  const dot = opId.lastIndexOf(".");
  const device = opId.slice(0, dot);
  if (dot < 0 || !isUuid(device)) throw new Error(`op id ${opId} is not <device uuid>.<counter>`);
  const tail = `.${uuidB64(device)}.${opId.slice(dot + 1)}`;
  return (oid, previousVid) => {
    const d = sha256(`v1\u0000${oid}\u0000${opId}\u0000${previousVid ?? ""}`);
    const h = Buffer.from(d.buffer, d.byteOffset, 12);
    return { vid: `${b64(h)}${tail}`, h };
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID in canonical text form (oids and space ids). */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/** A vid named after its op (schema 6 on). */
export const VID = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})\.(\d{1,15})$/;
/** A vid made before schema 6: 22 base64url characters of hash, still readable after the upgrade. */
export const LEGACY_VID = /^[A-Za-z0-9_-]{22}$/;

/** Whether `value` has the shape of a vid. */
export function isVid(value: unknown): value is string {
  return typeof value === "string" && (VID.test(value) || LEGACY_VID.test(value));
}

/** Whether an op id has the shape every op id has: `<device uuid>.<counter>`. */
export function isOpId(value: unknown): value is string {
  if (typeof value !== "string") return false;
  const dot = value.lastIndexOf(".");
  return dot === 36 && isUuid(value.slice(0, dot)) && /^\d{1,15}$/.test(value.slice(dot + 1));
}
