import type { Queryable } from "../storage/contract.js";
import { allChildren, diffChildren, findChild, type ChunkLoader } from "./children-tree.js";
import type { Core } from "./core.js";
import { jsonEqual } from "./json-equal.js";
import { chunkLoader, loadVersions } from "./format/row-cache.js";
import { versionByVid } from "./read.js";
import type { Change, VersionRow } from "./types.js";
import { checkId, checkVid } from "./validate.js";

/** Where an objective sits in one version tree. */
interface Place {
  readonly parent: string;
  readonly pos: string;
  readonly seq: number;
}

/**
 * Differences between two versions of one subtree (DESIGN.md §7). Links equal in both are equal
 * subtrees and are never read: the cost is O(changed × depth), not O(subtree). Objectives in a
 * created or deleted subtree are listed one by one.
 */
export async function diff(core: Core, spaceId: string, oid: string, fromVid: string, toVid: string): Promise<Change[]> {
  spaceId = checkId("spaceId", spaceId);
  oid = checkId("oid", oid);
  fromVid = checkVid("fromVid", fromVid);
  toVid = checkVid("toVid", toVid);
  const q: Queryable = core.storage;
  const load = (keys: (readonly [string, number])[]) => loadVersions(core.cache, q, spaceId, keys);
  const a = await versionByVid(core, spaceId, oid, fromVid);
  const b = await versionByVid(core, spaceId, oid, toVid);
  if (fromVid === toVid) return [];
  const loader = chunkLoader(core.cache, q, spaceId);
  const walk = await compare(a, b, loader, load);
  return describe(walk, a, b, loader, load);
}

interface Walk {
  readonly before: Map<string, Place>;
  readonly after: Map<string, Place>;
  readonly rowsBefore: Map<string, VersionRow>;
  readonly rowsAfter: Map<string, VersionRow>;
}

async function compare(
  a: VersionRow,
  b: VersionRow,
  loader: ChunkLoader,
  load: (keys: (readonly [string, number])[]) => Promise<Map<string, VersionRow>>,
): Promise<Walk> {
  const walk: Walk = { before: new Map(), after: new Map(), rowsBefore: new Map([[a.oid, a]]), rowsAfter: new Map([[b.oid, b]]) };
  const paired = new Set<string>([a.oid]);
  let pairs: [string, number, number][] = [[a.oid, a.seq, b.seq]];
  let expandBefore: string[] = [];
  let expandAfter: string[] = [];
  const expanded = new Set<string>();
  while (pairs.length + expandBefore.length + expandAfter.length > 0) {
    const rows = await load([
      ...pairs.flatMap(([o, x, y]) => [[o, x] as const, [o, y] as const]),
      ...expandBefore.map((o) => [o, walk.before.get(o)!.seq] as const),
      ...expandAfter.map((o) => [o, walk.after.get(o)!.seq] as const),
    ]);
    const added: string[] = [];
    const add = (side: Map<string, Place>, parent: string, entries: readonly (readonly [string, number, string, number])[]) => {
      for (const e of entries) {
        side.set(e[0], { parent, pos: e[2], seq: e[1] });
        added.push(e[0]);
      }
    };
    for (const [o, x, y] of pairs) {
      const ra = rows.get(`${o}|${x}`)!;
      const rb = rows.get(`${o}|${y}`)!;
      walk.rowsBefore.set(o, ra);
      walk.rowsAfter.set(o, rb);
      const { onlyA, onlyB } = await diffChildren(ra.kids, rb.kids, loader);
      add(walk.before, o, onlyA);
      add(walk.after, o, onlyB);
    }
    for (const o of expandBefore) {
      const r = rows.get(`${o}|${walk.before.get(o)!.seq}`)!;
      walk.rowsBefore.set(o, r);
      add(walk.before, o, await allChildren(r.kids, loader));
    }
    for (const o of expandAfter) {
      const r = rows.get(`${o}|${walk.after.get(o)!.seq}`)!;
      walk.rowsAfter.set(o, r);
      add(walk.after, o, await allChildren(r.kids, loader));
    }
    pairs = [];
    expandBefore = [];
    expandAfter = [];
    for (const o of added) {
      const x = walk.before.get(o);
      const y = walk.after.get(o);
      if (!x || !y || paired.has(o)) continue;
      paired.add(o);
      // One side already listed all its children: list the other side's too, so they pair.
      if (expanded.has(o)) (expanded.add(`+${o}`), expandAfter.push(o));
      else if (expanded.has(`+${o}`)) (expanded.add(o), expandBefore.push(o));
      else if (x.seq !== y.seq) pairs.push([o, x.seq, y.seq]);
    }
    // Only when nothing is left to pair: what is on one side alone is created or deleted, and its
    // whole subtree must be listed (a descendant may have moved out of it and pair elsewhere).
    if (pairs.length + expandBefore.length + expandAfter.length === 0) {
      for (const [o] of walk.before) if (!walk.after.has(o) && !expanded.has(o)) (expanded.add(o), expandBefore.push(o));
      for (const [o] of walk.after) if (!walk.before.has(o) && !expanded.has(`+${o}`)) (expanded.add(`+${o}`), expandAfter.push(o));
    }
  }
  return walk;
}

async function indexIn(rows: Map<string, VersionRow>, place: Place, loader: ChunkLoader): Promise<number> {
  const parent = rows.get(place.parent)!;
  return (await findChild(parent.kids, place.pos, loader))!.index;
}

/** Whether two versions carry the same content and props (compared as JSON values, see `jsonEqual`). */
function sameFields(x: VersionRow, y: VersionRow): boolean {
  return x.content === y.content && jsonEqual(x.props, y.props);
}

async function describe(
  walk: Walk,
  a: VersionRow,
  b: VersionRow,
  loader: ChunkLoader,
  load: (keys: (readonly [string, number])[]) => Promise<Map<string, VersionRow>>,
): Promise<Change[]> {
  // Vids of objectives whose link differs but whose version was pruned (moved unchanged).
  const rows = await load([...[...walk.before].map(([o, x]) => [o, x.seq] as const), ...[...walk.after].map(([o, y]) => [o, y.seq] as const)]);
  const vidOf = (o: string, x: Place) => rows.get(`${o}|${x.seq}`)!.vid;
  const changes: Change[] = [];
  if (!sameFields(a, b)) changes.push({ kind: "updated", oid: a.oid, vidBefore: a.vid, vidAfter: b.vid });
  for (const [o, x] of walk.before) {
    const y = walk.after.get(o);
    if (!y) {
      changes.push({ kind: "deleted", oid: o, vidBefore: vidOf(o, x), parentBefore: x.parent, indexBefore: await indexIn(walk.rowsBefore, x, loader) });
      continue;
    }
    const place = {
      vidBefore: vidOf(o, x),
      vidAfter: vidOf(o, y),
      parentBefore: x.parent,
      parentAfter: y.parent,
      indexBefore: await indexIn(walk.rowsBefore, x, loader),
      indexAfter: await indexIn(walk.rowsAfter, y, loader),
    };
    if (x.parent !== y.parent) changes.push({ kind: "moved", oid: o, ...place });
    else if (x.pos !== y.pos) changes.push({ kind: "reordered", oid: o, ...place });
    if (x.seq !== y.seq && !sameFields(walk.rowsBefore.get(o)!, walk.rowsAfter.get(o)!)) {
      changes.push({ kind: "updated", oid: o, vidBefore: vidOf(o, x), vidAfter: vidOf(o, y) });
    }
  }
  for (const [o, y] of walk.after) {
    if (walk.before.has(o)) continue;
    changes.push({ kind: "created", oid: o, vidAfter: vidOf(o, y), parentAfter: y.parent, indexAfter: await indexIn(walk.rowsAfter, y, loader) });
  }
  const order = { deleted: 0, created: 1, moved: 2, reordered: 3, updated: 4 };
  return changes.sort((p, q) => (p.oid < q.oid ? -1 : p.oid > q.oid ? 1 : order[p.kind] - order[q.kind]));
}
