import { basename, extname } from "node:path";
import type { Engine } from "../index.js";
import { checkEvent, type ImportLimits } from "./check-limits.js";
import { detectFormat } from "./detect.js";
import { importOutline, type ImportResult } from "./import-outline.js";
import type { OutlineFormat } from "./outline.js";
import { readOutline } from "./read-outline.js";

/** Options of `importFile`. */
export interface ImportFileOptions {
  /** Detected from the name and first bytes when omitted. */
  readonly format?: OutlineFormat;
  /** The title when the file names none; default: the file's base name. */
  readonly title?: string;
  /** Rows per transaction (see `importOutline`). */
  readonly batch?: number;
  readonly limits?: ImportLimits;
  /** Called once the file is checked, with its row count. */
  readonly onChecked?: (rows: number) => void;
  readonly onProgress?: (written: number) => void;
}

/** Reads the whole file once without writing: every syntax, encoding and limit error, and the row count. */
export async function checkFile(path: string, format: OutlineFormat, limits?: ImportLimits): Promise<number> {
  let rows = 0;
  for await (const event of readOutline(path, format)) {
    checkEvent(event, path, limits);
    if (event.kind === "open") rows++;
  }
  return rows;
}

/** A file that passed `checkFile`: its format and row count. */
export interface CheckedFile {
  readonly path: string;
  readonly format: OutlineFormat;
  readonly rows: number;
}

/** Detects the format (unless given) and checks the whole file without writing. */
export async function checkOutlineFile(path: string, format?: OutlineFormat, limits?: ImportLimits): Promise<CheckedFile> {
  const detected = format ?? (await detectFormat(path));
  return { path, format: detected, rows: await checkFile(path, detected, limits) };
}

/**
 * Imports an OPML or Markdown file as a new document. Two streaming passes over the file: the
 * first checks it all (so bad input writes nothing), the second writes it in batches; memory is
 * bounded by the batch size and the depth, not by the file.
 *
 * @example
 * const { oid, nodes } = await importFile(engine, spaceId, "notes.opml");
 */
export async function importFile(engine: Engine, spaceId: string, path: string, options: ImportFileOptions = {}): Promise<ImportResult & { format: OutlineFormat }> {
  const checked = await checkOutlineFile(path, options.format, options.limits);
  options.onChecked?.(checked.rows);
  return importChecked(engine, spaceId, checked, options);
}

/** The writing pass of `importFile`, for a file already checked. */
export async function importChecked(engine: Engine, spaceId: string, checked: CheckedFile, options: Omit<ImportFileOptions, "format" | "limits" | "onChecked"> = {}): Promise<ImportResult & { format: OutlineFormat }> {
  const { path, format } = checked;
  const title = options.title ?? basename(path, extname(path));
  const result = await importOutline(engine, spaceId, readOutline(path, format), {
    title,
    ...(options.batch === undefined ? {} : { batch: options.batch }),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return { ...result, format };
}
