import type { Command } from "commander";
import { CliError } from "../errors.js";
import { withContext, type GlobalOptions } from "../context.js";
import type { Io } from "../io.js";
import { print, shortText } from "../render.js";

const ROLES = ["manager", "collaborator", "viewer", "none", "remove"] as const;

/**
 * `logbook share OID USER ROLE` (docs/collaboration.md): gives a user a role on a row's subtree
 * (`remove` takes the entry away), and `logbook collaborators OID [--history]`: who may do what
 * there, or every change of the entries set on that row.
 */
export function shareCommands(program: Command, io: Io): void {
  program
    .command("share")
    .argument("<oid>", "the row whose subtree to share")
    .argument("<user>", "the user's id (on a sync server: their user id)")
    .argument("<role>", `one of ${ROLES.join(", ")} (none hides the subtree; remove takes the entry away)`)
    .description("give a user a role on a row's subtree: a share op, no new content version")
    .addHelpText("after", `\nExamples:\n  $ logbook share 0190f3c2-... bo collaborator\n  $ logbook share 0190f3c2-... bo remove`)
    .action(async (oid: string, user: string, role: string, _options, command: Command) => {
      if (!(ROLES as readonly string[]).includes(role)) throw new CliError("INVALID_ARGUMENT", `role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(role)}`);
      await withContext(command.optsWithGlobals<GlobalOptions>(), io, "existing", async (ctx) => {
        const entries = await ctx.engine.share(ctx.spaceId, oid, user, role === "remove" ? null : (role as "manager" | "collaborator" | "viewer" | "none"));
        const row = await ctx.engine.get(ctx.spaceId, oid);
        const now = entries.find((e) => e.user === user);
        await print(ctx, { oid, user, role: role === "remove" ? null : role, entries }, () =>
          `${user} on "${shortText(row.content)}": ${now ? `${now.role}${now.oid === oid ? "" : ` (inherited from ${now.oid})`}` : "no role"}`,
        );
      });
    });
  program
    .command("collaborators")
    .argument("<oid>", "the row")
    .option("--history", "every change of the entries set on this row, newest first")
    .description("who may read, edit or share a row (entries in force, own and inherited)")
    .addHelpText("after", `\nExamples:\n  $ logbook collaborators 0190f3c2-...\n  $ logbook collaborators 0190f3c2-... --history`)
    .action(async (oid: string, _options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { history?: boolean }>();
      await withContext(options, io, "existing", async (ctx) => {
        if (options.history) {
          const changes = await ctx.engine.shareHistory(ctx.spaceId, oid);
          await print(ctx, changes, () =>
            changes.length === 0 ? "no entries were ever set on this row" : changes.map((c) => `${new Date(c.at).toISOString()}  ${c.user} → ${c.role ?? "removed"}${c.by ? ` by ${c.by}` : ""}`).join("\n"),
          );
          return;
        }
        const entries = await ctx.engine.collaborators(ctx.spaceId, oid);
        await print(ctx, entries, () =>
          entries.length === 0 ? "nobody but this database's owner" : entries.map((e) => `${e.user}  ${e.role}${e.oid === oid.toLowerCase() ? "" : `  (from ${e.oid})`}`).join("\n"),
        );
      });
    });
}
