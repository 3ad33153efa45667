import type { Engine, ImportEvent, Props } from "../index.js";
import { checkEvent, type ImportLimits } from "./check-limits.js";
import type { OutlineEvent } from "./outline.js";

/** Options of `importOutline`. */
export interface ImportOutlineOptions {
  /** The document's title when the input names none (the CLI passes the file's base name). */
  readonly title: string;
  /** Names the input in error messages (with the line). Default "(input)". */
  readonly file?: string;
  readonly limits?: ImportLimits;
  /** Rows the engine writes per statement (see `ImportStreamOptions.flushRows`). */
  readonly flushRows?: number;
  /** Called with the rows read so far, every 1,000 rows and at the end. */
  readonly onRows?: (rows: number) => void;
}

/** What an import made. */
export interface ImportResult {
  /** The new document's root. */
  readonly oid: string;
  readonly title: string;
  /** Rows below the title. */
  readonly nodes: number;
}

/**
 * Imports an outline event stream as a new document: ONE streamed `importStream` (one transaction,
 * one op), so input that turns out bad half-way (a syntax error, a row over the limits, invalid
 * UTF-8) rolls back and nothing is written. The stream is read once, checked as it goes, and
 * memory holds only the rows still open.
 *
 * @example
 * const { oid } = await importOutline(engine, spaceId, readOutline("notes.opml", "opml"), { title: "notes" });
 */
export async function importOutline(engine: Engine, spaceId: string, events: AsyncIterable<OutlineEvent>, options: ImportOutlineOptions): Promise<ImportResult> {
  const file = options.file ?? "(input)";
  let title = options.title;
  let nodes = 0;
  let open = 0;
  async function* rows(): AsyncGenerator<ImportEvent> {
    const root = (props: Props = {}): ImportEvent => {
      open = 1;
      return { kind: "open", content: title, props };
    };
    for await (const event of events) {
      checkEvent(event, file, options.limits);
      if (event.kind === "title") {
        if (open === 0) {
          if (event.content !== undefined) title = event.content;
          yield root(event.props);
        }
      } else if (event.kind === "open") {
        if (open === 0) yield root();
        open++;
        if (++nodes % 1000 === 0) options.onRows?.(nodes);
        yield { kind: "open", content: event.content, props: event.props };
      } else {
        open--;
        yield { kind: "close" };
      }
    }
    if (open === 0) yield root();
    yield { kind: "close" };
    options.onRows?.(nodes);
  }
  const { oids } = await engine.importStream(spaceId, rows(), options.flushRows === undefined ? {} : { flushRows: options.flushRows });
  return { oid: oids[0]!, title, nodes };
}
