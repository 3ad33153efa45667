import type { Json, Props } from "../index.js";
import { sourceText } from "./empty-text.js";
import { TASKS_FIELD, TASKS_MARKED } from "./opml-parse.js";
import type { OutlineHead, OutlineRow } from "./outline.js";
import { escapeAttribute, escapeText, isXmlName } from "./xml-escape.js";

/** Attributes reserved for content, note and completion: props of these names are not written. */
const RESERVED = new Set(["text", "_note", "_complete"]);

/** Props that cannot be OPML attributes, so an export can say what it left out. */
export interface Skipped {
  count: number;
  keys: Set<string>;
}

function attributeValue(value: Json): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The attributes of one row: `text`, `_note`, `_complete`, then every other prop. */
export function attributesOf(row: { content: string; props: Props }, skipped: Skipped): string {
  let out = ` text="${escapeAttribute(sourceText(row.content))}"`;
  for (const [key, value] of Object.entries(row.props)) {
    if (key === "note" && typeof value === "string") out += ` _note="${escapeAttribute(value)}"`;
    else if (key === "done" && typeof value === "boolean") out += ` _complete="${value}"`;
    else if (isXmlName(key) && !RESERVED.has(key)) out += ` ${key}="${escapeAttribute(attributeValue(value))}"`;
    else {
      skipped.count++;
      skipped.keys.add(key);
    }
  }
  return out;
}

/**
 * Writes OPML 2.0, streaming: the head (title, `<_tasks>marked</_tasks>` and the title's string
 * props as elements), then one `<outline>` per row. Rows must be depth-first with `childCount` (a
 * `view` page is). Non-string props are written as JSON text (OPML attributes are strings).
 * Tasks get `_complete="true"` or `"false"`; the head's `_tasks` says that rows without it are
 * not tasks, which a reader of Workflowy's convention would otherwise read as unfinished ones.
 */
export async function* writeOpml(head: OutlineHead, rows: AsyncIterable<OutlineRow> | Iterable<OutlineRow>, skipped: Skipped = { count: 0, keys: new Set() }): AsyncGenerator<string> {
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <head>\n    <title>${escapeText(sourceText(head.content))}</title>\n`;
  out += `    <${TASKS_FIELD}>${TASKS_MARKED}</${TASKS_FIELD}>\n`;
  for (const [key, value] of Object.entries(head.props)) {
    if (isXmlName(key) && key !== "title" && key !== TASKS_FIELD) out += `    <${key}>${escapeText(attributeValue(value))}</${key}>\n`;
    else {
      skipped.count++;
      skipped.keys.add(key);
    }
  }
  out += "  </head>\n  <body>\n";
  const open: number[] = [];
  for await (const row of rows) {
    while (open.length > row.depth) out += `${pad(open.pop()!)}</outline>\n`;
    const attributes = attributesOf(row, skipped);
    if (row.childCount > 0) {
      out += `${pad(row.depth)}<outline${attributes}>\n`;
      open.push(row.depth);
    } else out += `${pad(row.depth)}<outline${attributes}/>\n`;
    if (out.length > 64 * 1024) {
      yield out;
      out = "";
    }
  }
  while (open.length) out += `${pad(open.pop()!)}</outline>\n`;
  yield `${out}  </body>\n</opml>\n`;
}

function pad(depth: number): string {
  return "  ".repeat(depth + 2);
}
