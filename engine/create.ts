import { EMPTY, countOf } from "./children-tree.js";
import type { Core } from "./core.js";
import { allow } from "./roles.js";
import { EngineError } from "./errors.js";
import { newOid } from "./ids.js";
import { checkActive, toObjective } from "./objective.js";
import { entryOf, freePosition, planChains, positionAt, promote } from "./promote.js";
import { ZERO_STATS } from "./stats.js";
import type { Objective, Props } from "./types.js";
import { checkContent, checkId, checkIndex, checkProps } from "./validate.js";
import { isTaken, runWrite, writeVersion, type Origin, type WriteCtx } from "./write.js";

/** Input of `createDocument`. */
export interface NewDocument {
  readonly content: string;
  readonly props?: Props;
  /** An oid made by the caller (e.g. offline); a fresh UUIDv7 when omitted. */
  readonly oid?: string;
}

/** Input of `create`. */
export interface NewObjective extends NewDocument {
  readonly parentOid: string;
  /** Index among the parent's children; the end when omitted. */
  readonly index?: number;
}

/**
 * Creates a space: one tenant's set of documents. `spaceId` names a replica of a space made
 * elsewhere (another device); a fresh UUIDv7 otherwise.
 */
export async function createSpace(core: Core, options: { readonly spaceId?: string } = {}): Promise<{ spaceId: string }> {
  const spaceId = options.spaceId === undefined ? newOid() : checkId("spaceId", options.spaceId);
  const made = await core.storage.query(
    "insert into space (space_id, seq, created_at) values ($1, 0, $2) on conflict do nothing returning space_id",
    [spaceId, core.now()],
  );
  if (made.length === 0) throw new EngineError("CONFLICT", `space ${spaceId} already exists`);
  return { spaceId };
}

async function freshOid(ctx: WriteCtx, wanted: string | undefined): Promise<string> {
  if (wanted === undefined) return newOid();
  const oid = checkId("oid", wanted);
  if (await isTaken(ctx, oid)) throw new EngineError("CONFLICT", `objective ${oid} already exists in space ${ctx.spaceId}`);
  return oid;
}

/** Creates a document: a new top-level objective, its own root. */
export async function createDocument(core: Core, spaceId: string, input: NewDocument, origin?: Origin): Promise<Objective> {
  spaceId = checkId("spaceId", spaceId);
  const content = checkContent(input?.content, core.limits);
  const props = checkProps(input.props ?? {}, core.limits);
  return runWrite(core, spaceId, [], async (ctx) => {
    const oid = await freshOid(ctx, input.oid);
    const row = writeVersion(ctx, oid, null, { parentOid: null, pos: null, content, props, kids: EMPTY, stats: ZERO_STATS }, undefined);
    ctx.documents.push(oid);
    ctx.op = { kind: "createDocument", oid, vidBefore: null, vidAfter: row.vid, data: { content, props } };
    return toObjective(spaceId, row, [{ oid, seq: row.seq, parentOid: null, pos: null, latest: row.seq }]);
  }, origin);
}

/** Creates an objective under an active parent and promotes the change to the document root. */
export async function create(
  core: Core,
  spaceId: string,
  input: NewObjective & { readonly pos?: string },
  origin?: Origin,
): Promise<Objective> {
  spaceId = checkId("spaceId", spaceId);
  const parentOid = checkId("parentOid", input?.parentOid);
  const content = checkContent(input.content, core.limits);
  const props = checkProps(input.props ?? {}, core.limits);
  return runWrite(core, spaceId, [parentOid], async (ctx, chains) => {
    const chain = await checkActive(chains.get(parentOid), spaceId, parentOid, (o) => isTaken(ctx, o));
    await allow(ctx, chain, "edit");
    const plan = await planChains(ctx, [chain]);
    const parent = plan.get(parentOid)!;
    const count = countOf(parent.row.kids);
    const index = input.index === undefined ? count : checkIndex(input.index, count);
    const oid = await freshOid(ctx, input.oid);
    // A replayed op brings its position; a concurrent insert may have taken it: step past it.
    const pos = input.pos === undefined ? await positionAt(ctx, parent.row.kids, index) : await freePosition(ctx, parent.row.kids, input.pos, oid);
    const row = writeVersion(ctx, oid, null, { parentOid, pos, content, props, kids: EMPTY, stats: ZERO_STATS }, undefined);
    parent.kidOps.push({ pos, entry: entryOf(row, pos), removed: null, added: row });
    await promote(ctx, plan);
    ctx.op = { kind: "create", oid, vidBefore: null, vidAfter: row.vid, data: { parentOid, index, pos, content, props } };
    return toObjective(spaceId, row, [{ oid, seq: row.seq, parentOid, pos, latest: row.seq }, ...chain]);
  }, origin);
}
