import type { Props } from "../index.js";
import { storedContent } from "./empty-text.js";
import { InterchangeError } from "./errors.js";
import { splitLines, type Line } from "./lines.js";
import { FENCE, HEADING, ITEM, TASK, lineToContent, readProperty, unescapeStart } from "./markdown-syntax.js";
import type { OutlineEvent } from "./outline.js";

/** An open row while reading: the root (title), a heading or a list item. */
interface Frame {
  readonly kind: "root" | "heading" | "item";
  /** Heading level (root: 0). */
  readonly level: number;
  /** Column of an item's marker (root and headings: -1). */
  readonly indent: number;
  /** Column where an item's text, notes and properties start (root and headings: 0). */
  readonly contentCol: number;
  content: string | undefined;
  readonly props: Props;
  readonly line: number;
  note: string[];
  /** Column the note's lines start at: that of its first line (at least `contentCol`). */
  noteCol?: number;
  /** Whether its open (or title) event went out: after that its note and props are fixed. */
  emitted: boolean;
}

/** Columns of leading whitespace (tabs to the next multiple of 4) and where the text starts. */
function indentation(text: string): { cols: number; at: number } {
  let cols = 0;
  let at = 0;
  for (; at < text.length; at++) {
    const c = text[at];
    if (c === " ") cols++;
    else if (c === "\t") cols += 4 - (cols % 4);
    else break;
  }
  return { cols, at };
}

/** `text` without up to `cols` columns of leading whitespace. */
function dedent(text: string, cols: number): string {
  let col = 0;
  let at = 0;
  while (at < text.length && col < cols) {
    const c = text[at];
    if (c === " ") col++;
    else if (c === "\t") col += 4 - (col % 4);
    else break;
    at++;
  }
  return text.slice(at);
}

function unescapeAfterIndent(text: string): string {
  const { at } = indentation(text);
  return text.slice(0, at) + unescapeStart(text.slice(at));
}

/**
 * Streams Markdown outlines into outline events. Nested `-`/`*`/`+`/`1.` lists with any
 * consistent indentation, `[ ]`/`[x]` task markers (props.done), ATX headings as levels (a first
 * `# Title` line is the document title), continuation lines as notes (props.note), Logseq
 * `key:: value` lines as props, fenced code kept verbatim in notes.
 */
export async function* parseMarkdown(chunks: AsyncIterable<string>, file: string): AsyncGenerator<OutlineEvent> {
  const out: OutlineEvent[] = [];
  const root: Frame = { kind: "root", level: 0, indent: -1, contentCol: 0, content: undefined, props: {}, line: 1, note: [], emitted: false };
  const stack: Frame[] = [root];
  let blanks = 0;
  let first = true;
  let fence: { marker: string; frame: Frame; line: number } | undefined;
  const top = () => stack[stack.length - 1]!;
  const fail = (line: number, reason: string): never => {
    throw new InterchangeError("STRUCTURE", file, line, reason);
  };
  const emit = (frame: Frame) => {
    if (frame.emitted) return;
    frame.emitted = true;
    const props = frame.note.length ? { ...frame.props, note: frame.note.join("\n") } : frame.props;
    // Logseq names a page with a `title::` property, not a heading.
    const title = frame.content ?? (typeof props["title"] === "string" ? storedContent(props["title"]) : undefined);
    if (frame.kind === "root") out.push({ kind: "title", content: title, props, line: frame.line });
    else out.push({ kind: "open", content: frame.content!, props, line: frame.line });
  };
  const push = (frame: Frame) => {
    emit(top());
    stack.push(frame);
  };
  const pop = () => {
    const frame = stack.pop()!;
    emit(frame);
    out.push({ kind: "close" });
  };
  const leaf = (content: string, line: number) => {
    push({ kind: "item", level: Infinity, indent: Infinity, contentCol: Infinity, content, props: {}, line, note: [], emitted: false });
    pop();
  };
  const addNote = (frame: Frame, text: string) => {
    if (frame.note.length) for (; blanks > 0; blanks--) frame.note.push("");
    frame.note.push(text);
  };

  const heading = (line: Line, level: number, text: string) => {
    const content = storedContent(unescapeStart(text));
    if (first && level === 1) {
      root.content = content;
      return;
    }
    while (top().kind === "item" || (top().kind === "heading" && top().level >= level)) pop();
    push({ kind: "heading", level, indent: -1, contentCol: 0, content, props: {}, line: line.number, note: [], emitted: false });
  };

  const item = (line: Line, cols: number, rest: string, marker: string) => {
    let popped: number | undefined;
    while (top().kind === "item" && top().indent > cols) {
      popped = top().indent;
      pop();
    }
    if (top().kind === "item" && top().indent === cols) pop();
    else if (top().kind === "item" && popped !== undefined) {
      fail(line.number, `the list item is indented ${cols} columns, which matches no open list level (${stack.filter((f) => f.kind === "item").map((f) => f.indent).concat(popped).join(", ")}); indent it like its siblings`);
    }
    let text = rest.slice(marker.length);
    if (text.startsWith(" ") || text.startsWith("\t")) text = text.slice(1);
    const task = TASK.exec(text);
    const props: Props = {};
    if (task) {
      props["done"] = task[1] !== " ";
      text = text.slice(task[0].length);
    }
    const content = storedContent(lineToContent(unescapeStart(text)));
    push({ kind: "item", level: Infinity, indent: cols, contentCol: cols + marker.length + 1, content, props, line: line.number, note: [], emitted: false });
  };

  const text = (line: Line, cols: number, rest: string) => {
    while (top().kind === "item" && top().contentCol > cols) pop();
    const target = top();
    if (target.emitted) return leaf(storedContent(lineToContent(unescapeStart(rest))), line.number);
    if (readProperty(rest, target.props)) return;
    target.noteCol ??= Math.max(cols, target.contentCol);
    const fenced = FENCE.exec(rest);
    if (fenced) {
      fence = { marker: fenced[1]!, frame: target, line: line.number };
      return addNote(target, dedent(line.text, target.noteCol));
    }
    addNote(target, unescapeAfterIndent(dedent(line.text, target.noteCol)));
  };

  for await (const line of splitLines(chunks, file)) {
    if (fence) {
      const frame = fence.frame;
      if (line.text.trimStart().startsWith(fence.marker)) fence = undefined;
      addNote(frame, dedent(line.text, frame.noteCol ?? frame.contentCol));
      blanks = 0;
    } else if (line.text.trim() === "") {
      blanks++;
      continue;
    } else {
      const { cols, at } = indentation(line.text);
      const rest = line.text.slice(at);
      const h = cols === 0 ? HEADING.exec(rest) : null;
      const m = h ? null : ITEM.exec(rest);
      if (h) heading(line, h[1]!.length, h[2]!);
      else if (m) item(line, cols, rest, m[1]!);
      else text(line, cols, rest);
      blanks = 0;
      first = false;
    }
    yield* out;
    out.length = 0;
  }
  if (fence) fail(fence.line, `the code block opened here (${fence.marker}) is never closed`);
  while (stack.length > 1) pop();
  emit(root);
  yield* out;
}
