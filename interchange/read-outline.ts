import { createReadStream } from "node:fs";
import { usesComplete } from "./complete-scan.js";
import { decodeUtf8 } from "./decode.js";
import { parseMarkdown } from "./markdown-parse.js";
import { parseOpml, type OpmlOptions } from "./opml-parse.js";
import type { OutlineEvent, OutlineFormat } from "./outline.js";

/**
 * Reads text (or bytes) in any format into outline events. `file` names it in errors. A stream is
 * read once and cannot be looked ahead in: for OPML, say whether it uses `_complete` anywhere
 * (`opml.completeAnywhere`, see `OpmlOptions`); `readOutline` and `parseText` find it themselves.
 */
export function parseOutline(format: OutlineFormat, input: AsyncIterable<Uint8Array | string>, file: string, opml: OpmlOptions = {}): AsyncGenerator<OutlineEvent> {
  const text = decodeUtf8(input, file);
  return format === "opml" ? parseOpml(text, file, opml) : parseMarkdown(text, file);
}

function readFile(path: string): AsyncIterable<Buffer> {
  return createReadStream(path, { highWaterMark: 64 * 1024 });
}

/**
 * Streams a file (64 KiB reads) into outline events; `onRead` hears the bytes read so far. An
 * OPML file is first scanned for `_complete` (see `usesComplete`), then parsed: it is opened
 * twice, so it must be a regular file, not a pipe.
 */
export async function* readOutline(path: string, format: OutlineFormat, file = path, onRead?: (bytes: number) => void): AsyncGenerator<OutlineEvent> {
  const opml = format === "opml" ? { completeAnywhere: await usesComplete(readFile(path)) } : {};
  yield* parseOutline(format, onRead ? counted(readFile(path), onRead) : readFile(path), file, opml);
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
  const input = async function* () {
    yield text;
  };
  return (async function* () {
    const opml = format === "opml" ? { completeAnywhere: await usesComplete(input()) } : {};
    yield* parseOutline(format, input(), file, opml);
  })();
}
