/**
 * The sync wire protocol (docs/sync.md): what a device pushes, what a pull page holds, what the
 * socket says, the limits, and the validation both ends run. Plain JSON; op ids, clocks and oids
 * are strings, sequence numbers are integers.
 */
import type { ReplicaOp } from "../engine/replicate.js";
import { checkDrift, decodeHlc, HlcError, MAX_DRIFT_MS } from "../engine/hlc.js";
import { isOpId } from "../engine/ids.js";
import { pack, unpack } from "../engine/format/codec.js";
import type { SnapshotFrame } from "../engine/snapshot.js";

/**
 * One op on the wire: exactly what `engine.logSince` returns and `engine.applyOps` takes, without
 * `vidAfter` (each device recomputes vids in clock order). Fields are documented on `ReplicaOp`.
 */
export type WireOp = Omit<ReplicaOp, "vidAfter">;

/** `POST /sync/:space/push` body: a device's own ops, oldest clock first. */
export interface PushBatch {
  /** The engine device id that made every op of the batch. */
  readonly device: string;
  readonly ops: readonly WireOp[];
}

/** `POST /sync/:space/push` answer. */
export interface PushResult {
  /** Ops stored now. */
  readonly accepted: number;
  /** Ops the server already had (a retried or duplicated push). */
  readonly duplicates: number;
  /** The space's highest server seq after this push. */
  readonly lastSeq: number;
}

/** `GET /sync/:space/pull?after=N&limit=M` answer: ops with server seq > N, in server order. */
export interface PullPage {
  readonly ops: readonly (WireOp & { readonly serverSeq: number })[];
  /** More ops follow the page: pull again after the last one. */
  readonly more: boolean;
  /** The space's highest server seq when the page was read. */
  readonly lastSeq: number;
}

/** A role an invitation gives (`none` hides, it invites nobody). */
export type InvitedRole = "manager" | "collaborator" | "viewer";

/** One invitation (`POST|GET /sync/:space/invitations`; docs/collaboration.md, "Invitations"). */
export interface Invitation {
  readonly id: string;
  readonly spaceId: string;
  readonly oid: string;
  /** The invited address, lowercase. */
  readonly email: string;
  readonly role: InvitedRole;
  /** The user id of the manager who invited. */
  readonly invitedBy: string;
  readonly createdAt: number;
  /** When it became a role (null: waiting for the address to have a verified account). */
  readonly appliedAt: number | null;
  /** `applied`, or `refused` (the inviter could no longer share there), once applied. */
  readonly outcome: "applied" | "refused" | null;
}

/** Messages the server sends on `GET /sync/ws`. */
export type ServerMessage =
  | { readonly type: "ready"; readonly spaces: readonly string[] }
  | { readonly type: "poke"; readonly spaceId: string; readonly lastSeq: number };

/** Limits of one request. */
export const LIMITS = {
  /** Ops per push batch. */
  maxOpsPerBatch: 500,
  /** Bytes of a push body. */
  maxBatchBytes: 1024 * 1024,
  /**
   * Characters of one op's JSON: any op an engine makes fits (100,000 characters of text and 64 KiB
   * of props, escaped), so a device is never left with an op it cannot push.
   */
  maxOpBytes: 960 * 1024,
  /** Ops per pull page. */
  maxPullLimit: 1000,
  defaultPullLimit: 500,
  /** Bytes of the ops of one pull page (their stored JSON); a page stops before it would pass them and says `more`. */
  maxPullBytes: 1024 * 1024,
  /** Nesting of objects and arrays in one op (its data, props). */
  maxOpDepth: 64,
} as const;

/**
 * Splits a device's ops into push batches within the limits: at most `maxOpsPerBatch` ops and
 * `maxBatchBytes` of body each (an import's parts are up to ~48 KiB apiece), in order.
 */
export function pushBatches(ops: readonly WireOp[]): WireOp[][] {
  const room = LIMITS.maxBatchBytes - 1024;
  const batches: WireOp[][] = [];
  let batch: WireOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = Buffer.byteLength(JSON.stringify(op)) + 1;
    if (batch.length > 0 && (batch.length >= LIMITS.maxOpsPerBatch || bytes + size > room)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(op);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * `GET /sync/:space/snapshot` body: the server replica's rows of the space (engine/snapshot.ts),
 * as a stream of frames, each a 4-byte big-endian length and a MessagePack value.
 */
export function encodeSnapshotFrame(frame: SnapshotFrame): Buffer {
  const body = pack(frame);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Frames at most this long are read (a frame of 2,000 version rows is about a megabyte). */
const MAX_FRAME = 64 * 1024 * 1024;

/** The frames of a snapshot body, as its bytes arrive. */
export async function* decodeSnapshotFrames(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SnapshotFrame> {
  // Network chunks are small and frames are megabytes: they are joined once per frame, not per chunk.
  let pending: Buffer[] = [];
  let length = 0;
  let need = 4;
  let size: number | undefined;
  const take = (n: number): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, length);
    pending = all.length > n ? [all.subarray(n)] : [];
    length -= n;
    return all.subarray(0, n);
  };
  for await (const chunk of chunks) {
    pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    length += chunk.byteLength;
    while (length >= need) {
      if (size === undefined) {
        size = take(4).readUInt32BE(0);
        if (size > MAX_FRAME) throw new SyncError("BAD_BATCH", `a snapshot frame of ${size} bytes is over ${MAX_FRAME}`);
        need = size;
      } else {
        yield unpack(take(size)) as SnapshotFrame;
        size = undefined;
        need = 4;
      }
    }
  }
  if (length > 0 || size !== undefined) throw new SyncError("UNAVAILABLE", `the snapshot ended inside a frame (${length} bytes left)`);
}

/** String codes of sync errors; each has one HTTP status. */
export type SyncErrorCode =
  | "BAD_BATCH"
  | "TOO_LARGE"
  | "CLOCK_SKEW"
  | "FORGED"
  | "FORBIDDEN"
  | "UNAUTHENTICATED"
  | "CONFLICT"
  | "NOT_FOUND"
  | "QUOTA_EXCEEDED"
  | "RATE_LIMITED"
  | "UNAVAILABLE";

/** HTTP status of each code. */
export const SYNC_STATUS: { readonly [C in SyncErrorCode]: number } = {
  BAD_BATCH: 400,
  TOO_LARGE: 413,
  CLOCK_SKEW: 400,
  FORGED: 403,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  CONFLICT: 409,
  NOT_FOUND: 404,
  QUOTA_EXCEEDED: 403,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
};

/** A refused sync request (or, on the client, a failed one); `code` for programs, `message` names the value. */
export class SyncError extends Error {
  override readonly name = "SyncError";
  /** The op a refusal is about (a `FORBIDDEN` push: the first op the user's role does not allow). */
  readonly opId: string | undefined;
  /**
   * Every op of a `FORBIDDEN` push the user's role does not allow, with why (the first is `opId`):
   * the device withdraws them all at once.
   */
  readonly refused: readonly Refused[] | undefined;
  /** A `FORBIDDEN` read of a member who may read part of the space: their device holds a partial replica. */
  readonly partial: boolean;
  constructor(
    readonly code: SyncErrorCode,
    message: string,
    options?: { cause?: unknown; opId?: string; refused?: readonly Refused[]; partial?: boolean },
  ) {
    super(message, options);
    this.opId = options?.opId ?? options?.refused?.[0]?.opId;
    this.refused = options?.refused;
    this.partial = options?.partial === true;
  }
}

/** One op of a push the server refused, and why. */
export interface Refused {
  readonly opId: string;
  readonly message: string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is an engine device id (what ops carry in `device`). */
export function isDeviceId(value: unknown): value is string {
  return typeof value === "string" && ID.test(value);
}

/** `POST /sync/spaces` answer: the space exists on the server and belongs to the caller. */
export interface CreateSpaceResult {
  readonly spaceId: string;
  /** Made by this call (false: the caller had made it before). */
  readonly created: boolean;
}

/** `POST /sync/devices/:device/bind` answer: the engine device is now bound to this session's accounts device. */
export interface BindResult {
  readonly device: string;
  readonly accountDeviceId: string;
  /** The signed-in user the device's ops act for (a server that predates it leaves it out). */
  readonly userId?: string;
  /** It was bound to another (revoked) accounts device of the same user before. */
  readonly rebound: boolean;
}

/** Whether `value` is a space id (a UUID). */
export function isSpaceId(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

const bad = (message: string) => new SyncError("BAD_BATCH", message);
const show = (v: unknown) => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

// A NUL, or half of a surrogate pair: text Postgres cannot store (in text or jsonb).
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkText(text: string, where: string): void {
  const m = UNSTORABLE.exec(text);
  if (!m) return;
  const what = m[0] === "\u0000" ? "a NUL character" : `an unpaired surrogate (\\u${m[0].charCodeAt(0).toString(16)})`;
  throw bad(`${where} contains ${what} at index ${m.index}; text must be NUL-free, well-formed Unicode`);
}

const field = (where: string, key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `${where}.${key}` : `${where}[${JSON.stringify(key)}]`);

/**
 * Walks every string (keys too) and every nested object of an op: refuses text the database
 * cannot store and nesting deeper than `LIMITS.maxOpDepth`, before anything serializes it
 * (a JSON.stringify of 5,000 nested arrays overflows the stack).
 */
function checkStorable(value: unknown, where: string, depth: number): void {
  if (typeof value === "string") return checkText(value, where);
  if (value === null || typeof value !== "object") return;
  if (depth >= LIMITS.maxOpDepth) throw bad(`${where} nests deeper than ${LIMITS.maxOpDepth} levels`);
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkStorable(item, `${where}[${i}]`, depth + 1));
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    checkText(key, `${where} key ${show(key)}`);
    checkStorable(item, field(where, key), depth + 1);
  }
}

/** Checks one op's fields; `BAD_BATCH` names the field and value. */
export function checkWireOp(value: unknown, where: string): WireOp {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad(`${where} must be an object, got ${show(value)}`);
  checkStorable(value, where, 0);
  const o = value as Record<string, unknown>;
  for (const key of ["opId", "kind", "oid", "hlc", "device"] as const) {
    const v = o[key];
    if (typeof v !== "string" || v.length === 0 || v.length > 200) throw bad(`${where}.${key} must be a string of 1..200 characters, got ${show(v)}`);
  }
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(o["kind"] as string)) throw bad(`${where}.kind must be a name, got ${show(o["kind"])}`);
  if (!ID.test(o["device"] as string)) throw bad(`${where}.device must be a device id, got ${show(o["device"])}`);
  // What every engine (the devices and the server's replica) accepts: one it could not would stall them all.
  if (!isOpId(o["opId"])) throw bad(`${where}.opId must be <device uuid>.<counter>, got ${show(o["opId"])}`);
  if (!Number.isSafeInteger(o["at"]) || (o["at"] as number) < 0) throw bad(`${where}.at must be a non-negative integer, got ${show(o["at"])}`);
  if (o["actor"] !== null && typeof o["actor"] !== "string") throw bad(`${where}.actor must be a string or null, got ${show(o["actor"])}`);
  const data = o["data"];
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw bad(`${where}.data must be an object, got ${show(data)}`);
  try {
    decodeHlc(o["hlc"]);
  } catch (error) {
    throw bad(`${where}.hlc: ${(error as Error).message}`);
  }
  const known = new Set(["opId", "kind", "oid", "hlc", "at", "actor", "device", "data", "serverSeq", "vidAfter"]);
  for (const key of Object.keys(o)) if (!known.has(key)) throw bad(`${where} has an unknown field ${show(key)}`);
  return o as unknown as WireOp;
}

/**
 * Checks a push batch against the limits and the device's claims: every op made by the batch's
 * device (op id prefix, device field and clock), no clock more than 5 minutes ahead of `nowMs`.
 * Returns the batch with duplicate op ids inside it dropped.
 */
export function checkPushBatch(value: unknown, nowMs: number, maxDriftMs = MAX_DRIFT_MS): PushBatch {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad(`push body must be an object, got ${show(value)}`);
  const b = value as Record<string, unknown>;
  const device = b["device"];
  if (typeof device !== "string" || !ID.test(device)) throw bad(`push device must be a device id, got ${show(device)}`);
  const ops = b["ops"];
  if (!Array.isArray(ops)) throw bad(`push ops must be an array, got ${show(ops)}`);
  if (ops.length === 0) throw bad("push ops must not be empty");
  if (ops.length > LIMITS.maxOpsPerBatch) throw new SyncError("TOO_LARGE", `push holds ${ops.length} ops; at most ${LIMITS.maxOpsPerBatch} per batch`);
  const seen = new Set<string>();
  const out: WireOp[] = [];
  ops.forEach((raw, i) => {
    const op = checkWireOp(raw, `ops[${i}]`);
    const size = JSON.stringify(op).length;
    if (size > LIMITS.maxOpBytes) throw new SyncError("TOO_LARGE", `ops[${i}] is ${size} bytes; at most ${LIMITS.maxOpBytes}`);
    if (op.device !== device) throw new SyncError("FORGED", `ops[${i}] was made by device ${show(op.device)}, the batch is from ${show(device)}`);
    if (!op.opId.startsWith(`${device}.`)) throw new SyncError("FORGED", `ops[${i}].opId ${show(op.opId)} is not an op id of device ${show(device)}`);
    if (decodeHlc(op.hlc).device !== device) throw new SyncError("FORGED", `ops[${i}].hlc ${show(op.hlc)} is not a clock of device ${show(device)}`);
    try {
      checkDrift(op.hlc, nowMs, maxDriftMs);
    } catch (error) {
      if (error instanceof HlcError) throw new SyncError("CLOCK_SKEW", `ops[${i}]: ${error.message}`);
      throw error;
    }
    if (seen.has(op.opId)) return;
    seen.add(op.opId);
    const { serverSeq: _s, vidAfter: _v, ...clean } = op as WireOp & { vidAfter?: unknown };
    out.push(clean);
  });
  return { device, ops: out };
}

/** Parses the pull query: `after` ≥ 0 and `limit` within 1..maxPullLimit. */
export function checkPullQuery(after: unknown, limit: unknown): { after: number; limit: number } {
  // Digits only: Number() would take "", " ", "1e3" and "0x10" as numbers.
  const int = (v: unknown) => (typeof v === "string" && /^\d{1,16}$/.test(v) ? Number(v) : typeof v === "number" ? v : NaN);
  const a = after === undefined ? 0 : int(after);
  if (!Number.isSafeInteger(a) || a < 0) throw bad(`after must be a non-negative integer, got ${show(after)}`);
  const l = limit === undefined ? LIMITS.defaultPullLimit : int(limit);
  if (!Number.isSafeInteger(l) || l < 1 || l > LIMITS.maxPullLimit) throw bad(`limit must be an integer in 1..${LIMITS.maxPullLimit}, got ${show(limit)}`);
  return { after: a, limit: l };
}
