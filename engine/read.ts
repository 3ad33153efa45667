import { countOf, sliceChildren, type Entry } from "./children-tree.js";
import type { Core } from "./core.js";
import { EngineError, invalid, notFound } from "./errors.js";
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

/** Options of `subtree`. */
export interface SubtreeOptions extends At {
  /** Levels below the objective to return (1: its children only). */
  readonly depth: number;
}

/** A row of `subtree`: a version, and its level below the subtree's root (0: a child). */
export type SubtreeRow = Objective & { readonly level: number };

/** Versions read per statement while reading a level. */
const LEVEL_BATCH = 2_000;

/**
 * The rows of a subtree down to `depth` levels below it, depth-first, read a level at a time:
 * every level's versions in a few statements, so the cost follows the rows returned, however big
 * the tree below them. The rows are held in memory: for a window of a big tree, use `view`.
 */
export async function subtree(core: Core, spaceId: string, oid: string, options: SubtreeOptions): Promise<SubtreeRow[]> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  const depth = options.depth;
  if (!Number.isInteger(depth) || depth < 1) throw invalid(`depth must be a positive integer, got ${JSON.stringify(depth)}`);
  const { row: root } = await versionOrActive(core, spaceId, oid, options.vid);
  const loader = chunkLoader(core.cache, core.storage, spaceId);
  const kidsOf = new Map<VersionRow, VersionRow[]>();
  let level: VersionRow[] = [root];
  for (let d = 0; d < depth && level.length > 0; d++) {
    const wanted: (readonly [VersionRow, Entry[]])[] = [];
    for (const parent of level) if (countOf(parent.kids) > 0) wanted.push([parent, await sliceChildren(parent.kids, 0, countOf(parent.kids), loader)]);
    const keys = wanted.flatMap(([, entries]) => entries.map((e) => [e[0], e[1]] as const));
    const rows = new Map<string, VersionRow>();
    for (let i = 0; i < keys.length; i += LEVEL_BATCH) {
      for (const [k, v] of await loadVersions(core.cache, core.storage, spaceId, keys.slice(i, i + LEVEL_BATCH))) rows.set(k, v);
    }
    level = [];
    for (const [parent, entries] of wanted) {
      const kids = entries.map((e) => rows.get(`${e[0]}|${e[1]}`) as VersionRow);
      kidsOf.set(parent, kids);
      level.push(...kids);
    }
  }
  const out: SubtreeRow[] = [];
  const walk = (parent: VersionRow, at: number): void => {
    for (const kid of kidsOf.get(parent) ?? []) {
      out.push({ ...toObjective(spaceId, kid), level: at });
      walk(kid, at + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** The documents of a space (their active root versions), oldest first. */
export async function documents(core: Core, spaceId: string): Promise<Objective[]> {
  spaceId = checkId("spaceId", spaceId);
  const rows = await core.storage.query<{ oid: string }>("select oid from document where space_id = $1 order by oid", [spaceId]);
  const out: Objective[] = [];
  for (const { oid } of rows) {
    try {
      out.push(await get(core, spaceId, oid));
    } catch (error) {
      // A root checked out to before it existed has no active version: it is not listed.
      if (!(error instanceof EngineError && error.code === "NOT_FOUND")) throw error;
    }
  }
  return out;
}
