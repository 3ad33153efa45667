/*
 * Workflowy writes `_complete="true"` on finished rows and nothing on the others, so whether a row
 * without the attribute is an unfinished task or no task at all depends on the whole file: does it
 * use `_complete` anywhere? The parser streams and must know before its first row, so the file's
 * bytes are scanned for the attribute first (one more read of a file that is read anyway; it stops
 * at the first hit, which a Workflowy file has near its top).
 */

/** An attribute named `_complete`: whitespace before the name, `=` and the value's opening quote. */
const ATTRIBUTE = /\s_complete\s*=\s*["']/;

/** Characters kept from one chunk to the next, so an attribute split between them is found. */
const OVERLAP = 64;

/**
 * Whether OPML text (bytes or strings) has a `_complete` attribute anywhere. Bytes are read as
 * latin1: the name is ASCII, and a byte scan needs no UTF-8 validation (the parse does that). The
 * attribute written in a comment or an element's text counts too; OPML rows carry their text in
 * attributes, where the quote after `=` is escaped, so that is rare.
 */
export async function usesComplete(input: AsyncIterable<Uint8Array | string>): Promise<boolean> {
  let tail = "";
  for await (const chunk of input) {
    const text = tail + (typeof chunk === "string" ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1"));
    if (ATTRIBUTE.test(text)) return true;
    tail = text.slice(-OVERLAP);
  }
  return false;
}
