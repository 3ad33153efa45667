import type { Command } from "commander";
import { withContext, type GlobalOptions } from "../context.js";
import type { Io } from "../io.js";
import { print, shortText } from "../render.js";

interface FoldOptions extends GlobalOptions {
  readonly user: string;
}

function foldCommand(program: Command, io: Io, folded: boolean): void {
  const name = folded ? "fold" : "unfold";
  program
    .command(name)
    .argument("<oid>", "the row whose children to hide (or show again)")
    .requiredOption("--user <name>", "whose view: `view --user NAME` applies the folds")
    .description(folded ? "fold a row for a user: `view --user` hides its children (view state: no new version)" : "unfold a row for a user: `view --user` shows its children again")
    .addHelpText("after", `\nExamples:\n  $ logbook ${name} 0190f3c2-... --user ana\n  $ logbook view 0190f3c0-... --user ana`)
    .action(async (oid: string, _options, command: Command) => {
      const options = command.optsWithGlobals<FoldOptions>();
      await withContext(options, io, "existing", async (ctx) => {
        // The engine stores a fold for any well-formed id: reading the row first makes an unknown
        // oid a NOT_FOUND (exit 1) instead of a fold that nothing shows.
        const row = await ctx.engine.get(ctx.spaceId, oid);
        await ctx.engine.setFolded(ctx.spaceId, options.user, oid, folded);
        const text = shortText(row.content);
        await print(ctx, { oid, user: options.user, folded, content: row.content, childCount: row.childCount }, () =>
          folded
            ? `folded "${text}" for ${options.user}: its ${row.childCount} ${row.childCount === 1 ? "child is" : "children are"} hidden in \`view --user ${options.user}\``
            : `unfolded "${text}" for ${options.user}`,
        );
      });
    });
}

/** `logbook fold OID --user U` and `logbook unfold OID --user U`: the folds `view --user` applies. */
export function foldCommands(program: Command, io: Io): void {
  foldCommand(program, io, true);
  foldCommand(program, io, false);
}
