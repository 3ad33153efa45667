import type { Queryable } from "../storage/contract.js";

/** The mutable place of an objective: one `active_version` row. */
export interface Placement {
  readonly oid: string;
  readonly vid: string;
  readonly parentOid: string | null;
  readonly pos: string | null;
  readonly isRoot: boolean;
  readonly dirty: boolean;
  /**
   * Set by writes that know the objective has no `active_version` row yet (an import's new rows):
   * written with a plain insert, which costs half an upsert's speculative insertion.
   */
  readonly fresh?: boolean;
}

/** An `active_version` row as storage returns it. */
export interface PlacementRecord {
  oid: string;
  vid: string;
  parent_oid: string | null;
  pos: string | null;
  is_root: boolean;
  dirty: boolean;
}

/** A stored `active_version` row as a `Placement`. */
export const toPlacement = (r: PlacementRecord): Placement => ({ oid: r.oid, vid: r.vid, parentOid: r.parent_oid, pos: r.pos, isRoot: r.is_root, dirty: r.dirty });

/** One row of `logbook_chains`: a placement, the objective its chain starts from and its depth there. */
export interface ChainRecord extends PlacementRecord {
  start: string;
  d: number;
}

/**
 * The chains from each objective up to its top (a document root, or a removed subtree's top),
 * in one recursive query: `[self, parent, ..., top]`. An oid never created has no chain.
 */
export async function loadChains(
  q: Queryable,
  spaceId: string,
  oids: readonly string[],
): Promise<Map<string, Placement[]>> {
  const rows = await q.query<ChainRecord & Record<string, unknown>>("select * from logbook_chains($1, $2::uuid[])", [spaceId, [...new Set(oids)]]);
  return groupChains(rows);
}

/** Groups chain rows (`start, d, …`, each chain in order) by their start. */
export function groupChains(rows: readonly ChainRecord[]): Map<string, Placement[]> {
  const chains = new Map<string, Placement[]>();
  for (const r of rows) {
    let chain = chains.get(r.start);
    if (!chain) chains.set(r.start, (chain = []));
    chain.push(toPlacement(r));
  }
  return chains;
}

/** Whether a chain ends at a live document root, i.e. the objective is in the active tree. */
export function isActive(chain: readonly Placement[] | undefined): boolean {
  return chain !== undefined && chain.length > 0 && chain[chain.length - 1]!.isRoot;
}
