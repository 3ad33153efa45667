import { countOf, findChild } from "./children-tree.js";
import type { Core } from "./core.js";
import { allow, allowWhole } from "./roles.js";
import { EngineError, invalid } from "./errors.js";
import { checkActive, toObjective } from "./objective.js";
import { freePosition, planChains, positionAt, promote } from "./promote.js";
import type { Objective } from "./types.js";
import { checkId, checkIndex } from "./validate.js";
import { isTaken, runWrite, type Origin } from "./write.js";

/** Where to move an objective: a new parent and an index among its children (the end if omitted). */
export interface Destination {
  readonly parentOid: string;
  readonly index?: number;
}

/**
 * Moves an active objective (with its subtree) under another active parent, or to another index
 * of the same parent (reorder). Moving an objective into its own subtree is a `CYCLE`. The index
 * counts the destination's children without the moved objective.
 */
export async function move(
  core: Core,
  spaceId: string,
  oid: string,
  to: Destination & { readonly pos?: string },
  origin?: Origin,
): Promise<Objective> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  const parentOid = checkId("parentOid", to?.parentOid);
  return runWrite(core, spaceId, [oid, parentOid], async (ctx, chains) => {
    const chain = await checkActive(chains.get(oid), spaceId, oid, (o) => isTaken(ctx, o));
    const self = chain[0]!;
    if (self.parentOid === null) throw invalid(`objective ${oid} is a document root and cannot be moved`);
    const target = await checkActive(chains.get(parentOid), spaceId, parentOid, (o) => isTaken(ctx, o));
    if (target.some((p) => p.oid === oid)) {
      throw new EngineError("CYCLE", `cannot move ${oid} under ${parentOid}: that is inside its own subtree`);
    }
    // It leaves one subtree and enters another: the actor must edit both.
    await allowWhole(ctx, chain, "edit");
    await allow(ctx, target, "edit");
    const plan = await planChains(ctx, [chain, target]);
    const destination = plan.get(parentOid)!;
    const same = parentOid === self.parentOid;
    const current = same ? await findChild(destination.row.kids, self.pos!, ctx.loader) : undefined;
    const skip = current ? current.index : -1;
    const max = countOf(destination.row.kids) - (same ? 1 : 0);
    const index = to.index === undefined ? max : checkIndex(to.index, max);
    if (to.pos === undefined && same && index === skip) return toObjective(spaceId, plan.get(oid)!.row, chain);
    const pos = to.pos === undefined ? await positionAt(ctx, destination.row.kids, index, skip) : await freePosition(ctx, destination.row.kids, to.pos, oid);
    if (same && pos === self.pos) return toObjective(spaceId, plan.get(oid)!.row, chain);
    const node = plan.get(oid)!;
    node.moveTo = { parentOid, pos };
    // The source side loses it: a later checkout of any of these to an earlier version must know
    // that the objective lives elsewhere now (engine/checkout.ts).
    const kept = new Set(target.map((p) => p.oid));
    for (const p of chain.slice(1)) if (!kept.has(p.oid)) plan.get(p.oid)!.lost = [oid];
    // The destination side gains it: if one of these leaves a subtree later, a checkout of that
    // subtree must know the objective left with it.
    const source = new Set(chain.slice(1).map((p) => p.oid));
    for (const p of target) if (!source.has(p.oid)) plan.get(p.oid)!.gained = [oid];
    await promote(ctx, plan, [oid]);
    const row = node.done!;
    ctx.op = {
      kind: "move",
      oid,
      vidBefore: node.row.vid,
      vidAfter: row.vid,
      data: { fromParent: self.parentOid, fromPos: self.pos, toParent: parentOid, toPos: pos, index },
    };
    return toObjective(spaceId, row, [{ ...self, seq: row.seq, parentOid, pos }, ...target]);
  }, origin);
}
