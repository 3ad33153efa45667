import type { Props, TreeInput } from "../index.js";

/**
 * What a parser emits, in document order. `title` comes once, before the first `open`; every
 * `open` is matched by a `close`. Contents are already in stored form (see `storedContent`).
 */
export type OutlineEvent =
  /** `content` is undefined when the file names no title (the importer then uses the file name). */
  | { readonly kind: "title"; readonly content: string | undefined; readonly props: Props; readonly line: number }
  | { readonly kind: "open"; readonly content: string; readonly props: Props; readonly line: number }
  | { readonly kind: "close" };

/** A whole outline in memory: the document root (title) and its children. */
export interface Outline {
  readonly content: string;
  readonly props: Props;
  readonly children: readonly TreeInput[];
}

/** One row of an outline being written out, in depth-first order (depth 0: child of the root). */
export interface OutlineRow {
  readonly depth: number;
  readonly content: string;
  readonly props: Props;
  readonly childCount: number;
}

/** The title of an outline being written out. */
export interface OutlineHead {
  readonly content: string;
  readonly props: Props;
}

/** The formats this package reads and writes. */
export type OutlineFormat = "opml" | "md";
