import { InterchangeError } from "./errors.js";

/** The longest line the line reader accepts, in characters (far above any content limit). */
export const MAX_LINE = 1024 * 1024;

/** One line of text with its 1-based number; the line break is not part of `text`. */
export interface Line {
  readonly text: string;
  readonly number: number;
}

/**
 * Splits text chunks into lines (`\n`, `\r\n` or `\r`). A line longer than `maxLine` is an error
 * as soon as it passes the limit, so a 50 MB single line is never held in memory.
 */
export async function* splitLines(chunks: AsyncIterable<string>, file: string, maxLine = MAX_LINE): AsyncGenerator<Line> {
  let partial = "";
  let number = 1;
  let pendingCr = false;
  for await (const chunk of chunks) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 10 && pendingCr && i === start && partial === "") {
        // the \n of a \r\n split across chunks
        pendingCr = false;
        start = i + 1;
        continue;
      }
      const text = partial + chunk.slice(start, i);
      partial = "";
      check(text.length, number, file, maxLine);
      yield { text, number: number++ };
      if (c === 13 && chunk.charCodeAt(i + 1) === 10) i++;
      pendingCr = c === 13 && i === chunk.length - 1;
      start = i + 1;
    }
    if (start < chunk.length) {
      partial += chunk.slice(start);
      pendingCr = false;
      check(partial.length, number, file, maxLine);
    }
  }
  if (partial !== "") yield { text: partial, number };
}

function check(length: number, line: number, file: string, maxLine: number): void {
  if (length > maxLine) {
    throw new InterchangeError("TOO_LONG", file, line, `the line is longer than ${maxLine.toLocaleString("en")} characters`);
  }
}
