/**
 * Where objectives are. There is no mutable index of the tree: every stored row of an objective
 * records its place (parent and position key) after the row's last record, and its newest row is
 * where it is, unless a checkout above it restored an older version. So finding an objective is
 * a walk up its newest rows to a document root (one statement, `logbook_chains`), checked top-down:
 * each parent's active version must link the child at that position (engine/locate.ts).
 */
import type { Queryable } from "../storage/contract.js";
import { REMOVED } from "./format/rows.js";

/** One step of an objective's chain to its document root, as found. */
export interface Placement {
  readonly oid: string;
  /** Seq of the version the parent links (the objective's active version). */
  readonly seq: number;
  /** The parent; null for a document root. */
  readonly parentOid: string | null;
  readonly pos: string | null;
  /**
   * The version current after the objective's newest stored record (its seq). A new version based
   * on any other version is stored as an image, so delta chains stay one range of rows.
   */
  readonly latest: number | undefined;
  /** Key of the objective's newest stored row (where a mark of this write goes). */
  readonly latestRow?: number | undefined;
  /** Rows of its subtree, itself included, as its parent's link counts them (unset for a top). */
  readonly rows?: number;
}

/** An objective's newest stored row, as the chain walk reads it. */
export interface Hint {
  readonly oid: string;
  /** Key of the row (its first record's seq). */
  readonly key: number;
  /** The version current after the row's last record. */
  readonly vseq: number;
  readonly parentOid: string | null;
  readonly pos: string | null;
  /** Whether the row's last record removes the objective (for a document root: the document). */
  readonly removed: boolean;
}

/** A row of `logbook_chains`. */
export interface HintRecord {
  start: string;
  d: number;
  oid: string;
  key: number;
  vseq: number;
  parent_oid: string | null;
  pos: string | null;
  flags: number;
}

/** A stored hint row as a `Hint`. */
export const toHint = (r: HintRecord): Hint => ({ oid: r.oid, key: r.key, vseq: r.vseq, parentOid: r.parent_oid, pos: r.pos, removed: (r.flags & REMOVED) !== 0 });

/** Groups `logbook_chains` rows by start, each chain in order `[self, parent, ..., top]`. */
export function groupHints(rows: readonly HintRecord[]): Map<string, Hint[]> {
  const out = new Map<string, Hint[]>();
  for (const r of rows) {
    let chain = out.get(r.start);
    if (!chain) out.set(r.start, (chain = []));
    chain.push(toHint(r));
  }
  return out;
}

/**
 * The newest-row chains of objectives up to their tops, in one statement; `maxSeq` reads them as
 * they were after that seq (finding objectives in a past version). An oid with no row has no chain.
 */
export async function loadHints(q: Queryable, spaceId: string, oids: readonly string[], maxSeq?: number): Promise<Map<string, Hint[]>> {
  const rows = await q.query<HintRecord & Record<string, unknown>>("select * from logbook_chains($1, $2::uuid[], $3)", [
    spaceId,
    [...new Set(oids)],
    maxSeq ?? null,
  ]);
  return groupHints(rows);
}
