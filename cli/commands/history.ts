import type { Command } from "commander";
import { opLine } from "../change-lines.js";
import { withContext, type GlobalOptions } from "../context.js";
import { explainHistory, versionReader } from "../../interchange/index.js";
import type { Io } from "../io.js";
import { positive } from "../parse-args.js";
import { print, when } from "../render.js";

interface PageOptions extends GlobalOptions {
  readonly limit?: number;
  readonly cursor?: string;
}

function page(options: PageOptions) {
  return { ...(options.limit ? { limit: options.limit } : {}), ...(options.cursor ? { cursor: options.cursor } : {}) };
}

/** `logbook history OID` and `logbook versions OID`: ops and versions of a subtree, newest first. */
export function historyCommands(program: Command, io: Io): void {
  program
    .command("history")
    .argument("<oid>", "an objective (its own ops and its descendants')")
    .description("list the changes to an objective's subtree, newest first: each row's text and which of its fields changed")
    .option("--limit <n>", "ops per page", positive("--limit"))
    .option("--cursor <cursor>", "the next page (printed after a full page)")
    .addHelpText("after", "\nExamples:\n  $ logbook history 0190f3c2-... --limit 10\n  $ logbook history 0190f3c2-... --json | jq '.ops[].kind'")
    .action(async (oid: string, _options, command: Command) => {
      const options = command.optsWithGlobals<PageOptions>();
      await withContext(options, io, "existing", async (ctx) => {
        const result = await ctx.engine.history(ctx.spaceId, oid, page(options));
        const ops = await explainHistory(versionReader(ctx.engine, ctx.spaceId), result.ops);
        const c = ctx.colors;
        await print(ctx, { ...result, ops }, () =>
          [
            ...ops.map((op) => opLine(c, op)),
            ...(result.next ? [c.dim(`more: --cursor ${result.next}`)] : []),
          ].join("\n") || "no history",
        );
      });
    });
  program
    .command("versions")
    .argument("<oid>", "an objective")
    .description("list an objective's versions, newest first (any of them works with --vid and checkout)")
    .option("--limit <n>", "versions per page", positive("--limit"))
    .option("--cursor <cursor>", "the next page")
    .addHelpText("after", "\nExamples:\n  $ logbook versions 0190f3c2-...\n  $ logbook versions 0190f3c2-... --limit 5 --json")
    .action(async (oid: string, _options, command: Command) => {
      const options = command.optsWithGlobals<PageOptions>();
      await withContext(options, io, "existing", async (ctx) => {
        const result = await ctx.engine.versions(ctx.spaceId, oid, page(options));
        const c = ctx.colors;
        await print(ctx, result, () =>
          [
            ...result.versions.map((v) => `${c.bold(v.vid)}  ${c.dim(when(v.at))}  ${v.kind.padEnd(14)} ${v.causeOid === oid ? "" : c.dim(`via ${v.causeOid}`)}`),
            ...(result.next ? [c.dim(`more: --cursor ${result.next}`)] : []),
          ].join("\n") || "no versions",
        );
      });
    });
}
