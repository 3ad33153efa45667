import type { Engine, Row } from "../index.js";
import { writeMarkdown } from "./markdown-write.js";
import { writeOpml, type Skipped } from "./opml-write.js";
import type { OutlineFormat, OutlineHead } from "./outline.js";

/** Rows per `view` page while exporting. */
const PAGE = 5_000;

/**
 * A document's rows, depth-first, read a `view` page at a time (any version with `vid`).
 * `maxDepth` keeps the rows above that depth (1: the top rows only), read a level at a time
 * (`engine.subtree`): the cost is what is kept, however big the document below.
 */
export async function* documentRows(engine: Engine, spaceId: string, oid: string, vid?: string, maxDepth = Infinity): AsyncGenerator<Row> {
  if (maxDepth !== Infinity) {
    for (const r of await engine.subtree(spaceId, oid, { depth: maxDepth, ...(vid === undefined ? {} : { vid }) })) {
      yield { oid: r.oid, vid: r.vid, depth: r.level, content: r.content, props: r.props, stats: r.stats, childCount: r.childCount, folded: false };
    }
    return;
  }
  const at = vid === undefined ? {} : { vid };
  for (let offset = 0; ; offset += PAGE) {
    const { total, rows } = await engine.view(spaceId, oid, { ...at, offset, limit: PAGE });
    yield* rows;
    if (offset + PAGE >= total || rows.length === 0) return;
  }
}

/**
 * A document (or any subtree: its root is the title) as OPML or Markdown text chunks, streamed
 * from the engine. `skipped` counts props OPML cannot carry.
 *
 * @example
 * for await (const chunk of exportOutline(engine, spaceId, doc.oid, "opml")) process.stdout.write(chunk);
 */
export async function* exportOutline(engine: Engine, spaceId: string, oid: string, format: OutlineFormat, options: { vid?: string; skipped?: Skipped } = {}): AsyncGenerator<string> {
  const root = await engine.get(spaceId, oid, options.vid === undefined ? undefined : { vid: options.vid });
  const head: OutlineHead = { content: root.content, props: root.props };
  const rows = documentRows(engine, spaceId, oid, options.vid);
  if (format === "opml") yield* writeOpml(head, rows, options.skipped);
  else yield* writeMarkdown(head, rows);
}
