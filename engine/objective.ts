import type { Queryable } from "../storage/contract.js";
import type { Placement } from "./chains.js";
import { countOf } from "./children-tree.js";
import type { Core } from "./core.js";
import { notFound } from "./errors.js";
import { chunkLoader } from "./format/row-cache.js";
import { locator, type LocateEnv } from "./locate.js";
import type { Objective, VersionRow } from "./types.js";
import { storedEnv, storedTaken } from "./write.js";

/** The API's view of a version; `chain` (active versions only) adds depth and path. */
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
  // A root of the active tree here has no parent here (a partial replica's top keeps its records).
  return { ...base, ...(chain.length === 1 ? { parentOid: null } : {}), depth: chain.length - 1, path: chain.slice(1).map((p) => p.oid).reverse() };
}

/** What a read locates through: storage (outside any transaction) and the cache. */
export function readEnv(core: Core, spaceId: string, q: Queryable = core.storage): LocateEnv {
  return storedEnv(core, q, spaceId, chunkLoader(core.cache, q, spaceId));
}

/** The chain of an objective in the active tree, or NOT_FOUND naming it (and why). */
export async function activeChain(core: Core, spaceId: string, oid: string): Promise<Placement[]> {
  const chain = core.located?.get(`${spaceId}|${oid.toLowerCase()}`) ?? (await locator(readEnv(core, spaceId), { kind: "active" }).chains([oid])).get(oid);
  return checkActive(chain, spaceId, oid, (o) => storedTaken(core.storage, spaceId, o));
}

/**
 * The chain itself if the objective is in the active tree, else NOT_FOUND naming it and saying
 * whether it never existed or left the active tree.
 */
export async function checkActive(chain: Placement[] | undefined, spaceId: string, oid: string, taken: (oid: string) => Promise<boolean>): Promise<Placement[]> {
  if (chain) return chain;
  if (!(await taken(oid))) throw notFound(`objective ${oid} does not exist in space ${spaceId}`);
  throw notFound(`objective ${oid} was removed from the active tree of space ${spaceId}`);
}
