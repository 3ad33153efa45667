import { createWriteStream } from "node:fs";
import type { Command } from "commander";
import { exportOutline, type OutlineFormat } from "../../interchange/index.js";
import { withContext, type GlobalOptions } from "../context.js";
import { bufferedWriter, type Io } from "../io.js";
import { oneOf } from "../parse-args.js";

interface ExportOptions extends GlobalOptions {
  readonly format: OutlineFormat;
  readonly vid?: string;
  readonly output?: string;
}

/** `logbook export DOC`: a document (any version) as OPML or Markdown, streamed. */
export function exportCommand(program: Command, io: Io): void {
  program
    .command("export")
    .argument("<doc>", "the document's oid (or any objective's: its subtree is exported)")
    .description("write a document as OPML or Markdown to stdout (or --output FILE)")
    .option("--format <format>", "opml or md", oneOf("--format", ["opml", "md"] as const), "opml")
    .option("--vid <vid>", "a past version of the document (from `logbook versions DOC`)")
    .option("-o, --output <file>", "write to a file instead of stdout")
    .addHelpText("after", "\nExamples:\n  $ logbook export 0190f3c2-... --format md > notes.md\n  $ logbook export 0190f3c2-... --format opml --vid Qm8x... -o old.opml")
    .action(async (doc: string, _options, command: Command) => {
      const options = command.optsWithGlobals<ExportOptions>();
      await withContext(options, io, "existing", async (ctx) => {
        const skipped = { count: 0, keys: new Set<string>() };
        const chunks = exportOutline(ctx.engine, ctx.spaceId, doc, options.format, { ...(options.vid ? { vid: options.vid } : {}), skipped });
        const first = await chunks.next(); // the root is read (and a bad oid or vid reported) before a file is created
        const out = options.output ? createWriteStream(options.output) : io.stdout;
        const buffered = bufferedWriter(out);
        if (!first.done) await buffered.add(first.value);
        for await (const chunk of chunks) await buffered.add(chunk);
        await buffered.flush();
        if (options.output) await new Promise<void>((resolve, reject) => (out as ReturnType<typeof createWriteStream>).end((error?: Error | null) => (error ? reject(error) : resolve())));
        if (skipped.count > 0) io.stderr.write(`logbook: ${skipped.count} props could not be OPML attributes and were left out (keys: ${[...skipped.keys].slice(0, 10).join(", ")})\n`);
      });
    });
}
