import { countOf, type KidsNode } from "./children-tree.js";
import type { Core } from "./core.js";
import { allow, allowWholeRemoved } from "./roles.js";
import { EngineError, invalid, notFound } from "./errors.js";
import { reviveTarget, writeNotes } from "./checkout.js";
import type { Destination } from "./move.js";
import { checkActive, toObjective } from "./objective.js";
import { freePosition, planChains, positionAt, promote } from "./promote.js";
import type { Objective } from "./types.js";
import { checkId, checkIndex } from "./validate.js";
import { isTaken, readVersions, runWrite, type Origin } from "./write.js";

/**
 * Puts a removed objective back into the active tree, with its subtree as it was when it was
 * removed: under its last parent at its last place, or under `to` (an active parent, at `index`,
 * the end if omitted). A removed document root comes back as a document. This is the inverse of
 * `remove`, for an app's undo: unlike a checkout of the parent, it leaves every other edit made
 * since the removal alone.
 *
 * Only an objective whose last record is its removal can be restored: `INVALID_ARGUMENT` if it is
 * active (or was brought back or edited since), `NOT_FOUND` if it never existed or its last parent
 * is no longer active (pass `to`). Like a checkout, what of the subtree lives elsewhere now stays
 * there and is cut out of the restored copy; so the op costs O(depth) plus one lookup per
 * objective that left the subtree, never a walk of it. Its history since that version is one line
 * (nothing was written to it but marks), so the departures its records list are all there is.
 *
 * @example
 * await engine.remove(spaceId, row.oid);
 * await engine.restore(spaceId, row.oid); // back where it was, children and all
 */
export async function restore(core: Core, spaceId: string, oid: string, to?: Destination & { readonly pos?: string }, origin?: Origin): Promise<Objective> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  const toParent = to === undefined ? undefined : checkId("parentOid", to.parentOid);
  return runWrite(core, spaceId, toParent === undefined ? [oid] : [oid, toParent], async (ctx, chains) => {
    if (chains.get(oid)) throw invalid(`objective ${oid} is in the active tree of space ${spaceId}: only a removed objective can be restored`);
    // Its newest row (read with the write's first statement): none means it never existed.
    const newest = (await ctx.reader.hints([oid], undefined)).get(oid)?.[0];
    if (!newest) throw notFound(`objective ${oid} does not exist in space ${spaceId}`);
    if (!newest.removed) {
      throw invalid(`objective ${oid} is not removed: it left the active tree of space ${spaceId} with an ascendant, or by a checkout; restore the objective that was removed`);
    }
    const last = (await readVersions(ctx, [[oid, newest.vseq]])).get(`${oid}|${newest.vseq}`)!;
    if (last.parentOid === null && toParent !== undefined) {
      throw invalid(`objective ${oid} is a removed document: it comes back as a document, not under ${toParent}`);
    }
    const parentOid = toParent ?? last.parentOid;
    // A removed document comes back as one: nothing above it, no position.
    const target = parentOid === null ? [] : await destinationChain(parentOid);
    // It comes back into the destination's subtree (a document: into its own, whose entries stay).
    await allow(ctx, parentOid === null ? [self0()] : target, "edit");
    // It brings a whole subtree back: a part the actor may only view in it stays removed with it.
    await allowWholeRemoved(ctx, oid, "edit");
    const plan = await planChains(ctx, [target]);
    const pos = parentOid === null ? null : await placeIn(plan.get(parentOid)!.row.kids);
    const self = { oid, seq: last.seq, parentOid: null, pos: null, latest: newest.vseq, latestRow: newest.key };
    // Linked nowhere now, so nothing unlinks it: the placement has no parent, the move adds it.
    plan.set(oid, { at: self, row: last, depth: target.length, kidOps: [], replaceWith: last, ...(parentOid === null ? {} : { moveTo: { parentOid, pos: pos! } }) });
    // It enters the destination's subtree (as a move in would): a later checkout there reads it.
    for (const p of target) plan.get(p.oid)!.gained = [oid];
    await reviveTarget(ctx, [self, ...target], last, last, plan, true);
    // Deepest first works here (unlike a move): the objective sits right below its destination,
    // and what is cut out of its subtree is deeper still.
    await promote(ctx, plan);
    await writeNotes(ctx);
    const row = plan.get(oid)!.done!;
    ctx.op = { kind: "restore", oid, vidBefore: last.vid, vidAfter: row.vid, data: { toParent: parentOid, toPos: pos } };
    return toObjective(spaceId, row, [{ ...self, seq: row.seq, parentOid, pos }, ...target]);

    function self0() {
      return { oid, seq: last.seq, parentOid: null, pos: null, latest: newest!.vseq };
    }

    /** The active chain of the parent it goes under (its last one: NOT_FOUND says to pass another). */
    async function destinationChain(parentOid: string) {
      const found = toParent === undefined ? (await ctx.locate.chains([parentOid])).get(parentOid) : chains.get(parentOid);
      return checkActive(found, spaceId, parentOid, (o) => isTaken(ctx, o)).catch((error: unknown) => {
        if (error instanceof EngineError && toParent === undefined) {
          throw notFound(`cannot restore ${oid} where it was: its parent ${parentOid} is not in the active tree of space ${spaceId}; pass a parent to restore it under`);
        }
        throw error;
      });
    }

    /** Its key among the destination's children: a replayed one, its old one (or the next free), or the index's. */
    async function placeIn(kids: KidsNode): Promise<string> {
      if (to?.pos !== undefined) return freePosition(ctx, kids, to.pos, oid);
      if (toParent === undefined) return freePosition(ctx, kids, last.pos!, oid);
      return positionAt(ctx, kids, to?.index === undefined ? countOf(kids) : checkIndex(to.index, countOf(kids)));
    }
  }, origin);
}
