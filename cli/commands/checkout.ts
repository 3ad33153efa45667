import type { Command } from "commander";
import { diffLine } from "../change-lines.js";
import { withContext, type GlobalOptions } from "../context.js";
import { explainDiff, versionReader } from "../../interchange/index.js";
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
    .description("list what changed in a subtree between two of its versions: each row's text and which of its fields changed")
    .addHelpText("after", "\nExamples:\n  $ logbook diff 0190f3c2-... Qm8xT1... Zp04aa...\n  $ logbook diff -- 0190f3c2-... -Dfv8dY... Zp04aa...   # a vid may start with -: put -- first")
    .action(async (oid: string, from: string, to: string, _options, command: Command) => {
      await withContext(command.optsWithGlobals<GlobalOptions>(), io, "existing", async (ctx) => {
        const changes = await ctx.engine.diff(ctx.spaceId, oid, from, to);
        const explained = await explainDiff(versionReader(ctx.engine, ctx.spaceId), { oid, from, to }, changes);
        await print(ctx, explained, () => explained.map((ch) => diffLine(ctx.colors, ch)).join("\n") || "no changes");
      });
    });
}
