import type { Command } from "commander";
import { withContext, type GlobalOptions } from "../context.js";
import type { Io } from "../io.js";
import { print, propsText } from "../render.js";

/** `logbook stats OID` and `logbook docs`. */
export function infoCommands(program: Command, io: Io): void {
  program
    .command("stats")
    .argument("<oid>", "an objective")
    .description("show an objective's statistics (descendants, done/total), exact for any version")
    .option("--vid <vid>", "a past version")
    .addHelpText("after", "\nExamples:\n  $ logbook stats 0190f3c2-...\n  $ logbook stats 0190f3c2-... --vid Qm8xT1... --json")
    .action(async (oid: string, _options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { vid?: string }>();
      await withContext(options, io, "existing", async (ctx) => {
        const o = await ctx.engine.get(ctx.spaceId, oid, options.vid ? { vid: options.vid } : undefined);
        const value = { oid: o.oid, vid: o.vid, content: o.content, props: o.props, childCount: o.childCount, stats: o.stats };
        await print(ctx, value, () =>
          [
            `${ctx.colors.bold(o.content)}  ${ctx.colors.dim(`${o.oid} @ ${o.vid}`)}`,
            `children ${o.childCount}, descendants ${o.stats.descendants}, done ${o.stats.done}/${o.stats.total} (${o.stats.percent}%)`,
            ...(Object.keys(o.props).length ? [`props ${propsText(o.props)}`] : []),
          ].join("\n"),
        );
      });
    });
  program
    .command("docs")
    .description("list the documents this CLI imported or created in the space")
    .addHelpText("after", "\nExample:\n  $ logbook docs")
    .action(async (_options, command: Command) => {
      await withContext(command.optsWithGlobals<GlobalOptions>(), io, "existing", async (ctx) => {
        const { documents } = await ctx.store.load();
        await print(ctx, documents, () => documents.map((d) => `${d.oid}  ${ctx.colors.dim(d.at.slice(0, 19))}  ${d.title}`).join("\n") || "no documents yet");
      });
    });
}
