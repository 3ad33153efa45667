import { InterchangeError } from "./errors.js";

/**
 * Strict UTF-8 decoding of a byte stream into text chunks. Invalid UTF-8 is an error naming the
 * line it is on (counted from the text decoded so far), not a silent U+FFFD. A leading BOM is
 * dropped. An input with no bytes, or only whitespace, is an `EMPTY` error.
 */
export async function* decodeUtf8(bytes: AsyncIterable<Uint8Array | string>, file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let lines = 1;
  let blank = true;
  const decode = (chunk: Uint8Array | undefined, stream: boolean): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream });
    } catch {
      // The line of the bad bytes: newlines before the first replacement character of this chunk.
      const lenient = chunk === undefined ? "" : new TextDecoder("utf-8").decode(chunk);
      const before = lenient.slice(0, Math.max(0, lenient.indexOf("\uFFFD")));
      const line = lines + (before.match(/\n/g)?.length ?? 0);
      throw new InterchangeError("ENCODING", file, line, "the file is not valid UTF-8 here (save it as UTF-8)");
    }
  };
  const seen = (text: string): string => {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines++;
    if (blank && /\S/.test(text)) blank = false;
    return text;
  };
  for await (const chunk of bytes) {
    const text = typeof chunk === "string" ? chunk : decode(chunk, true);
    if (text) yield seen(text);
  }
  const rest = decode(undefined, false);
  if (rest) yield seen(rest);
  if (blank) throw new InterchangeError("EMPTY", file, undefined, "the file is empty");
}
