/**
 * Outline interchange: OPML 2.0 and Markdown, streaming parsers and writers, the streamed import
 * into / export from the engine, and changes explained as text (what `logbook diff`/`history` and
 * the page's history panel show). See docs/cli.md for the mapping of each format.
 */
export { InterchangeError, type InterchangeErrorCode } from "./errors.js";
export type { Outline, OutlineEvent, OutlineFormat, OutlineHead, OutlineRow } from "./outline.js";
export { storedContent, sourceText } from "./empty-text.js";
export { parseOpml, type OpmlOptions } from "./opml-parse.js";
export { usesComplete } from "./complete-scan.js";
export { writeOpml } from "./opml-write.js";
export { parseMarkdown } from "./markdown-parse.js";
export { writeMarkdown } from "./markdown-write.js";
export { collect, rowsOf } from "./collect.js";
export { detectFormat } from "./detect.js";
export { parseOutline, parseText, readOutline } from "./read-outline.js";
export { checkEvent, DEFAULT_IMPORT_LIMITS, type ImportLimits } from "./check-limits.js";
export { importOutline, type ImportOutlineOptions, type ImportResult } from "./import-outline.js";
export { importFile, type ImportFileOptions, type ImportProgress } from "./import-file.js";
export { documentRows, exportOutline } from "./export-outline.js";
export { explainDiff, explainHistory, changeKindOf, type Explained, type ExplainedChange, type ExplainedOp } from "./explain-changes.js";
export { fieldChanges, type PropKeys } from "./field-changes.js";
export { versionReader, type VersionReader } from "./version-reader.js";
