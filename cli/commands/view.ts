import type { Command } from "commander";
import { withContext, type GlobalOptions } from "../context.js";
import type { Io } from "../io.js";
import { nonNegative, positive } from "../parse-args.js";
import { print, rowLine } from "../render.js";

interface ViewOptions extends GlobalOptions {
  readonly offset: number;
  readonly limit: number;
  readonly vid?: string;
  readonly user?: string;
}

/** `logbook view DOC --offset N --limit M`: one window of the depth-first rows. */
export function viewCommand(program: Command, io: Io): void {
  program
    .command("view")
    .argument("<doc>", "the document's oid")
    .description("print rows [offset, offset + limit) of a document's depth-first view, cheap at any size")
    .option("--offset <n>", "first row (0-based)", nonNegative("--offset"), 0)
    .option("--limit <m>", "rows to show (at most 10000)", positive("--limit"), 20)
    .option("--vid <vid>", "a past version of the document")
    .option("--user <name>", "apply this user's folds")
    .addHelpText("after", "\nExamples:\n  $ logbook view 0190f3c2-... --offset 0 --limit 20\n  $ logbook view 0190f3c2-... --offset 5000 --limit 50 --json")
    .action(async (doc: string, _options, command: Command) => {
      const options = command.optsWithGlobals<ViewOptions>();
      await withContext(options, io, "existing", async (ctx) => {
        const view = await ctx.engine.view(ctx.spaceId, doc, {
          offset: options.offset,
          limit: options.limit,
          ...(options.vid ? { vid: options.vid } : {}),
          ...(options.user ? { user: options.user } : {}),
        });
        const c = ctx.colors;
        const width = String(options.offset + view.rows.length).length;
        await print(ctx, view, () => {
          const last = options.offset + view.rows.length;
          const head = c.dim(`rows ${view.rows.length ? `${options.offset}–${last - 1}` : "none"} of ${view.total.toLocaleString("en")}`);
          const lines = view.rows.map((row, i) => `${c.dim(String(options.offset + i).padStart(width))}  ${"  ".repeat(row.depth)}${row.folded ? c.yellow("▸") : c.dim("•")} ${rowLine(c, row)}`);
          return [head, ...lines].join("\n");
        });
      });
    });
}
