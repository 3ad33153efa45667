import { SaxesParser } from "saxes";
import type { Props } from "../index.js";
import { storedContent } from "./empty-text.js";
import { setProp } from "./set-prop.js";
import { InterchangeError } from "./errors.js";
import type { OutlineEvent } from "./outline.js";

/** The longest run of characters between two `<` the OPML reader accepts (one huge attribute). */
export const MAX_TAG = 4 * 1024 * 1024;

/** Attributes with a meaning of their own; every other attribute becomes a prop of that name. */
const TEXT = "text";
const NOTE = "_note";
const COMPLETE = "_complete";

/**
 * The head element logbook's exports write (`<_tasks>marked</_tasks>`): only rows with a
 * `_complete` attribute are tasks, whatever the rest of the file holds. Never a prop.
 */
export const TASKS_FIELD = "_tasks";
/** The value of `TASKS_FIELD` that says so. */
export const TASKS_MARKED = "marked";

/** Options of `parseOpml`. */
export interface OpmlOptions {
  /**
   * Whether the file has a `_complete` attribute anywhere (see `usesComplete`). Then every row is
   * a task, as in Workflowy's exports, which mark finished rows only: a row without
   * `_complete="true"` is an unfinished task (`done: false`). A head `<_tasks>marked</_tasks>`
   * overrides it. Default false: only rows with `_complete` are tasks.
   */
  readonly completeAnywhere?: boolean;
}

/**
 * Props of an `<outline>`: `_note` -> note, `_complete` -> done (boolean), the rest as strings.
 * `everyRowATask`: a row without `_complete` gets `done: false` (see `OpmlOptions`).
 */
export function propsOfAttributes(attributes: Record<string, string>, everyRowATask = false): { text: string; props: Props } {
  const props: Props = {};
  let text = "";
  for (const [name, value] of Object.entries(attributes)) {
    if (name === TEXT) text = value;
    else if (name === NOTE) props["note"] = value;
    else if (name === COMPLETE) props["done"] = value.trim().toLowerCase() === "true";
    else setProp(props, name, value);
  }
  // A `done` attribute of the row's own stays a prop as it is.
  if (everyRowATask && !Object.hasOwn(props, "done")) props["done"] = false;
  return { text, props };
}

type Place = "start" | "opml" | "head" | "headField" | "body" | "after";

/**
 * Streams OPML (1.0 or 2.0) into outline events with a SAX parser (saxes: strict, well-formedness
 * checked), never a DOM of the whole file. A DOCTYPE is rejected when it is seen, before any
 * entity could be declared or expanded (no XXE, no billion laughs); saxes itself knows only the
 * five predefined entities. The head's `<title>` is the title; its other elements become the
 * title's props. Which rows are tasks: see `OpmlOptions`.
 */
export async function* parseOpml(chunks: AsyncIterable<string>, file: string, options: OpmlOptions = {}): AsyncGenerator<OutlineEvent> {
  const queue: OutlineEvent[] = [];
  const parser = new SaxesParser({ position: true });
  const fail = (code: InterchangeError["code"], reason: string): never => {
    throw new InterchangeError(code, file, parser.line, reason);
  };
  let place: Place = "start";
  let field = "";
  let fieldText = "";
  let title: string | undefined;
  const head: Props = {};
  let depth = 0;
  let titled = false;
  let everyRowATask = options.completeAnywhere === true;
  const emitTitle = () => {
    if (titled) return;
    titled = true;
    queue.push({ kind: "title", content: title === undefined ? undefined : storedContent(title), props: head, line: parser.line });
  };
  parser.on("error", (error) => fail("SYNTAX", `malformed XML: ${error.message.replace(/^[^:]*:\d+:\d+: /, "")}`));
  parser.on("doctype", () => fail("FORBIDDEN", "a DOCTYPE (DTD or entity declarations) is not allowed in OPML; remove it"));
  parser.on("opentag", (tag) => {
    switch (place) {
      case "start":
        if (tag.name !== "opml") fail("FORMAT", `not an OPML file: the root element is <${tag.name}>, not <opml>`);
        place = "opml";
        return;
      case "opml":
        if (tag.name === "head") place = "head";
        else if (tag.name === "body") {
          emitTitle();
          place = "body";
        } else fail("STRUCTURE", `<${tag.name}> inside <opml>; expected <head> or <body>`);
        return;
      case "head":
        place = "headField";
        field = tag.name;
        fieldText = "";
        return;
      case "headField":
        return fail("STRUCTURE", `<${tag.name}> inside <${field}> in <head>`);
      case "body": {
        if (tag.name !== "outline") fail("STRUCTURE", `<${tag.name}> inside <body>; OPML rows are <outline> elements`);
        const { text, props } = propsOfAttributes(tag.attributes as Record<string, string>, everyRowATask);
        depth++;
        queue.push({ kind: "open", content: storedContent(text), props, line: parser.line });
        return;
      }
      case "after":
        return fail("STRUCTURE", `<${tag.name}> after </body>`);
    }
  });
  parser.on("text", (text) => {
    if (place === "headField") fieldText += text;
  });
  parser.on("cdata", (text) => {
    if (place === "headField") fieldText += text;
  });
  parser.on("closetag", (tag) => {
    if (place === "headField") {
      if (field === "title") title = fieldText;
      else if (field === TASKS_FIELD) everyRowATask &&= fieldText.trim() !== TASKS_MARKED;
      else setProp(head, field, fieldText);
      place = "head";
    } else if (place === "head") place = "opml";
    else if (place === "body") {
      if (depth === 0) place = "after";
      else {
        depth--;
        queue.push({ kind: "close" });
      }
    } else if (tag.name === "opml" && place === "opml" && !titled) fail("STRUCTURE", "the file has no <body>");
  });
  let run = 0;
  for await (const chunk of chunks) {
    run = guardTags(chunk, run, () => fail("TOO_LONG", `a tag longer than ${MAX_TAG.toLocaleString("en")} characters`));
    parser.write(chunk);
    yield* queue;
    queue.length = 0;
  }
  parser.close();
  if (place === "start") fail("FORMAT", "not an OPML file: no <opml> element");
  if (!titled) fail("STRUCTURE", "the file has no <body>");
  yield* queue;
}

/** Characters since the last `<`, failing past `MAX_TAG`: bounds what saxes buffers for one tag. */
function guardTags(chunk: string, run: number, tooLong: () => never): number {
  const last = chunk.lastIndexOf("<");
  const next = last < 0 ? run + chunk.length : chunk.length - last - 1;
  if (next > MAX_TAG || (last >= 0 && run + chunk.indexOf("<") > MAX_TAG)) tooLong();
  return next;
}
