/**
 * Every version a subtree version links, level by level (one statement per level for the
 * versions, one per level of chunks): what copies of a subtree (partial replicas, subtree
 * snapshots) send. Reads the versions the links name, never the objectives' newest ones.
 */
import type { Queryable } from "../storage/contract.js";
import type { KidsNode } from "./children-tree.js";
import { chunkLoader, loadVersions, type RowCache } from "./format/row-cache.js";
import type { VersionRow } from "./types.js";

/** What a walk reached: each objective once, at the version its parent's version links, and the chunks on the way. */
export interface WalkedSubtree {
  /** `[oid, seq]` of every version reached, roots first, a level at a time. */
  readonly keys: (readonly [string, number])[];
  /** Those versions, by `oid|seq`. */
  readonly versions: Map<string, VersionRow>;
  /** The chunks of their children trees, by id. */
  readonly chunks: Map<string, KidsNode>;
  /** Where each objective below the roots is linked (by lowercase oid): its parent and position key. */
  readonly places: Map<string, { readonly parentOid: string; readonly pos: string }>;
}

/** Walks the subtrees of `roots` (versions by `[oid, seq]`). Throws when a linked version is missing. */
export async function walkSubtree(cache: RowCache, q: Queryable, spaceId: string, roots: readonly (readonly [string, number])[]): Promise<WalkedSubtree> {
  const loader = chunkLoader(cache, q, spaceId);
  const keys: (readonly [string, number])[] = [];
  const versions = new Map<string, VersionRow>();
  const chunks = new Map<string, KidsNode>();
  const places = new Map<string, { parentOid: string; pos: string }>();
  let level = roots;
  while (level.length > 0) {
    const rows = await loadVersions(cache, q, spaceId, level);
    const next: (readonly [string, number])[] = [];
    for (const [oid, seq] of level) {
      const row = rows.get(`${oid}|${seq}`);
      if (!row) throw new Error(`version ${oid}@${seq} is missing`);
      keys.push([oid, seq]);
      versions.set(`${oid}|${seq}`, row);
      for (let nodes: KidsNode[] = [row.kids]; nodes.length > 0; ) {
        const inner: string[] = [];
        for (const node of nodes) {
          if ("l" in node) {
            for (const e of node.l) {
              next.push([e[0], e[1]]);
              places.set(e[0].toLowerCase(), { parentOid: oid, pos: e[2] });
            }
          }
          else for (const ref of node.i) if (!chunks.has(ref[0])) inner.push(ref[0]);
        }
        const got = inner.length > 0 ? await loader.getMany(inner) : [];
        got.forEach((n, i) => chunks.set(inner[i]!, n));
        nodes = got;
      }
    }
    level = next;
  }
  return { keys, versions, chunks, places };
}
