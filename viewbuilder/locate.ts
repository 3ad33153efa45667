import type { Queryable } from "../storage/contract.js";
import { isActive, loadChains } from "../engine/chains.js";
import { findChild, type ChunkLoader } from "../engine/children-tree.js";
import type { RowCache } from "../engine/row-cache.js";
import { loadVersion, loadVersions } from "../engine/row-cache.js";
import type { VersionRow } from "../engine/types.js";

/** Where an objective sits in one version of a document. */
export interface Located {
  readonly oid: string;
  readonly vid: string;
  /** Rows of its subtree, itself included. */
  readonly rows: number;
  /** From the root's child down to the objective itself: each step's oid and position key. */
  readonly path: readonly { readonly oid: string; readonly pos: string }[];
}

/** What locating needs: storage, cache and the tree's root version. */
export interface TreeRef {
  readonly q: Queryable;
  readonly cache: RowCache;
  readonly spaceId: string;
  readonly loader: ChunkLoader;
  readonly root: VersionRow;
  /** Whether `root` is the document's active version (then the active index answers). */
  readonly active: boolean;
}

/** Finds objectives in a version tree; those not in it are absent from the result. */
export async function locate(tree: TreeRef, oids: readonly string[]): Promise<Map<string, Located>> {
  const want = [...new Set(oids)].filter((o) => o !== tree.root.oid);
  if (want.length === 0) return new Map();
  return tree.active ? locateActive(tree, want) : locatePast(tree, want);
}

async function locateActive(tree: TreeRef, oids: string[]): Promise<Map<string, Located>> {
  const chains = await loadChains(tree.q, tree.spaceId, oids);
  // The view's root may be any active objective (zoomed in), not only a document root.
  const found = [...chains.entries()].filter(([, ch]) => isActive(ch) && ch.some((p, i) => i > 0 && p.oid === tree.root.oid));
  const rows = await loadVersions(tree.cache, tree.q, tree.spaceId, found.map(([o, ch]) => [o, ch[0]!.vid] as const));
  const out = new Map<string, Located>();
  for (const [oid, ch] of found) {
    const row = rows.get(`${oid}|${ch[0]!.vid}`)!;
    const top = ch.findIndex((p) => p.oid === tree.root.oid);
    const path = ch.slice(0, top).reverse().map((p) => ({ oid: p.oid, pos: p.pos! }));
    out.set(oid, { oid, vid: ch[0]!.vid, rows: 1 + row.stats.descendants, path });
  }
  return out;
}

type Candidate = {
  vid: string;
  parent_oid: string | null;
  pos: string | null;
};

/**
 * In a past tree the index does not help. Every version row records its parent and position,
 * which are its place in every tree that links it; so the objective's version in this tree is one
 * of its versions no newer than the root, and the right one is the candidate whose parent (found
 * the same way) links it at that position. Sound and complete; usually the newest candidate wins.
 */
async function locatePast(tree: TreeRef, oids: string[]): Promise<Map<string, Located>> {
  const found = new Map<string, { vid: string; pos: string; parent: string; rows: number }>();
  const candidates = new Map<string, Candidate[]>();
  const fetch = async (ids: string[]) => {
    const missing = ids.filter((o) => !candidates.has(o));
    if (missing.length === 0) return;
    for (const o of missing) candidates.set(o, []);
    const rows = await tree.q.query<Candidate & { oid: string }>(
      `select oid, vid, parent_oid, pos from objective
        where space_id = $1 and oid = any($2::uuid[]) and seq <= $3 order by seq desc`,
      [tree.spaceId, missing, tree.root.seq],
    );
    tree.cache.rowsRead += rows.length;
    for (const r of rows) candidates.get(r.oid)!.push(r);
  };
  const busy = new Set<string>();
  const resolve = async (x: string): Promise<boolean> => {
    if (x === tree.root.oid || found.has(x)) return true;
    if (busy.has(x)) return false;
    busy.add(x);
    try {
      await fetch([x]);
      for (const c of candidates.get(x)!) {
        if (c.parent_oid === null || c.pos === null || !(await resolve(c.parent_oid))) continue;
        const parentVid = c.parent_oid === tree.root.oid ? tree.root.vid : found.get(c.parent_oid)!.vid;
        const parent = await loadVersion(tree.cache, tree.q, tree.spaceId, c.parent_oid, parentVid);
        const hit = parent && (await findChild(parent.kids, c.pos, tree.loader));
        if (hit && hit.entry[0] === x) {
          found.set(x, { vid: hit.entry[1], pos: c.pos, parent: c.parent_oid, rows: hit.entry[3] });
          return true;
        }
      }
      return false;
    } finally {
      busy.delete(x);
    }
  };
  await fetch(oids);
  const out = new Map<string, Located>();
  for (const oid of oids) {
    if (!(await resolve(oid))) continue;
    const path: { oid: string; pos: string }[] = [];
    for (let at: string = oid; at !== tree.root.oid; at = found.get(at)!.parent) path.push({ oid: at, pos: found.get(at)!.pos });
    const self = found.get(oid)!;
    out.set(oid, { oid, vid: self.vid, rows: self.rows, path: path.reverse() });
  }
  return out;
}
