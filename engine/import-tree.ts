import { generateNKeysBetween } from "fractional-indexing";
import { EMPTY, MAX_LINKS, countOf, rowsOf, sliceChildren, type ChunkRef, type ChunkSink, type Entry, type KidsNode } from "./children-tree.js";
import type { Core } from "./core.js";
import { EngineError } from "./errors.js";
import { newOid, versionId } from "./ids.js";
import { checkActive } from "./objective.js";
import { entryOf, planChains, promote } from "./promote.js";
import { adjustStats, ZERO_STATS } from "./stats.js";
import type { Props, VersionRow } from "./types.js";
import { checkContent, checkId, checkIndex, checkProps } from "./validate.js";
import { runWrite, type WriteCtx } from "./write.js";

/** One objective to import, with its subtree. */
export interface TreeInput {
  readonly content: string;
  readonly props?: Props;
  readonly oid?: string;
  readonly children?: readonly TreeInput[];
}

/** Options of `importTree`. */
export interface ImportOptions {
  /** Where the trees go; omitted: each top-level tree becomes a new document. */
  readonly parentOid?: string;
  /** Index among the parent's children; the end when omitted. */
  readonly index?: number;
  readonly nodes: readonly TreeInput[];
  /** Called while rows are built and written (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Builds a children tree bottom-up from sorted entries: full chunks, no splitting work. */
export function buildChildren(entries: readonly Entry[], sink: ChunkSink): KidsNode {
  if (entries.length <= MAX_LINKS) return entries.length === 0 ? EMPTY : { l: entries.slice() };
  let level: KidsNode[] = [];
  for (let i = 0; i < entries.length; i += MAX_LINKS) level.push({ l: entries.slice(i, i + MAX_LINKS) });
  for (;;) {
    const refs: ChunkRef[] = level.map((n) => [sink.put(n), "l" in n ? n.l[0]![2] : n.i[0]![1], countOf(n), rowsOf(n)]);
    if (refs.length <= MAX_LINKS) return { i: refs };
    level = [];
    for (let i = 0; i < refs.length; i += MAX_LINKS) level.push({ i: refs.slice(i, i + MAX_LINKS) });
  }
}

function count(nodes: readonly TreeInput[]): number {
  let n = 0;
  const stack = [...nodes];
  while (stack.length) {
    const x = stack.pop()!;
    n++;
    if (x.children) stack.push(...x.children);
  }
  return n;
}

/**
 * Imports whole trees in one transaction: rows built bottom-up in memory and written in bulk,
 * one `import` op, every objective with its own first version. The fast path for big outlines
 * (OPML/Markdown import, fixtures, benchmarks).
 */
export async function importTree(core: Core, spaceId: string, options: ImportOptions): Promise<{ oids: string[]; count: number }> {
  spaceId = checkId("spaceId", spaceId);
  const parentOid = options.parentOid === undefined ? undefined : checkId("parentOid", options.parentOid);
  const total = count(options.nodes ?? []);
  if (total === 0) throw new EngineError("INVALID_ARGUMENT", "importTree needs at least one node, got none");
  return runWrite(core, spaceId, parentOid === undefined ? [] : [parentOid], async (ctx, chains) => {
    let done = 0;
    const seen = new Set<string>();
    const build = (input: TreeInput, parent: string | null, pos: string | null, where: string): VersionRow => {
      const content = checkContent(input.content, core.limits);
      const props = checkProps(input.props ?? {}, core.limits);
      const oid = input.oid === undefined ? newOid() : checkId(`${where}.oid`, input.oid);
      if (seen.has(oid)) throw new EngineError("CONFLICT", `oid ${oid} appears twice in the import`);
      seen.add(oid);
      const kids = input.children ?? [];
      const keys = kids.length ? generateNKeysBetween(null, null, kids.length) : [];
      const rows = kids.map((k, i) => build(k, oid, keys[i]!, `${where}.children[${i}]`));
      const row: VersionRow = {
        oid,
        vid: versionId(oid, ctx.opId, null),
        parentOid: parent,
        pos,
        content,
        props,
        kids: buildChildren(rows.map((r, i) => entryOf(r, keys[i]!)), ctx.sink),
        stats: adjustStats(ZERO_STATS, [], rows),
        createdAt: ctx.now,
        seq: ctx.seq,
      };
      rows.forEach((r, i) => ctx.placements.set(r.oid, { oid: r.oid, vid: r.vid, parentOid: oid, pos: keys[i]!, isRoot: false, dirty: false }));
      ctx.versions.push(row);
      ctx.transitive.push({ oid, vidBefore: null, vidAfter: row.vid });
      if (++done % 10_000 === 0) options.onProgress?.(done, total);
      return row;
    };
    const tops: VersionRow[] = [];
    if (parentOid === undefined) {
      options.nodes.forEach((n, i) => {
        const row = build(n, null, null, `nodes[${i}]`);
        ctx.placements.set(row.oid, { oid: row.oid, vid: row.vid, parentOid: null, pos: null, isRoot: true, dirty: false });
        tops.push(row);
      });
    } else {
      const chain = checkActive(chains.get(parentOid), spaceId, parentOid);
      const plan = await planChains(ctx, [chain]);
      const parent = plan.get(parentOid)!;
      const index = options.index === undefined ? countOf(parent.row.kids) : checkIndex(options.index, countOf(parent.row.kids));
      const keys = await positionsAt(ctx, parent.row.kids, index, options.nodes.length);
      options.nodes.forEach((n, i) => {
        const row = build(n, parentOid, keys[i]!, `nodes[${i}]`);
        ctx.placements.set(row.oid, { oid: row.oid, vid: row.vid, parentOid, pos: keys[i]!, isRoot: false, dirty: false });
        parent.kidOps.push({ pos: keys[i]!, entry: entryOf(row, keys[i]!), removed: null, added: row });
        tops.push(row);
      });
      await promote(ctx, plan);
    }
    await checkFresh(ctx, [...seen]);
    options.onProgress?.(total, total);
    ctx.op = {
      kind: "import",
      oid: parentOid ?? tops[0]!.oid,
      vidBefore: null,
      vidAfter: null,
      data: { parentOid: parentOid ?? null, count: total, tops: tops.map((t) => t.oid) },
    };
    return { oids: tops.map((t) => t.oid), count: total };
  });
}

/** `n` position keys for links inserted together at `index`. */
async function positionsAt(ctx: WriteCtx, kids: KidsNode, index: number, n: number): Promise<string[]> {
  const around = await sliceChildren(kids, Math.max(0, index - 1), index === 0 ? 1 : 2, ctx.loader);
  const before = index === 0 ? null : (around[0]?.[2] ?? null);
  const after = index === 0 ? (around[0]?.[2] ?? null) : (around[1]?.[2] ?? null);
  return generateNKeysBetween(before, after, n);
}

async function checkFresh(ctx: WriteCtx, oids: string[]): Promise<void> {
  for (let i = 0; i < oids.length; i += 10_000) {
    const taken = await ctx.tx.query<{ oid: string }>(
      "select oid from active_version where space_id = $1 and oid = any($2::uuid[]) limit 1",
      [ctx.spaceId, oids.slice(i, i + 10_000)],
    );
    if (taken[0]) throw new EngineError("CONFLICT", `objective ${taken[0].oid} already exists in space ${ctx.spaceId}`);
  }
}
