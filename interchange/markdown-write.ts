import type { Props } from "../index.js";
import { sourceText } from "./empty-text.js";
import { JSON_BAG, contentToLine, encodeValue, escapeItemText, escapeNoteLine, isPlainNote, isSimpleKey } from "./markdown-syntax.js";
import type { OutlineHead, OutlineRow } from "./outline.js";

/** Property and note lines of one row, each prefixed by `indent`. */
export function detailLines(props: Props, indent: string): string {
  let out = "";
  const bag: Props = {};
  let note: string | undefined;
  for (const [key, value] of Object.entries(props)) {
    if (key === "done" && typeof value === "boolean") continue;
    if (key === "note" && typeof value === "string" && isPlainNote(value)) note = value;
    else if (isSimpleKey(key)) out += `${indent}${key}:: ${encodeValue(value)}\n`;
    else bag[key] = value;
  }
  if (Object.keys(bag).length) out += `${indent}${JSON_BAG}:: ${JSON.stringify(bag)}\n`;
  if (note !== undefined) {
    for (const line of note.split("\n")) out += line === "" ? "\n" : `${indent}${escapeNoteLine(line)}\n`;
  }
  return out;
}

/** One list item line: `- [x] text`. */
export function itemLine(row: { content: string; props: Props }, indent: string): string {
  const done = row.props["done"];
  const task = typeof done === "boolean" ? (done ? "[x] " : "[ ] ") : "";
  return `${indent}- ${task}${escapeItemText(contentToLine(sourceText(row.content)))}\n`;
}

/**
 * Writes a Markdown outline, streaming: `# title`, the title's props and note, then every row as
 * a `- ` item indented two spaces per level, its props as `key:: value` lines and its note as
 * continuation lines under it. Reads back to the same tree with `parseMarkdown`.
 */
export async function* writeMarkdown(head: OutlineHead, rows: AsyncIterable<OutlineRow> | Iterable<OutlineRow>): AsyncGenerator<string> {
  const title = contentToLine(sourceText(head.content));
  let out = `# ${title.startsWith("\\") ? "\\" : ""}${title}\n${detailLines(head.props, "")}\n`;
  for await (const row of rows) {
    const indent = "  ".repeat(row.depth);
    out += itemLine(row, indent) + detailLines(row.props, `${indent}  `);
    if (out.length > 64 * 1024) {
      yield out;
      out = "";
    }
  }
  yield out;
}
