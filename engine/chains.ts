/**
 * Where objectives are. There is no mutable index of the tree: every stored row of an objective
 * records its place (parent and position key) after the row's last record, and its newest row is
 * where it is, unless a checkout above it restored an older version. So finding an objective is
 * a walk up its newest rows to a document root (one statement, `logbook_chains`), checked top-down:
 * each parent's active version must link the child at that position (engine/locate.ts).
 */
import type { Queryable } from "../storage/contract.js";
import { MOVED, REMOVED, replay } from "./format/rows.js";

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

/**
 * The chains `[self, parent, ..., top]` of `starts` from `logbook_chains` rows, which list each
 * objective once (chains that meet share their rest). A start with no row has an empty chain.
 */
export function groupHints(rows: readonly HintRecord[], starts: readonly string[]): Map<string, Hint[]> {
  const byOid = new Map<string, Hint>();
  for (const r of rows) byOid.set(r.oid, toHint(r));
  const out = new Map<string, Hint[]>();
  for (const start of starts) {
    const { chain } = walkUp(start.toLowerCase(), (o) => byOid.get(o));
    if (chain.length > 0) out.set(start, chain);
  }
  return out;
}

/**
 * An objective's chain `[self, parent, ..., top]` from hints by oid: up to a document root, or to
 * the first objective `get` does not know (`missing`; null when the walk reached a root), or to
 * the first hint `stop` accepts (included).
 */
export function walkUp(start: string, get: (oid: string) => Hint | undefined, stop?: (h: Hint) => boolean): { chain: Hint[]; missing: string | null } {
  const chain: Hint[] = [];
  for (let at: string | null = start; at !== null; ) {
    const h = get(at);
    if (!h) return { chain, missing: at };
    chain.push(h);
    if ((stop && stop(h)) || chain.length > 100_000) break;
    at = h.parentOid;
  }
  return { chain, missing: null };
}

/**
 * The newest-row chains of objectives up to their tops, in one statement; `maxSeq` reads them as
 * they were after that seq (finding objectives in a past version). An oid with no row has no chain.
 */
export async function loadHints(q: Queryable, spaceId: string, oids: readonly string[], maxSeq?: number): Promise<Map<string, Hint[]>> {
  const starts = [...new Set(oids)];
  const rows = await q.query<HintRecord & Record<string, unknown>>("select * from logbook_chains($1, $2::uuid[], $3)", [spaceId, starts, maxSeq ?? null]);
  return groupHints(rows, starts);
}

/**
 * Each objective's place as of `maxSeq`, exactly: the segment holding that time is read whole and
 * its records up to `maxSeq` replayed (a segment's columns describe its end, which may be later).
 * One statement for all of them, which also climbs from each row whose records never moved the
 * objective (no `MOVED` flag: its parent column is its parent at `maxSeq` too) to that parent, up
 * to `stop` (the root of the tree searched), and sends those ancestors' exact places as well: the
 * caller's walk goes on from a moved row's exact parent only.
 */
export async function loadExactHints(q: Queryable, spaceId: string, oids: readonly string[], maxSeq: number, stop: string | null): Promise<Map<string, Hint>> {
  const probe = (key: string) =>
    `select t.oid, t.seq, t.parent_oid, t.flags from version t where t.space_id = $1 and t.oid = ${key} and t.seq <= $3 order by t.seq desc limit 1`;
  const rows = await q.query<{ oid: string; seq: number; body: Uint8Array }>(
    `with recursive w(oid, seq, parent_oid, flags) as (
       select v.* from unnest($2::uuid[]) as k(oid) cross join lateral (${probe("k.oid")}) v
       union
       select v.* from w cross join lateral (${probe("w.parent_oid")}) v where w.flags & ${MOVED} = 0 and ($4::uuid is null or w.oid <> $4::uuid)
     ) select w.oid, w.seq, b.body from w
       cross join lateral (select t.body from version t where t.space_id = $1 and t.oid = w.oid and t.seq = w.seq limit 1) b`,
    [spaceId, [...new Set(oids)], maxSeq, stop],
  );
  const out = new Map<string, Hint>();
  for (const row of rows) {
    const h = hintAsOf(row.oid, row.seq, row.body, maxSeq);
    if (h) out.set(row.oid, h);
  }
  return out;
}

/** The newest-row hint of one segment as of `maxSeq` (its records up to it replayed). */
export function hintAsOf(oid: string, key: number, body: Uint8Array, maxSeq: number): Hint | undefined {
  const last = replay(body, maxSeq).at(-1);
  return last && { oid, key, vseq: last.vseq, parentOid: last.parentOid, pos: last.pos, removed: last.removed };
}
