import { stat } from "node:fs/promises";
import type { Command } from "commander";
import { importFile, type OutlineFormat } from "../../interchange/index.js";
import { withContext, type Context, type GlobalOptions } from "../context.js";
import { CliError } from "../errors.js";
import { colorsFor, type Io } from "../io.js";
import { oneOf } from "../parse-args.js";
import { progressBar } from "../progress.js";
import { print } from "../render.js";

interface ImportOptions extends GlobalOptions {
  readonly format?: OutlineFormat;
  readonly title?: string;
  readonly progress?: boolean;
}

/** The file's size in bytes, or NO_FILE. */
async function checkReadable(file: string): Promise<number> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new CliError("NO_FILE", `cannot read ${file}: no such file`);
  if (!info.isFile()) throw new CliError("NO_FILE", `cannot read ${file}: not a file`);
  return info.size;
}

/** Files from this size on are imported with PGlite in a worker thread (see `openStore`). */
export const BULK_FROM_BYTES = 4 * 2 ** 20;

type Imported = Awaited<ReturnType<typeof importFile>>;

/** The import inside the open database, with its bar; `seconds`: parsing, checking and writing. */
async function runImport(ctx: Context, file: string, options: ImportOptions): Promise<{ result: Imported; seconds: number }> {
  const bar = progressBar(ctx.io, ctx.json ? false : options.progress);
  const started = performance.now();
  let result;
  try {
    result = await importFile(ctx.engine, ctx.spaceId, file, {
      ...(options.format !== undefined ? { format: options.format } : {}),
      ...(options.title !== undefined ? { title: options.title } : {}),
      onProgress: (p) => bar.update(p),
    });
  } finally {
    bar.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  await ctx.remember({ oid: result.oid, title: result.title, at: new Date().toISOString() });
  return { result, seconds };
}

/**
 * Prints what was imported and the time the user waited: `performance.now()` counts from the
 * process' start (node and module loading included), so it runs after the database is closed.
 */
async function printSummary(io: Io, options: ImportOptions, file: string, done: { result: Imported; seconds: number; opened: Context["opened"]; closing: number }): Promise<void> {
  const { result, seconds } = done;
  const timings = { startSeconds: done.opened.at / 1000, openSeconds: done.opened.ms / 1000, importSeconds: seconds, closeSeconds: (performance.now() - done.closing) / 1000 };
  const wallSeconds = performance.now() / 1000;
  // `seconds` and the rate stay the import's own: bench/import.ts reads them.
  const rate = Math.round(result.nodes / Math.max(seconds, 0.001));
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const c = colorsFor(io);
  const s = (x: number) => `${x.toFixed(2)} s`;
  await print({ io, json: options.json === true }, { ...result, seconds, nodesPerSecond: rate, peakRssBytes, wallSeconds, timings }, () =>
    [
      `imported ${file} (${result.format === "opml" ? "OPML" : "Markdown"}): ${result.nodes.toLocaleString("en")} rows in ${s(wallSeconds)}`,
      c.dim(`  start ${s(timings.startSeconds)} · open ${s(timings.openSeconds)} · read and write ${s(seconds)} (${rate.toLocaleString("en")} rows/s) · close ${s(timings.closeSeconds)}`),
      `document ${c.bold(result.oid)}  ${result.title}`,
      // Most users install the package locally, where a bare `logbook` is not on the PATH.
      c.dim(`next: npx logbook tree ${result.oid} --depth 2   ·   npx logbook view ${result.oid} --offset 0 --limit 20`),
    ].join("\n"),
  );
}

/** `logbook import FILE`: an OPML or Markdown outline as a new document. */
export function importCommand(program: Command, io: Io): void {
  program
    .command("import")
    .argument("<file>", "an .opml or .md file (format detected from the name, else the first bytes)")
    .description("import an OPML or Markdown outline as a new document (one transaction: bad input writes nothing)")
    .option("--format <format>", "opml or md, instead of detecting it", oneOf("--format", ["opml", "md"] as const))
    .option("--title <title>", "the document title when the file has none (default: the file name)")
    .option("--progress", "show the progress bar even when stderr is not a terminal")
    .option("--no-progress", "never show the progress bar")
    .addHelpText("after", "\nExamples:\n  $ logbook import notes.opml\n  $ logbook import journal.md --title Journal --json")
    .action(async (file: string, _options, command: Command) => {
      const options = command.optsWithGlobals<ImportOptions>();
      // A worker thread lets parsing and Postgres overlap (~25% off a 100,000-row import) but
      // boots a second WebAssembly instance: for a small file that is most of the time and memory.
      const bulk = (await checkReadable(file)) >= BULK_FROM_BYTES;
      let closing = 0;
      const done = await withContext(options, io, "create", async (ctx) => {
        const imported = await runImport(ctx, file, options);
        closing = performance.now();
        return { ...imported, opened: ctx.opened };
      }, bulk);
      await printSummary(io, options, file, { ...done, closing });
    });
}
