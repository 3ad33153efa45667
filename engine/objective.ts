import type { Queryable } from "../storage/contract.js";
import { isActive, loadChains, type Placement } from "./chains.js";
import { countOf } from "./children-tree.js";
import { notFound } from "./errors.js";
import type { Objective, VersionRow } from "./types.js";

/** The API's view of a version row; `chain` (active versions only) adds depth and path. */
export function toObjective(spaceId: string, row: VersionRow, chain?: readonly Placement[]): Objective {
  const base = {
    spaceId,
    oid: row.oid,
    vid: row.vid,
    content: row.content,
    props: row.props,
    parentOid: row.parentOid,
    createdAt: row.createdAt,
    stats: row.stats,
    childCount: countOf(row.kids),
  };
  if (!chain) return base;
  return { ...base, depth: chain.length - 1, path: chain.slice(1).map((p) => p.oid).reverse() };
}

/** The chain of an objective in the active tree, or NOT_FOUND naming it (and why). */
export async function activeChain(q: Queryable, spaceId: string, oid: string): Promise<Placement[]> {
  return checkActive((await loadChains(q, spaceId, [oid])).get(oid), spaceId, oid);
}

/** The chain itself if the objective is in the active tree, else NOT_FOUND naming it (and why). */
export function checkActive(chain: Placement[] | undefined, spaceId: string, oid: string): Placement[] {
  if (!chain) throw notFound(`objective ${oid} does not exist in space ${spaceId}`);
  if (!isActive(chain)) throw notFound(`objective ${oid} was removed from the active tree of space ${spaceId}`);
  return chain;
}
