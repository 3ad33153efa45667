import { stat } from "node:fs/promises";
import type { Command } from "commander";
import { importFile, type OutlineFormat } from "../../interchange/index.js";
import { withContext, type GlobalOptions } from "../context.js";
import { CliError } from "../errors.js";
import type { Io } from "../io.js";
import { oneOf } from "../parse-args.js";
import { progressBar } from "../progress.js";
import { print } from "../render.js";

interface ImportOptions extends GlobalOptions {
  readonly format?: OutlineFormat;
  readonly title?: string;
  readonly progress?: boolean;
}

async function checkReadable(file: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new CliError("NO_FILE", `cannot read ${file}: no such file`);
  if (!info.isFile()) throw new CliError("NO_FILE", `cannot read ${file}: not a file`);
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
      await checkReadable(file);
      await withContext(options, io, "create", async (ctx) => {
        const bar = progressBar(io, ctx.json ? false : options.progress);
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
        // Parsing, checking and writing; opening the database is not the import's time.
        const seconds = (performance.now() - started) / 1000;
        await ctx.remember({ oid: result.oid, title: result.title, at: new Date().toISOString() });
        const rate = Math.round(result.nodes / Math.max(seconds, 0.001));
        const peakRssBytes = process.resourceUsage().maxRSS * 1024;
        const c = ctx.colors;
        await print(ctx, { ...result, seconds, nodesPerSecond: rate, peakRssBytes }, () =>
          [
            `imported ${file} (${result.format === "opml" ? "OPML" : "Markdown"}): ${result.nodes.toLocaleString("en")} rows in ${seconds.toFixed(2)} s (${rate.toLocaleString("en")} rows/s)`,
            `document ${c.bold(result.oid)}  ${result.title}`,
            c.dim(`next: logbook tree ${result.oid} --depth 2   ·   logbook view ${result.oid} --offset 0 --limit 20`),
          ].join("\n"),
        );
      }, true);
    });
}
