import type { Command } from "commander";
import { withContext, type GlobalOptions } from "../context.js";
import type { Io } from "../io.js";
import { print } from "../render.js";

/** `logbook checkout OID VID` and `logbook diff OID FROM TO`. */
export function versionCommands(program: Command, io: Io): void {
  program
    .command("checkout")
    .argument("<oid>", "the objective whose subtree goes back")
    .argument("<vid>", "one of its versions (from `logbook versions OID`)")
    .description("make a past version of a subtree the active one (a new version; nothing is lost)")
    .addHelpText("after", "\nExamples:\n  $ logbook checkout 0190f3c2-... Qm8xT1...\n  $ logbook checkout -- 0190f3c2-... -Dfv8dY...   # a vid may start with -: put -- first")
    .action(async (oid: string, vid: string, _options, command: Command) => {
      await withContext(command.optsWithGlobals<GlobalOptions>(), io, "existing", async (ctx) => {
        const now = await ctx.engine.checkout(ctx.spaceId, oid, vid);
        await print(ctx, now, () => `checked out ${oid} to ${vid}: active version is now ${now.vid}`);
      });
    });
  program
    .command("diff")
    .argument("<oid>", "the subtree to compare")
    .argument("<from>", "a version of it")
    .argument("<to>", "another version of it")
    .description("list what changed in a subtree between two of its versions")
    .addHelpText("after", "\nExamples:\n  $ logbook diff 0190f3c2-... Qm8xT1... Zp04aa...\n  $ logbook diff -- 0190f3c2-... -Dfv8dY... Zp04aa...   # a vid may start with -: put -- first")
    .action(async (oid: string, from: string, to: string, _options, command: Command) => {
      await withContext(command.optsWithGlobals<GlobalOptions>(), io, "existing", async (ctx) => {
        const changes = await ctx.engine.diff(ctx.spaceId, oid, from, to);
        const c = ctx.colors;
        const colour = { created: c.green, deleted: c.red, updated: c.yellow, moved: c.cyan, reordered: c.cyan } as const;
        await print(ctx, changes, () =>
          changes
            .map((ch) => {
              const where = ch.parentBefore !== ch.parentAfter && ch.kind === "moved" ? `  ${ch.parentBefore} → ${ch.parentAfter}` : "";
              const index = ch.indexBefore !== undefined || ch.indexAfter !== undefined ? `  #${ch.indexBefore ?? "-"} → #${ch.indexAfter ?? "-"}` : "";
              return `${colour[ch.kind](ch.kind.padEnd(10))} ${ch.oid}${where}${index}`;
            })
            .join("\n") || "no changes",
        );
      });
    });
}
