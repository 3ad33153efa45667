import { countOf, sliceChildren } from "./children-tree.js";
import type { Core } from "./core.js";
import { notFound } from "./errors.js";
import { seqOfVid, storedVidLookup } from "./find-version.js";
import { cachedSeqOfVid, chunkLoader, loadVersion, loadVersions, rememberVid } from "./format/row-cache.js";
import { activeChain, toObjective } from "./objective.js";
import type { Placement } from "./chains.js";
import type { Objective, VersionRow } from "./types.js";
import { checkId, checkLimit, checkOffset, checkVid } from "./validate.js";

/** Options of `get` and `children`: a past version instead of the active one. */
export interface At {
  readonly vid?: string;
}

/** A version of an objective by its vid, or NOT_FOUND naming both. */
export async function versionByVid(core: Core, spaceId: string, oid: string, vid: string): Promise<VersionRow> {
  const seq = cachedSeqOfVid(core.cache, spaceId, oid, vid) ?? (await seqOfVid(storedVidLookup(core.storage, spaceId), oid, vid));
  const row = seq === undefined ? undefined : await loadVersion(core.cache, core.storage, spaceId, oid, seq);
  if (!row || row.vid !== vid) throw notFound(`objective ${oid} has no version ${vid} in space ${spaceId}`);
  rememberVid(core.cache, spaceId, row);
  return row;
}

/** The active version of an objective (with its chain), or the version `vid`. */
export async function versionOrActive(core: Core, spaceId: string, oid: string, vid: string | undefined): Promise<{ row: VersionRow; chain: Placement[] | undefined }> {
  if (vid === undefined) {
    const chain = await activeChain(core, spaceId, oid);
    const row = await loadVersion(core.cache, core.storage, spaceId, oid, chain[0]!.seq);
    if (!row) throw new Error(`active version ${oid}@${chain[0]!.seq} is missing`);
    return { row, chain };
  }
  return { row: await versionByVid(core, spaceId, oid, checkVid("vid", vid)), chain: undefined };
}

/** The active version of an objective (with depth and path), or the version `vid`. */
export async function get(core: Core, spaceId: string, oid: string, at: At = {}): Promise<Objective> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  const { row, chain } = await versionOrActive(core, spaceId, oid, at.vid);
  return toObjective(spaceId, row, chain);
}

/** Options of `children`. */
export interface ChildrenOptions extends At {
  readonly offset?: number;
  readonly limit?: number;
}

/** Children of the active version (or of `vid`) in order, `[offset, offset + limit)`. */
export async function children(core: Core, spaceId: string, oid: string, options: ChildrenOptions = {}): Promise<Objective[]> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  const offset = checkOffset(options.offset);
  const limit = checkLimit(options.limit, 1000, 100_000);
  const { row } = await versionOrActive(core, spaceId, oid, options.vid);
  if (offset >= countOf(row.kids)) return [];
  const entries = await sliceChildren(row.kids, offset, limit, chunkLoader(core.cache, core.storage, spaceId));
  const rows = await loadVersions(core.cache, core.storage, spaceId, entries.map((e) => [e[0], e[1]] as const));
  return entries.map((e) => toObjective(spaceId, rows.get(`${e[0]}|${e[1]}`) as VersionRow));
}
