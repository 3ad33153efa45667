import { createReadStream } from "node:fs";
import { decodeUtf8 } from "./decode.js";
import { parseMarkdown } from "./markdown-parse.js";
import { parseOpml } from "./opml-parse.js";
import type { OutlineEvent, OutlineFormat } from "./outline.js";

/** Reads text (or bytes) in any format into outline events. `file` names it in errors. */
export function parseOutline(format: OutlineFormat, input: AsyncIterable<Uint8Array | string>, file: string): AsyncGenerator<OutlineEvent> {
  const text = decodeUtf8(input, file);
  return format === "opml" ? parseOpml(text, file) : parseMarkdown(text, file);
}

/** Streams a file (64 KiB reads) into outline events; `onRead` hears the bytes read so far. */
export function readOutline(path: string, format: OutlineFormat, file = path, onRead?: (bytes: number) => void): AsyncGenerator<OutlineEvent> {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  return parseOutline(format, onRead ? counted(stream, onRead) : stream, file);
}

async function* counted(chunks: AsyncIterable<Buffer>, onRead: (bytes: number) => void): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of chunks) {
    onRead((bytes += chunk.length));
    yield chunk;
  }
}

/** Outline events of a string, for tests and small inputs. */
export function parseText(format: OutlineFormat, text: string, file = "(text)"): AsyncGenerator<OutlineEvent> {
  return parseOutline(format, (async function* () { yield text; })(), file);
}
