/**
 * Ops as the unit of replication (DESIGN.md §8, first part): read a space's op log in order, and
 * replay another device's ops here. An op keeps its id, time, actor and device when replayed, and
 * vids are `hash(oid, opId, previous vid)`, so applying the same ops in the same order gives the
 * same versions and the same root vids on every device: equal root vids are the convergence check.
 * `applyOps` stores ops in the op log and applies them in hybrid-logical-clock order
 * (engine/clock-order.ts), rebuilding from before a late op; `replayInOrder` applies a run of ops
 * that already sit at the end of the clock order.
 */
import { checkout } from "./checkout.js";
import { checkReplicaOp, LAST_APPLIED_HLC, markOutcome, settle, storeOps } from "./clock-order.js";
import { ensureDevices } from "./format/devices.js";
import type { Core } from "./core.js";
import { create, createDocument } from "./create.js";
import { EngineError, invalid } from "./errors.js";
import { move } from "./move.js";
import { remove } from "./remove.js";
import { restore } from "./restore.js";
import { checkRole } from "./roles.js";
import { share } from "./share.js";
import { IMPORT_PART_KIND, PART_OUTCOME } from "./import-parts.js";
import { replayImport } from "./import-replay.js";
import type { Json, Props } from "./types.js";
import { update } from "./update.js";
import { checkId, checkLimit } from "./validate.js";
import type { Origin, PageWriter } from "./write.js";
import { runPage, type Page } from "./apply-batch.js";
import { loadDevices } from "./format/devices.js";
import { decodeOpVids, opVidDevices, replicaOpOf, type StoredOp } from "./format/op-row.js";

/** One op as devices exchange it. */
export interface ReplicaOp {
  /** `deviceId.counter`: unique without coordination; a device never reuses one. */
  readonly opId: string;
  /** What it does; a kind this engine does not know (a newer device's) is kept and skipped. */
  readonly kind: string;
  readonly oid: string;
  /** Hybrid logical clock (sync/hlc.ts): every device applies ops in this order. */
  readonly hlc: string;
  readonly at: number;
  readonly actor: string | null;
  readonly device: string;
  readonly data: Props;
  /**
   * The vid the op gave `oid` where it was made (null for a removal). Informative: a late op
   * placed before it legitimately changes it, so clock-ordered apply does not check it.
   */
  readonly vidAfter?: string | null;
  /** The sync server's sequence number, for ops pulled from a server: the pull cursor. */
  readonly serverSeq?: number;
}

interface OpRecord extends StoredOp {
  seq: number;
  vids: Uint8Array | null;
}

/**
 * The space's applied ops after local sequence `after`, in local order; `next` continues the
 * listing. An import made here is followed by its parts (they take the seqs after it, clocks
 * before it): `applyOps` places every op by its clock, whatever order it gets them in.
 */
export async function opsSince(
  core: Core,
  spaceId: string,
  options: { readonly after?: number; readonly limit?: number } = {},
): Promise<{ ops: ReplicaOp[]; next?: number }> {
  spaceId = checkId("spaceId", spaceId);
  const after = options.after ?? 0;
  if (!Number.isSafeInteger(after) || after < 0) throw invalid(`after must be a non-negative integer, got ${after}`);
  const limit = checkLimit(options.limit, 1000, 10_000);
  const rows = await core.storage.query<OpRecord & Record<string, unknown>>(
    `select seq, op_id, kind, oid, hlc, at, actor, device, data, vids from op
      where space_id = $1 and seq > $2 and outcome in ('applied', '${PART_OUTCOME}') order by seq limit $3`,
    [spaceId, after, limit + 1],
  );
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  await loadDevices(core.cache.devices, core.storage, page.flatMap((r) => opVidDevices(r.vids)));
  const ops = page.map((r): ReplicaOp => ({ ...replicaOpOf(r), vidAfter: decodeOpVids(r.vids, core.cache.devices).after }));
  return more ? { ops, next: page[page.length - 1]!.seq } : { ops };
}

const str = (data: Props, key: string): string => {
  const v = data[key];
  if (typeof v !== "string") throw invalid(`op data.${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
};

/** The op kinds this engine can replay; anything else is kept in the log and skipped. */
export const REPLAYABLE_KINDS: ReadonlySet<string> = new Set(["createDocument", "create", "update", "move", "remove", "restore", "checkout", "import", "share"]);

async function applyOne(core: Core, spaceId: string, op: ReplicaOp, checkVid: boolean, page?: PageWriter): Promise<unknown> {
  const origin: Origin = {
    ...(page ? { page } : {}),
    opId: op.opId,
    at: op.at,
    actor: op.actor,
    device: op.device,
    hlc: op.hlc,
    ...(checkVid && op.vidAfter !== undefined ? { vidAfter: op.vidAfter } : {}),
  };
  const d = op.data;
  const props = (key: string) => (d[key] === undefined ? undefined : (d[key] as { [k: string]: Json }));
  switch (op.kind) {
    case "createDocument":
      return (await createDocument(core, spaceId, { oid: op.oid, content: str(d, "content"), props: props("props") ?? {} }, origin)).vid;
    case "create":
      return (
        await create(core, spaceId, { oid: op.oid, parentOid: str(d, "parentOid"), pos: str(d, "pos"), content: str(d, "content"), props: props("props") ?? {} }, origin)
      ).vid;
    case "update": {
      const content = d["content"] === undefined ? {} : { content: str(d, "content") };
      const patch = props("props");
      return (await update(core, spaceId, op.oid, { ...content, ...(patch ? { props: patch } : {}) }, origin)).vid;
    }
    case "move":
      return (await move(core, spaceId, op.oid, { parentOid: str(d, "toParent"), pos: str(d, "toPos") }, origin)).vid;
    case "remove":
      await remove(core, spaceId, op.oid, origin);
      return null;
    case "restore": {
      const parent = d["toParent"];
      if (parent === null) return (await restore(core, spaceId, op.oid, undefined, origin)).vid;
      return (await restore(core, spaceId, op.oid, { parentOid: str(d, "toParent"), pos: str(d, "toPos") }, origin)).vid;
    }
    case "checkout":
      return (await checkout(core, spaceId, op.oid, str(d, "target"), origin)).vid;
    case "import":
      return (await replayImport(core, spaceId, op.opId, d, origin)).count;
    case "share":
      await share(core, spaceId, op.oid, str(d, "user"), checkRole(d["role"] ?? null), origin);
      return null;
    default:
      throw invalid(`op ${op.opId} of kind ${JSON.stringify(op.kind)} cannot be replayed yet`);
  }
}

/**
 * Engine errors that mean "this op no longer applies here" (its objective was removed, a move
 * would make a cycle, …): the op is kept in the log, skipped, and its outcome records why. Every
 * device reaches the same state before the op, so every device skips it alike.
 */
const MERGE_CODES: ReadonlySet<string> = new Set(["NOT_FOUND", "CYCLE", "CONFLICT", "INVALID_ARGUMENT", "FORBIDDEN"]);

/** Where each op of a replayed page starts reading: the objective and the parent it goes under. */
function startsOf(ops: readonly ReplicaOp[]): string[] {
  const out: string[] = [];
  for (const op of ops) {
    out.push(op.oid);
    for (const key of ["parentOid", "toParent"]) if (typeof op.data[key] === "string") out.push(op.data[key] as string);
  }
  return out;
}

/**
 * Applies ops that sit at the end of the clock order (pending entries of the op log, oldest clock
 * first) and records each one's outcome in the op log: `applied` (the engine's op row marks it),
 * `noop` (it changed nothing), `skipped:<CODE>` (a merge rule dropped it: a conflict event) or
 * `unknown-kind`. This is the hot loop of a catch-up, so the whole page is one transaction with
 * bulk writes (engine/apply-batch.ts), with exactly the rows and seqs `replayOneByOne` makes. An
 * error that is no merge rule (storage, a bug) rolls the page back, and the page is replayed op by
 * op, which commits the ops before the failing one and throws its error.
 */
export async function replayInOrder(
  core: Core,
  spaceId: string,
  ops: readonly ReplicaOp[],
  fresh?: ReadonlyMap<string, ReplicaOp>,
  cursorAfter?: (opId: string) => number,
): Promise<void> {
  for (const run of runsOf(ops)) await replayRun(core, spaceId, run, fresh && new Map(run.map((o) => [o.opId, o])), cursorAfter?.(run[run.length - 1]!.opId));
}

/**
 * The pull cursor a catch-up may store once the ops up to each one (in clock order) are committed:
 * the highest server seq below which every op is in, so a catch-up stopped between pages never
 * leaves the cursor past an op it did not store (server order and clock order differ).
 */
function safeCursors(sorted: readonly ReplicaOp[]): Map<string, number> {
  const out = new Map<string, number>();
  const laterMin: number[] = new Array(sorted.length + 1).fill(Infinity);
  for (let i = sorted.length - 1; i >= 0; i--) laterMin[i] = Math.min(laterMin[i + 1]!, sorted[i]!.serverSeq ?? Infinity);
  let highest = 0;
  for (let i = 0; i < sorted.length; i++) {
    highest = Math.max(highest, sorted[i]!.serverSeq ?? 0);
    out.set(sorted[i]!.opId, Math.min(highest, laterMin[i + 1]! - 1));
  }
  return out;
}

/** An import that a merge rule skips: its page (with the rows it wrote so far) is rolled back. */
class SkippedImport extends Error {
  constructor(readonly op: ReplicaOp, readonly error: EngineError) {
    super(error.message);
  }
}

/**
 * Splits a page so that every import runs alone: it reads its parts from the log, where the run
 * before it committed them, and its rows (any number) are written as it streams, not held by a page.
 */
function runsOf(ops: readonly ReplicaOp[]): ReplicaOp[][] {
  const runs: ReplicaOp[][] = [[]];
  for (const op of ops) {
    if (op.kind === "import") runs.push([op], []);
    else runs[runs.length - 1]!.push(op);
  }
  return runs.filter((r) => r.length > 0);
}

async function replayRun(core: Core, spaceId: string, ops: readonly ReplicaOp[], fresh?: ReadonlyMap<string, ReplicaOp>, cursor?: number): Promise<void> {
  // Not in the log yet: they must still sort after everything applied (checked under the lock).
  const inOrder = async (page: Page) => {
    if (!fresh) return;
    const [state] = await page.tx.query<{ last: string | null; pending: boolean }>(
      `select ${LAST_APPLIED_HLC} as last,
              exists (select 1 from op where space_id = $1 and seq is null) as pending`,
      [spaceId],
    );
    if (state!.pending || (state!.last !== null && state!.last >= ops[0]!.hlc)) throw new NotInOrder();
  };
  try {
    await runPage(core, spaceId, startsOf(ops), async (page) => {
      await inOrder(page);
      for (const op of ops) {
        if (op.kind === IMPORT_PART_KIND) {
          page.outcome(op.opId, PART_OUTCOME, "rows of an import");
          continue;
        }
        if (!REPLAYABLE_KINDS.has(op.kind)) {
          page.outcome(op.opId, "unknown-kind", `op kind ${JSON.stringify(op.kind)} is not known to this engine`);
          continue;
        }
        try {
          await applyOne(core, spaceId, op, false, page.writer);
        } catch (error) {
          if (!(error instanceof EngineError) || !MERGE_CODES.has(error.code)) throw error;
          // An import writes its rows as it goes: skipping it must take them back with the page.
          if (op.kind === "import") throw new SkippedImport(op, error);
          page.outcome(op.opId, `skipped:${error.code}`, error.message);
          continue;
        }
        if (!page.applied(op.opId)) page.outcome(op.opId, "noop", "the op changed nothing here");
      }
    }, fresh, cursor);
  } catch (error) {
    if (error instanceof SkippedImport) {
      // The import runs alone (runsOf): its outcome goes in a transaction of its own.
      await runPage(core, spaceId, [], async (page) => {
        await inOrder(page);
        page.outcome(error.op.opId, `skipped:${error.error.code}`, error.error.message);
      }, fresh, cursor);
      return;
    }
    if (fresh) throw error;
    await replayOneByOne(core, spaceId, ops);
  }
}

/** A catch-up page that no longer sorts after everything applied: it goes through the log. */
class NotInOrder extends Error {}

/**
 * Applies ops that sort after everything applied here, none of them known yet (a device catching
 * up, the common case): each page stores and applies its ops in one transaction, every op row
 * written once. Undefined when the ops do not qualify; then they are stored and settled.
 */
async function catchUp(core: Core, spaceId: string, ops: readonly ReplicaOp[], pageSize: number): Promise<{ applied: number; rebuilt: number } | undefined> {
  const byId = new Map<string, ReplicaOp>();
  for (const op of ops) if (!byId.has(op.opId)) byId.set(op.opId, op);
  const sorted = [...byId.values()].sort((a, b) => (a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : a.opId < b.opId ? -1 : 1));
  if (sorted.length === 0) return undefined;
  const [state] = await core.storage.query<{ space: boolean; known: boolean }>(
    `select exists (select 1 from space where space_id = $1) as space,
            exists (select 1 from op where space_id = $1 and op_id = any($2::text[])) as known`,
    [spaceId, sorted.map((o) => o.opId)],
  );
  if (!state!.space || state!.known) return undefined;
  await ensureDevices(core.cache.devices, core.storage, sorted.map((o) => o.device));
  // Local ops made meanwhile must sort after these.
  for (const op of sorted) core.clock.receive(op.hlc);
  let rebuilt = 0;
  const cursors = safeCursors(sorted);
  for (let i = 0; i < sorted.length; i += pageSize) {
    const part = sorted.slice(i, i + pageSize);
    try {
      await replayInOrder(core, spaceId, part, new Map(part.map((o) => [o.opId, o])), (opId) => cursors.get(opId)!);
    } catch (error) {
      if (!(error instanceof NotInOrder)) throw error;
      await storeOps(core, spaceId, sorted.slice(i));
      rebuilt = await settle(core, spaceId, { pageSize });
      break;
    }
  }
  return { applied: sorted.length, rebuilt };
}

/** `replayInOrder` one transaction per op: the reference the batched page must equal, and its fallback. */
export async function replayOneByOne(core: Core, spaceId: string, ops: readonly ReplicaOp[]): Promise<void> {
  for (const op of ops) {
    if (op.kind === IMPORT_PART_KIND) {
      await markOutcome(core, spaceId, op.opId, PART_OUTCOME, "rows of an import", { onlyIfPending: true });
      continue;
    }
    if (!REPLAYABLE_KINDS.has(op.kind)) {
      await markOutcome(core, spaceId, op.opId, "unknown-kind", `op kind ${JSON.stringify(op.kind)} is not known to this engine`);
      continue;
    }
    try {
      await applyOne(core, spaceId, op, false);
    } catch (error) {
      if (!(error instanceof EngineError) || !MERGE_CODES.has(error.code)) throw error;
      await markOutcome(core, spaceId, op.opId, `skipped:${error.code}`, error.message);
      continue;
    }
    await markOutcome(core, spaceId, op.opId, "noop", "the op changed nothing here", { onlyIfPending: true });
  }
}

/** Options of `applyOps`. */
export interface ApplyOptions {
  /**
   * Ops applied per transaction (default 500, at most 10,000). A page is written with bulk
   * statements (engine/apply-batch.ts); 1 applies each op in its own transaction through the
   * ordinary write path. Either way every op makes the same rows.
   */
  readonly pageSize?: number;
}

/**
 * Takes ops made elsewhere (or pulled from a sync server) into this device: each is stored in the
 * op log once (a retried or duplicated delivery changes nothing) and applied in hybrid-logical-clock
 * order. An op older than ops already applied rolls the tree back to just before it and re-applies
 * the later ones, so every device that has the same ops holds the same vids, whatever order they
 * arrived in. Ops that no longer apply are skipped and recorded (see `conflicts`), never thrown.
 */
export async function applyOps(
  core: Core,
  spaceId: string,
  ops: readonly ReplicaOp[],
  options: ApplyOptions = {},
): Promise<{ applied: number; skipped: number; rebuilt: number }> {
  spaceId = checkId("spaceId", spaceId);
  const size = options.pageSize;
  if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > 10_000)) {
    throw invalid(`pageSize must be an integer from 1 to 10000, got ${JSON.stringify(size)}`);
  }
  ops.forEach((op, i) => checkReplicaOp(op, `ops[${i}]`));
  if (size !== 1) {
    const caught = await catchUp(core, spaceId, ops, size ?? 500);
    if (caught !== undefined) return { applied: caught.applied, skipped: ops.length - caught.applied, rebuilt: caught.rebuilt };
  }
  const stored = await storeOps(core, spaceId, ops);
  const rebuilt = await settle(core, spaceId, options);
  return { applied: stored, skipped: ops.length - stored, rebuilt };
}
