import type { Core } from "./core.js";
import { checkActive } from "./objective.js";
import { allow, allowWhole } from "./roles.js";
import { planChains, promote } from "./promote.js";
import { checkId } from "./validate.js";
import { isTaken, runWrite, writeMark, type Origin } from "./write.js";

/**
 * Removes an active objective and its subtree from the active tree (a document root removes the
 * document). Nothing is deleted: every version stays readable, and a checkout of an ascendant
 * to a version before the removal brings the subtree back.
 */
export async function remove(core: Core, spaceId: string, oid: string, origin?: Origin): Promise<void> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  await runWrite(core, spaceId, [oid], async (ctx, chains) => {
    const chain = await checkActive(chains.get(oid), spaceId, oid, (o) => isTaken(ctx, o));
    await allowWhole(ctx, chain, "edit");
    const self = chain[0]!;
    const plan = await planChains(ctx, [chain]);
    const node = plan.get(oid)!;
    node.done = node.row; // the removed objective keeps its version; only its ascendants change
    writeMark(ctx, node.row, true, self.latestRow);
    if (self.parentOid) plan.get(self.parentOid)!.kidOps.push({ pos: self.pos!, entry: null, removed: node.row, added: null });
    for (const p of chain.slice(1)) plan.get(p.oid)!.lost = [oid];
    await promote(ctx, plan);
    ctx.op = {
      kind: "remove",
      oid,
      vidBefore: node.row.vid,
      vidAfter: null,
      data: { fromParent: self.parentOid, fromPos: self.pos },
    };
  }, origin);
}
