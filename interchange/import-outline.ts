import { newOid, type Engine, type Props, type TreeInput } from "../index.js";
import type { OutlineEvent } from "./outline.js";

/** Options of `importOutline`. */
export interface ImportOutlineOptions {
  /** The document's title when the file names none (the CLI passes the file's base name). */
  readonly title: string;
  /**
   * Rows per transaction. The engine's `importTree` builds a batch in memory, so batches bound
   * memory whatever the file size; a file no bigger than one batch is one transaction.
   * 0: the whole file in one transaction. Default 20,000.
   */
  readonly batch?: number;
  /** Called with the rows written so far. */
  readonly onProgress?: (written: number) => void;
}

/** What an import made. */
export interface ImportResult {
  /** The new document's root. */
  readonly oid: string;
  readonly title: string;
  /** Rows below the title. */
  readonly nodes: number;
  /** `importTree` calls (transactions) it took. */
  readonly transactions: number;
}

/** An import that failed after some of its batches were written (see `importOutline`). */
export class PartialImportError extends Error {
  override readonly name = "PartialImportError";
  readonly code = "PARTIAL_IMPORT";
  constructor(
    readonly documentOid: string,
    readonly written: number,
    readonly removed: boolean,
    options: { cause: unknown },
  ) {
    const cause = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(
      `the import stopped after ${written.toLocaleString("en")} rows: ${cause}; ` +
        (removed
          ? `the partial document ${documentOid} was removed (its versions stay in history)`
          : `the partial document ${documentOid} could not be removed: run \`logbook remove ${documentOid}\``),
      options,
    );
  }
}

/** An open row: its preassigned oid (so later batches can go under it) and finished children. */
interface Frame {
  readonly oid: string;
  readonly content: string;
  readonly props: Props;
  pending: TreeInput[];
  written: boolean;
}

/**
 * Imports an outline event stream as a new document with the engine's bulk path, in batches of
 * subtrees: when `batch` rows are buffered, every row read so far is written with one
 * `importTree` under the deepest already-written ancestor (the rows still open are written with
 * their finished children and later batches append under them). Rows get preassigned UUIDv7 oids.
 * If a later batch fails, the partial document is removed and `PartialImportError` thrown; check
 * the input first (`checkEvent`) so that only storage can fail half-way.
 */
export async function importOutline(engine: Engine, spaceId: string, events: AsyncIterable<OutlineEvent>, options: ImportOutlineOptions): Promise<ImportResult> {
  const batch = options.batch ?? 20_000;
  const stack: Frame[] = [];
  let title = options.title;
  let buffered = 0;
  let written = 0;
  let transactions = 0;
  let nodes = 0;

  const write = async (parentOid: string | undefined, trees: TreeInput[]) => {
    const base = written;
    const onProgress = (done: number) => options.onProgress?.(base + done);
    const result = await engine.importTree(spaceId, parentOid === undefined ? { nodes: trees, onProgress } : { parentOid, nodes: trees, onProgress });
    written += result.count;
    transactions++;
    options.onProgress?.(written);
  };
  const nest = (i: number): TreeInput => {
    const frame = stack[i]!;
    const children = frame.pending;
    if (i + 1 < stack.length) children.push(nest(i + 1));
    frame.pending = [];
    frame.written = true;
    return { oid: frame.oid, content: frame.content, props: frame.props, children };
  };
  const flush = async () => {
    const k = stack.findIndex((f) => !f.written);
    if (k === 0) await write(undefined, [nest(0)]);
    else {
      const parent = stack[(k < 0 ? stack.length : k) - 1]!;
      const trees = parent.pending;
      parent.pending = [];
      if (k > 0) trees.push(nest(k));
      if (trees.length) await write(parent.oid, trees);
    }
    buffered = 0;
  };
  const root = (props: Props = {}): Frame => {
    stack.push({ oid: newOid(), content: title, props, pending: [], written: false });
    buffered++;
    return stack[0]!;
  };

  try {
    for await (const event of events) {
      if (event.kind === "title") {
        if (event.content !== undefined) title = event.content;
        if (stack.length === 0) root(event.props);
      } else if (event.kind === "open") {
        if (stack.length === 0) root();
        stack.push({ oid: newOid(), content: event.content, props: event.props, pending: [], written: false });
        buffered++;
        nodes++;
      } else {
        const frame = stack.pop()!;
        const parent = stack[stack.length - 1]!;
        if (!frame.written) parent.pending.push({ oid: frame.oid, content: frame.content, props: frame.props, children: frame.pending });
        else if (frame.pending.length) await write(frame.oid, frame.pending);
        if (batch > 0 && buffered >= batch) await flush();
      }
    }
    if (stack.length === 0) root();
    await flush();
  } catch (error) {
    const doc = stack[0];
    if (!doc?.written || written === 0) throw error;
    const removed = await engine.remove(spaceId, doc.oid).then(
      () => true,
      () => false,
    );
    throw new PartialImportError(doc.oid, written, removed, { cause: error });
  }
  return { oid: stack[0]!.oid, title, nodes, transactions };
}
