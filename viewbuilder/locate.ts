import type { Queryable } from "../storage/contract.js";
import type { ChunkLoader } from "../engine/children-tree.js";
import type { Core } from "../engine/core.js";
import { locator } from "../engine/locate.js";
import { readEnv } from "../engine/objective.js";
import type { RowCache } from "../engine/format/row-cache.js";
import type { VersionRow } from "../engine/types.js";

/** Where an objective sits in one version of a document. */
export interface Located {
  readonly oid: string;
  /** Seq of its version in that tree (with the oid, the version's storage key). */
  readonly seq: number;
  /** Rows of its subtree, itself included. */
  readonly rows: number;
  /** From the root's child down to the objective itself: each step's oid, position key and version. */
  readonly path: readonly { readonly oid: string; readonly pos: string; readonly seq: number }[];
}

/** What locating needs: storage, cache and the tree's root version. */
export interface TreeRef {
  readonly core: Core;
  readonly q: Queryable;
  readonly cache: RowCache;
  readonly spaceId: string;
  readonly loader: ChunkLoader;
  readonly root: VersionRow;
}

/**
 * Finds objectives in a version tree (the active one or a past one alike: engine/locate.ts finds
 * each through its parents' links, newest place first); those not in it are absent.
 */
export async function locate(tree: TreeRef, oids: readonly string[]): Promise<Map<string, Located>> {
  const want = [...new Set(oids)].filter((o) => o !== tree.root.oid);
  const out = new Map<string, Located>();
  if (want.length === 0) return out;
  const chains = await locator(readEnv(tree.core, tree.spaceId, tree.q), { kind: "in", root: tree.root }).chains(want);
  for (const [oid, chain] of chains) {
    if (!chain) continue;
    const steps = chain.slice(0, -1).reverse();
    out.set(oid, { oid, seq: chain[0]!.seq, rows: chain[0]!.rows ?? 1, path: steps.map((p) => ({ oid: p.oid, pos: p.pos!, seq: p.seq })) });
  }
  return out;
}
