import type { Command } from "commander";
import { CliError } from "../errors.js";
import { withContext, type GlobalOptions } from "../context.js";
import type { Io } from "../io.js";
import { print, shortText } from "../render.js";
import { credentialsPath, loadCredentials } from "./sync.js";

const ROLES = ["manager", "collaborator", "viewer"] as const;

/**
 * `logbook invite OID EMAIL ROLE` and `logbook invitations [--cancel ID]` (docs/collaboration.md,
 * "Invitations"): through the sync server `logbook login` signed in to, give an address a role on
 * a row's subtree (at once if it has an account, when it is verified otherwise), list the space's
 * invitations, withdraw one still waiting.
 */
export function inviteCommands(program: Command, io: Io): void {
  program
    .command("invite")
    .argument("<oid>", "the row whose subtree to share")
    .argument("<email>", "the address to invite")
    .argument("<role>", `one of ${ROLES.join(", ")}`)
    .description("invite an address to a role on a row's subtree, by e-mail through the sync server (a manager there)")
    .addHelpText("after", `\nExamples:\n  $ logbook invite 0190f3c2-... bo@example.com collaborator`)
    .action(async (oid: string, email: string, role: string, _options, command: Command) => {
      if (!(ROLES as readonly string[]).includes(role)) throw new CliError("INVALID_ARGUMENT", `role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(role)}`);
      const options = command.optsWithGlobals<GlobalOptions>();
      const login = await loadCredentials(credentialsPath(options, io.env));
      const { httpTransport } = await import("../../sync/index.js");
      await withContext(options, io, "existing", async (ctx) => {
        const row = await ctx.engine.get(ctx.spaceId, oid);
        const made = await remote(login.server, () => httpTransport({ baseUrl: login.server, token: login.token }).invite!(ctx.spaceId, { oid, email, role: role as (typeof ROLES)[number] }));
        await print(ctx, made, () =>
          `${made.email} invited as ${made.role} on "${shortText(row.content)}": ${made.outcome === "applied" ? "the role is theirs now (sync to see it)" : "the role waits for that address to sign up"}`,
        );
      });
    });
  program
    .command("invitations")
    .option("--cancel <id>", "withdraw an invitation still waiting")
    .description("the space's invitations on rows you manage (through the sync server), or withdraw one")
    .addHelpText("after", `\nExamples:\n  $ logbook invitations\n  $ logbook invitations --cancel 6f1c...`)
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { cancel?: string }>();
      const login = await loadCredentials(credentialsPath(options, io.env));
      const { httpTransport } = await import("../../sync/index.js");
      const transport = httpTransport({ baseUrl: login.server, token: login.token });
      await withContext(options, io, "existing", async (ctx) => {
        if (options.cancel !== undefined) {
          await remote(login.server, () => transport.cancelInvitation!(ctx.spaceId, options.cancel!));
          await print(ctx, { cancelled: options.cancel }, () => `invitation ${options.cancel} withdrawn`);
          return;
        }
        const list = await remote(login.server, () => transport.invitations!(ctx.spaceId));
        await print(ctx, list, () =>
          list.length === 0
            ? "no invitations"
            : list.map((i) => `${i.id}  ${i.email}  ${i.role} on ${i.oid}  ${i.outcome ?? "waiting"}  ${new Date(i.createdAt).toISOString()}`).join("\n"),
        );
      });
    });
}

/** A sync server call, its refusal as a CLI error. */
async function remote<T>(server: string, call: () => Promise<T>): Promise<T> {
  const { SyncError } = await import("../../sync/index.js");
  try {
    return await call();
  } catch (error) {
    if (error instanceof SyncError) throw new CliError(error.code === "UNAUTHENTICATED" ? "NOT_SIGNED_IN" : "SYNC", `${server}: ${error.message}`);
    throw error;
  }
}
