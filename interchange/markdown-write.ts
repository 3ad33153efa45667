import type { Props } from "../index.js";
import { sourceText } from "./empty-text.js";
import { JSON_BAG, contentToLine, encodeValue, escapeItemText, escapeNoteLine, isPlainNote, isSimpleKey } from "./markdown-syntax.js";
import type { OutlineHead, OutlineRow } from "./outline.js";

/** Property lines of one row (`key:: value`, the JSON bag last) and the note, if lines can carry it. */
function splitDetails(props: Props, indent: string): { props: string; note: string | undefined } {
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
  return { props: out, note };
}

/** A note as continuation lines, each prefixed by `indent` (its empty lines stay empty). */
function noteLines(note: string, indent: string): string {
  let out = "";
  for (const line of note.split("\n")) out += line === "" ? "\n" : `${indent}${escapeNoteLine(line)}\n`;
  return out;
}

/** Property and note lines of one row, each prefixed by `indent`. */
export function detailLines(props: Props, indent: string): string {
  const details = splitDetails(props, indent);
  return details.props + (details.note === undefined ? "" : noteLines(details.note, indent));
}

/** The title, its props under it, then its note as a paragraph of its own, then a blank line. */
function headLines(head: OutlineHead): string {
  const title = contentToLine(sourceText(head.content));
  const details = splitDetails(head.props, "");
  const note = details.note === undefined ? "" : `\n${noteLines(details.note, "")}`;
  return `# ${title.startsWith("\\") ? "\\" : ""}${title}\n${details.props}${note}\n`;
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
 * continuation lines under it. As people write outlines, a blank line sets apart each top-level
 * row that has rows below it (a section); runs of top-level leaves stay a tight list. Reads back
 * to the same tree with `parseMarkdown`, which skips blank lines between items.
 */
export async function* writeMarkdown(head: OutlineHead, rows: AsyncIterable<OutlineRow> | Iterable<OutlineRow>): AsyncGenerator<string> {
  let out = headLines(head);
  let previous: OutlineRow | undefined;
  for await (const row of rows) {
    if (row.depth === 0) {
      if (previous && (previous.childCount > 0 || row.childCount > 0)) out += "\n";
      previous = row;
    }
    const indent = "  ".repeat(row.depth);
    out += itemLine(row, indent) + detailLines(row.props, `${indent}  `);
    if (out.length > 64 * 1024) {
      yield out;
      out = "";
    }
  }
  yield out;
}
