/*
 * The engine stores non-empty contents only, but outlines have empty rows (an OPML
 * `text=""`, a bare `- `). We keep them faithful with a bijection between all strings and
 * non-empty strings: a string of n spaces (n >= 0) is stored as n + 1 spaces; every other
 * string is stored as it is. So "" <-> " ", " " <-> "  ", and "a" <-> "a".
 */

const SPACES = /^ *$/;

/** The content the engine stores for a row's text. */
export function storedContent(text: string): string {
  return SPACES.test(text) ? `${text} ` : text;
}

/** The row's text for stored content (the inverse of `storedContent`). */
export function sourceText(content: string): string {
  return content.length > 0 && SPACES.test(content) ? content.slice(1) : content;
}
