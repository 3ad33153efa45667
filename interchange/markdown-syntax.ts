import type { Json, Props } from "../index.js";
import { setProp } from "./set-prop.js";

/*
 * The line shapes of the Markdown dialect (CommonMark lists, Logseq properties) and the escapes
 * that let any content or note survive export and re-import: a leading backslash before
 * anything that would otherwise read as syntax.
 */

/** A list item: marker, then the rest. `- a`, `* a`, `+ a`, `1. a`, `1) a`, or a bare `-`. */
export const ITEM = /^([-*+]|\d{1,9}[.)])(?:[ \t]|$)/;
/** A task marker at the start of an item's text. */
export const TASK = /^\[([ xX])\](?: |$)/;
/** An ATX heading (only at column 0). */
export const HEADING = /^(#{1,6})(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$/s;
/** A Logseq-style property line: `key:: value`. */
export const PROPERTY = /^([\p{L}\p{N}_][\p{L}\p{N}_.-]*)::(?: (.*)|$)/su;
/** A fenced code block's opening or closing line. */
export const FENCE = /^(```|~~~)/;
/** The prop holding props whose keys cannot be written as `key::` (a JSON object). */
export const JSON_BAG = "logbook-json";

const SIMPLE_KEY = /^[\p{L}\p{N}_][\p{L}\p{N}_.-]*$/u;
const ESCAPABLE = /^\\[!-/:-@[-`{-~]/;

/** Whether a prop can be written as its own `key:: value` line. */
export function isSimpleKey(key: string): boolean {
  return SIMPLE_KEY.test(key) && key !== JSON_BAG;
}

/** A prop value as text: strings bare unless they would read back as something else. */
export function encodeValue(value: Json): string {
  if (typeof value !== "string") return JSON.stringify(value);
  if (value !== value.trim() || /[\r\n]/.test(value) || parsesAsJson(value)) return JSON.stringify(value);
  return value;
}

/** A prop value from text: JSON when it parses (numbers, booleans, quoted strings), else the text. */
export function decodeValue(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Reads one property line into `props` (the JSON bag is merged); false if it is not one. */
export function readProperty(text: string, props: Props): boolean {
  const m = PROPERTY.exec(text);
  if (!m) return false;
  const value = decodeValue(m[2] ?? "");
  if (m[1] === JSON_BAG && value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, v] of Object.entries(value)) setProp(props, key, v);
  } else setProp(props, m[1]!, value);
  return true;
}

/** Removes one escaping backslash before ASCII punctuation at the start. */
export function unescapeStart(text: string): string {
  return ESCAPABLE.test(text) ? text.slice(1) : text;
}

/** An item's text as written after the marker: escaped if it starts like a task or an escape. */
export function escapeItemText(text: string): string {
  return TASK.test(text) || text.startsWith("\\") ? `\\${text}` : text;
}

/** A note line as written: escaped (after its indentation) if it would read as syntax. */
export function escapeNoteLine(line: string): string {
  const indent = /^[ \t]*/.exec(line)![0];
  const rest = line.slice(indent.length);
  const syntax = rest.startsWith("\\") || ITEM.test(rest) || HEADING.test(rest) || FENCE.test(rest) || PROPERTY.test(rest);
  return syntax ? `${indent}\\${rest}` : line;
}

/** Whether a note can be written as plain lines and read back exactly. */
export function isPlainNote(note: string): boolean {
  if (note === "" || /^\s/.test(note) || note.endsWith("\n") || note.includes("\r")) return false;
  return note.split("\n").every((line) => line === "" || (line.trim() !== "" && !/[ \t]$/.test(line) && !line.startsWith("\t")));
}

/** Content newlines are written as `<br>` (items are one line). */
export function contentToLine(text: string): string {
  return text.replace(/\r\n|\r|\n/g, "<br>");
}

/** `<br>` in an item line is a newline in the content. */
export function lineToContent(text: string): string {
  return text.replace(/<br\s*\/?>/gi, "\n");
}
