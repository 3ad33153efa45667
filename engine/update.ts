import type { Core } from "./core.js";
import { jsonEqual } from "./json-equal.js";
import { allow } from "./roles.js";
import { invalid } from "./errors.js";
import { checkActive, toObjective } from "./objective.js";
import { planChains, promote } from "./promote.js";
import type { Json, Objective, Props } from "./types.js";
import { checkContent, checkId, checkProps } from "./validate.js";
import { isTaken, runWrite, type Origin } from "./write.js";

/** A partial change of an objective's own fields. */
export interface Patch {
  readonly content?: string;
  /** Merged into the props key by key; a key set to `null` is deleted. */
  readonly props?: { readonly [key: string]: Json };
}

function merge(base: Props, patch: Props): Props {
  const out: Props = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/**
 * Changes content and/or props of an active objective: one new version of it and of each
 * ascendant. A patch that changes nothing writes nothing and returns the current version.
 */
export async function update(core: Core, spaceId: string, oid: string, patch: Patch, origin?: Origin): Promise<Objective> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  if (patch === null || typeof patch !== "object") throw invalid(`patch must be an object, got ${String(patch)}`);
  const content = patch.content === undefined ? undefined : checkContent(patch.content, core.limits);
  const propsPatch = patch.props === undefined ? undefined : checkProps(patch.props, core.limits);
  return runWrite(core, spaceId, [oid], async (ctx, chains) => {
    const chain = await checkActive(chains.get(oid), spaceId, oid, (o) => isTaken(ctx, o));
    await allow(ctx, chain, "edit");
    const plan = await planChains(ctx, [chain]);
    const self = plan.get(oid)!;
    const props = propsPatch ? checkProps(merge(self.row.props, propsPatch), core.limits) : undefined;
    const sameContent = content === undefined || content === self.row.content;
    const sameProps = props === undefined || jsonEqual(props, self.row.props);
    if (sameContent && sameProps) return toObjective(spaceId, self.row, chain);
    if (!sameContent) self.content = content!;
    if (!sameProps) self.props = props!;
    await promote(ctx, plan, [oid]);
    const row = self.done!;
    ctx.op = {
      kind: "update",
      oid,
      vidBefore: self.row.vid,
      vidAfter: row.vid,
      data: { ...(sameContent ? {} : { content: content! }), ...(sameProps ? {} : { props: propsPatch! }) },
    };
    return toObjective(spaceId, row, [{ ...chain[0]!, seq: row.seq }, ...chain.slice(1)]);
  }, origin);
}
