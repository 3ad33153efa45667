import { Command } from "commander";
import { checkoutCommandsNote } from "./help.js";
import type { Io } from "./io.js";
import { versionCommands } from "./commands/checkout.js";
import { editCommands } from "./commands/edit.js";
import { exportCommand } from "./commands/export.js";
import { foldCommands } from "./commands/fold.js";
import { shareCommands } from "./commands/share.js";
import { inviteCommands } from "./commands/invite.js";
import { historyCommands } from "./commands/history.js";
import { importCommand } from "./commands/import.js";
import { initCommand } from "./commands/init.js";
import { infoCommands } from "./commands/stats.js";
import { serveCommand } from "./commands/serve.js";
import { syncCommands } from "./commands/sync.js";
import { treeCommand } from "./commands/tree.js";
import { viewCommand } from "./commands/view.js";

/**
 * The `logbook` command with every subcommand; errors are thrown, not exited on. `json`: commander
 * prints nothing of its own on stderr (no error text, no help after an error), so that the caller
 * can print the error as JSON.
 */
export function createProgram(io: Io, options: { json?: boolean } = {}): Command {
  const program = new Command("logbook")
    .description("A versioned outline database on the command line: import OPML/Markdown, browse, edit, version, export.")
    .option("--data <dir>", "data directory of the embedded PGlite database (default $LOGBOOK_DATA or ./.logbook)")
    .option("--pg <url>", "use a PostgreSQL server instead (default $LOGBOOK_PG)")
    .option("--space <id>", "the space to work in (default: the one remembered by init/import)")
    .option("--json", "print results as JSON for scripts")
    .showHelpAfterError(options.json ? false : "(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => (options.json ? undefined : io.stderr.write(text)),
      outputError: (text, write) => write(`logbook: ${text.replace(/^error: /, "")}`),
    })
    .addHelpText("after", checkoutCommandsNote);
  for (const add of [initCommand, importCommand, exportCommand, treeCommand, viewCommand, foldCommands, shareCommands, inviteCommands, historyCommands, versionCommands, editCommands, infoCommands, serveCommand, syncCommands]) add(program, io);
  for (const command of program.commands) command.exitOverride();
  return program;
}
