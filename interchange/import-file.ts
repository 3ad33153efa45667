import { stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import type { Engine } from "../index.js";
import type { ImportLimits } from "./check-limits.js";
import { detectFormat } from "./detect.js";
import { importOutline, type ImportResult } from "./import-outline.js";
import type { OutlineFormat } from "./outline.js";
import { readOutline } from "./read-outline.js";

/** How far an import has read its file. */
export interface ImportProgress {
  readonly rows: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

/** Options of `importFile`. */
export interface ImportFileOptions {
  /** Detected from the name and first bytes when omitted. */
  readonly format?: OutlineFormat;
  /** The title when the file names none; default: the file's base name. */
  readonly title?: string;
  readonly limits?: ImportLimits;
  /** Rows the engine writes per statement (see `ImportStreamOptions.flushRows`). */
  readonly flushRows?: number;
  /** Called every 1,000 rows and at the end. */
  readonly onProgress?: (progress: ImportProgress) => void;
}

/**
 * Imports an OPML or Markdown file as a new document in one streaming pass and one transaction:
 * the file is parsed and checked as it is written, and any error (syntax, encoding, limits,
 * storage) rolls the whole import back. Memory is bounded by the depth of the outline, not by the
 * file.
 *
 * @example
 * const { oid, nodes } = await importFile(engine, spaceId, "notes.opml");
 */
export async function importFile(engine: Engine, spaceId: string, path: string, options: ImportFileOptions = {}): Promise<ImportResult & { format: OutlineFormat }> {
  const format = options.format ?? (await detectFormat(path));
  const totalBytes = (await stat(path)).size;
  let bytes = 0;
  const onProgress = options.onProgress;
  const result = await importOutline(engine, spaceId, readOutline(path, format, path, (read) => (bytes = read)), {
    title: options.title ?? basename(path, extname(path)),
    file: path,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.flushRows === undefined ? {} : { flushRows: options.flushRows }),
    ...(onProgress ? { onRows: (rows: number) => onProgress({ rows, bytes, totalBytes }) } : {}),
  });
  return { ...result, format };
}
