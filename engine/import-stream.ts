import { generateKeyBetween, generateNKeysBetween } from "fractional-indexing";
import { countOf, EMPTY, sliceChildren, type KidsNode } from "./children-tree.js";
import { allow } from "./roles.js";
import type { Placement } from "./chains.js";
import type { Core } from "./core.js";
import { EngineError, invalid } from "./errors.js";
import { newOid } from "./ids.js";
import { kidsBuilder, type KidsBuilder } from "./kids-builder.js";
import { checkActive } from "./objective.js";
import { entryOf, planChains, promote, type NodeChange, type Plan } from "./promote.js";
import { contribution, percent } from "./stats.js";
import type { Props } from "./types.js";
import { checkContent, checkId, checkIndex, checkProps } from "./validate.js";
import { partRecorder, storeParts } from "./import-parts.js";
import { isTaken, runWrite, spill, writeVersion, type WriteCtx } from "./write.js";

/**
 * One event of an outline streamed into `importStream`, in document order: `open` starts a row
 * (its children are the events up to the matching `close`).
 */
export type ImportEvent =
  | { readonly kind: "open"; readonly content: string; readonly props?: Props; readonly oid?: string }
  | { readonly kind: "close" };

/** Options of `importStream`. */
export interface ImportStreamOptions {
  /** Where the top-level rows go (appended after its children); omitted: each becomes a new document. */
  readonly parentOid?: string;
  /** Rows written per statement while the stream goes on (memory bound). Default 5,000. */
  readonly flushRows?: number;
  /** Called after each write with the rows written so far. */
  readonly onProgress?: (written: number) => void;
}

/** What an import made: the top-level objectives and the row count. */
export interface ImportResultOids {
  readonly oids: string[];
  readonly count: number;
}

/** One open row of the stream: finished when its `close` comes, after all its children. */
interface Frame {
  readonly oid: string;
  readonly content: string;
  readonly props: Props;
  readonly pos: string | null;
  /** Made at the first child: most rows of an outline are leaves. */
  kids: KidsBuilder | undefined;
  lastKey: string | null;
  children: number;
  descendants: number;
  total: number;
  done: number;
}

/** Where the top-level rows of an import go and how they are keyed. */
export interface Tops {
  /** The parent's change and its chain's (promoted once all rows are written); none for documents. */
  readonly parent?: { readonly change: NodeChange; readonly plan: Plan };
  /** The key of the next top-level row. */
  next(): string | null;
}

/** Rows per write of a long import. */
export const DEFAULT_FLUSH_ROWS = 5_000;

/**
 * Writes an outline event stream as one `import` op in ONE transaction, however long the stream:
 * each row's version is built when its `close` arrives (its children are final by then), and rows
 * are written every `flushRows` rows, so memory holds only the open rows and one partial
 * children node per level, never the whole outline. Any error (bad event, bad value, or an error
 * thrown by the source itself, such as a parse error) rolls everything back: nothing is written.
 *
 * @example
 * await engine.importStream(spaceId, (function* () {
 *   yield { kind: "open", content: "Groceries" };
 *   yield { kind: "open", content: "Milk", props: { done: false } };
 *   yield { kind: "close" };
 *   yield { kind: "close" };
 * })());
 */
export async function importStream(
  core: Core,
  spaceId: string,
  events: AsyncIterable<ImportEvent> | Iterable<ImportEvent>,
  options: ImportStreamOptions = {},
): Promise<ImportResultOids> {
  spaceId = checkId("spaceId", spaceId);
  const parentOid = options.parentOid === undefined ? undefined : checkId("parentOid", options.parentOid);
  const flushRows = options.flushRows ?? DEFAULT_FLUSH_ROWS;
  if (!Number.isInteger(flushRows) || flushRows < 1) throw invalid(`flushRows must be a positive integer, got ${flushRows}`);
  return runWrite(core, spaceId, parentOid === undefined ? [] : [parentOid], async (ctx, chains) => {
    const tops = parentOid === undefined ? DOCUMENTS : await topsUnder(ctx, chains, parentOid);
    return buildRows(ctx, parentOid ?? null, tops, events, { flushRows, onProgress: options.onProgress, record: {} });
  }, undefined, { once: true });
}

/** Top-level keys for `n` rows inserted together at `index` of a parent's children. */
async function keysAt(ctx: WriteCtx, kids: KidsNode, index: number, n: number): Promise<string[]> {
  const around = await sliceChildren(kids, Math.max(0, index - 1), index === 0 ? 1 : 2, ctx.loader);
  const before = index === 0 ? null : (around[0]?.[2] ?? null);
  const after = index === 0 ? (around[0]?.[2] ?? null) : (around[1]?.[2] ?? null);
  return generateNKeysBetween(before, after, n);
}

/** Top-level rows that become documents. */
export const DOCUMENTS: Tops = { next: () => null };

/**
 * Top-level rows under a parent: `count` rows at `index` (the end when omitted), or with no count
 * (a stream, whose length is unknown) appended one after another behind the last child. `clamp`:
 * an index past the last child means the end (a replayed import) instead of INVALID_ARGUMENT.
 */
export async function topsUnder(
  ctx: WriteCtx,
  chains: Map<string, Placement[] | undefined>,
  parentOid: string,
  count?: number,
  index?: number,
  options: { readonly clamp?: boolean } = {},
): Promise<Tops> {
  const chain = await checkActive(chains.get(parentOid), ctx.spaceId, parentOid, (o) => isTaken(ctx, o));
  await allow(ctx, chain, "edit");
  const plan = await planChains(ctx, [chain]);
  const change = plan.get(parentOid)!;
  const kids = change.row.kids;
  const n = countOf(kids);
  const at = index === undefined ? n : options.clamp ? Math.min(index, n) : checkIndex(index, n);
  if (count === undefined) {
    let key = at === 0 ? null : ((await sliceChildren(kids, at - 1, 1, ctx.loader))[0]?.[2] ?? null);
    return { parent: { change, plan }, next: () => (key = generateKeyBetween(key, null)) };
  }
  const keys = await keysAt(ctx, kids, at, count);
  let i = 0;
  // As many keys as top-level rows: an import counts its own, a replayed one is checked first (checkParts).
  return { parent: { change, plan }, next: () => keys[i++]! };
}

/**
 * The shared core of `importStream` and `importTree`: builds one version per row as rows close,
 * writes them in runs of `flushRows`, then links the top-level rows (under the parent, promoting
 * it, or as documents) and records the op.
 */
export async function buildRows(
  ctx: WriteCtx,
  parentOid: string | null,
  tops: Tops,
  events: AsyncIterable<ImportEvent> | Iterable<ImportEvent>,
  options: {
    readonly flushRows: number;
    readonly onProgress?: ((written: number) => void) | undefined;
    /**
     * Set for an import made here: its rows are recorded as parts of the op (engine/import-parts.ts),
     * with how its top-level rows were keyed (`tops` rows at `index`; neither: appended), so that
     * another device replays it to the same rows. Unset for an import replayed from its parts.
     */
    readonly record?: { readonly tops?: number; readonly index?: number };
  },
): Promise<ImportResultOids> {
  const { core } = ctx;
  const recorder = options.record ? partRecorder() : undefined;
  // Parts take the counters (and local seqs) right after the import's own.
  let parts = 0;
  const storeReady = async (end: boolean) => {
    const ready = recorder?.take(end) ?? [];
    await storeParts(ctx.tx, ctx.spaceId, { device: ctx.device, first: ctx.seq + parts + 1, at: ctx.now, actor: ctx.actor }, ready, () => core.clock.now());
    parts += ready.length;
  };
  const stack: Frame[] = [];
  const path: number[] = [];
  const topOids: string[] = [];
  // Oids given by the caller must be new: checked before each write, duplicates caught here.
  const given = new Set<string>();
  let unchecked: string[] = [];
  let count = 0;
  let index = 0;
  const where = () => path.map((i, d) => (d === 0 ? `nodes[${i}]` : `.children[${i}]`)).join("");
  // One run of rows is in flight while the next is built: on a backend whose database works on
  // another thread (`pglite({ worker: true })`, a Postgres server) building and writing overlap.
  let pending: Promise<void> = Promise.resolve();
  const write = async () => {
    await pending;
    const fresh = checkFresh(ctx, unchecked);
    unchecked = [];
    const done = count;
    pending = Promise.all([fresh, spill(ctx), storeReady(false)]).then(() => options.onProgress?.(done));
    // Seen by the next `await pending`; until then it must not count as unhandled.
    pending.catch(() => {});
  };

  for await (const event of events) {
    index++;
    if (event === null || typeof event !== "object") throw invalid(`import event ${index} must be an object, got ${String(event)}`);
    if (event.kind === "open") {
      const parent = stack[stack.length - 1];
      path.push(parent ? parent.children : topOids.length);
      const content = checkContent(event.content, core.limits);
      const props = checkProps(event.props ?? {}, core.limits);
      let oid: string;
      if (event.oid === undefined) oid = newOid();
      else {
        oid = checkId(`${where()}.oid`, event.oid);
        if (given.has(oid)) throw new EngineError("CONFLICT", `oid ${oid} appears twice in the import`);
        given.add(oid);
        unchecked.push(oid);
      }
      recorder?.open(oid, content, props);
      const pos = parent ? (parent.lastKey = generateKeyBetween(parent.lastKey, null)) : tops.next();
      if (parent) parent.children++;
      stack.push({ oid, content, props, pos, kids: undefined, lastKey: null, children: 0, descendants: 0, total: 0, done: 0 });
    } else if (event.kind === "close") {
      const frame = stack.pop();
      if (!frame) throw invalid(`import event ${index} closes a row, but none is open`);
      path.pop();
      recorder?.close();
      const parent = stack[stack.length - 1];
      const row = writeVersion(ctx, frame.oid, null, {
        parentOid: parent ? parent.oid : parentOid,
        pos: frame.pos,
        content: frame.content,
        props: frame.props,
        kids: frame.kids?.finish() ?? EMPTY,
        stats: { descendants: frame.descendants, total: frame.total, done: frame.done, percent: percent(frame.done, frame.total) },
      }, undefined);
      if (row.parentOid === null) ctx.documents.push(row.oid);
      count++;
      if (parent) {
        (parent.kids ??= kidsBuilder(ctx.sink)).push(entryOf(row, row.pos!));
        const c = contribution(row);
        parent.descendants += c.descendants;
        parent.total += c.total;
        parent.done += c.done;
      } else {
        topOids.push(row.oid);
        tops.parent?.change.kidOps.push({ pos: row.pos!, entry: entryOf(row, row.pos!), removed: null, added: row });
      }
      if (ctx.written.length >= options.flushRows) await write();
    } else {
      throw invalid(`import event ${index} must be of kind "open" or "close", got ${JSON.stringify((event as { kind?: unknown }).kind)}`);
    }
  }
  await pending;
  if (stack.length > 0) throw invalid(`the import ended with ${stack.length} row(s) still open (${where()} and its ancestors)`);
  if (count === 0) throw invalid("the import needs at least one row, got none");
  await checkFresh(ctx, unchecked);
  if (tops.parent) await promote(ctx, tops.parent.plan);
  const record = options.record;
  if (record) {
    await storeReady(true);
    // The parts took seqs after the import's; the import's clock comes after theirs, so they
    // sort (and are pushed, numbered and pulled) before it.
    await ctx.tx.query("update space set seq = $2 where space_id = $1", [ctx.spaceId, ctx.seq + parts]);
    ctx.hlc = core.clock.now();
  }
  options.onProgress?.(count);
  ctx.op = {
    kind: "import",
    oid: parentOid ?? topOids[0]!,
    vidBefore: null,
    vidAfter: null,
    data: {
      parentOid,
      count,
      parts,
      ...(record?.tops === undefined ? {} : { tops: record.tops }),
      ...(record?.index === undefined ? {} : { index: record.index }),
    },
  };
  return { oids: topOids, count };
}

async function checkFresh(ctx: WriteCtx, oids: readonly string[]): Promise<void> {
  for (let i = 0; i < oids.length; i += 10_000) {
    const taken = await ctx.tx.query<{ oid: string }>(
      "select oid from version where space_id = $1 and oid = any($2::uuid[]) limit 1",
      [ctx.spaceId, oids.slice(i, i + 10_000)],
    );
    if (taken[0]) throw new EngineError("CONFLICT", `objective ${taken[0].oid} already exists in space ${ctx.spaceId}`);
  }
}
