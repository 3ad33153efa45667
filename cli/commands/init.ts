import type { Command } from "commander";
import { withContext, type GlobalOptions } from "../context.js";
import type { Io } from "../io.js";
import { print } from "../render.js";

/** `logbook init`: creates the data directory (or uses the server) and the default space. */
export function initCommand(program: Command, io: Io): void {
  program
    .command("init")
    .description("create the logbook (data directory and default space); safe to run twice")
    .addHelpText("after", "\nExamples:\n  $ logbook init\n  $ logbook --data ~/notes-db init\n  $ logbook --pg postgres://postgres@127.0.0.1/app init")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      await withContext(options, io, "create", async (ctx) => {
        await print(ctx, { spaceId: ctx.spaceId, config: ctx.store.where }, () => `logbook ready: space ${ctx.spaceId} (remembered in ${ctx.store.where})`);
      });
    });
}
