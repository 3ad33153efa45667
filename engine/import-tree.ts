import type { Core } from "./core.js";
import { EngineError } from "./errors.js";
import { buildRows, DEFAULT_FLUSH_ROWS, DOCUMENTS, topsUnder, type ImportEvent, type ImportResultOids } from "./import-stream.js";
import type { Props } from "./types.js";
import { checkId } from "./validate.js";
import { runWrite } from "./write.js";

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

/** The trees as the event stream `importStream` takes, in document order. */
function* eventsOf(nodes: readonly TreeInput[]): Generator<ImportEvent> {
  for (const node of nodes) {
    yield { kind: "open", content: node.content, ...(node.props === undefined ? {} : { props: node.props }), ...(node.oid === undefined ? {} : { oid: node.oid }) };
    yield* eventsOf(node.children ?? []);
    yield { kind: "close" };
  }
}

/**
 * Imports whole trees in one transaction: rows built bottom-up in memory and written in bulk,
 * one `import` op, every objective with its own first version. The fast path for outlines already
 * in memory; `importStream` takes the same rows as a stream of events (files of any size).
 */
export async function importTree(core: Core, spaceId: string, options: ImportOptions): Promise<ImportResultOids> {
  spaceId = checkId("spaceId", spaceId);
  const parentOid = options.parentOid === undefined ? undefined : checkId("parentOid", options.parentOid);
  const total = count(options.nodes ?? []);
  if (total === 0) throw new EngineError("INVALID_ARGUMENT", "importTree needs at least one node, got none");
  return runWrite(core, spaceId, parentOid === undefined ? [] : [parentOid], async (ctx, chains) => {
    const tops = parentOid === undefined ? DOCUMENTS : await topsUnder(ctx, chains, parentOid, options.nodes.length, options.index);
    const onProgress = options.onProgress;
    return buildRows(ctx, parentOid ?? null, tops, eventsOf(options.nodes), {
      flushRows: DEFAULT_FLUSH_ROWS,
      onProgress: onProgress && ((done: number) => onProgress(done, total)),
      record: parentOid === undefined ? {} : { tops: options.nodes.length, ...(options.index === undefined ? {} : { index: options.index }) },
    });
  }, undefined, { once: true });
}
