import { hostname } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import type { Command } from "commander";
import { dataDirOf, withContext, type GlobalOptions } from "../context.js";
import { CliError } from "../errors.js";
import type { Io } from "../io.js";
import { readJson, writeJson } from "../space-store.js";

/** Longest device name the accounts server takes (a long data directory keeps its end). */
const MAX_DEVICE_NAME = 100;

/** What `logbook login` keeps, for `logbook sync` and `logbook invite`: the server and this device's session token. */
export interface Credentials {
  readonly server: string;
  readonly token: string;
  readonly email: string;
  readonly userId: string;
  readonly device: string;
}

export const credentialsPath = (options: GlobalOptions, env: NodeJS.ProcessEnv) => join(dataDirOf(options, env), "sync-login.json");

/** The saved login, or NOT_SIGNED_IN saying how to make one. */
export async function loadCredentials(path: string): Promise<Credentials> {
  const login = await readJson<Credentials | undefined>(path, undefined);
  if (!login) throw new CliError("NOT_SIGNED_IN", `not signed in to a sync server (no ${path}): run \`logbook login --server URL --email ADDRESS\` first`);
  return login;
}

/** The password: from stdin (`--password-stdin`), `$LOGBOOK_PASSWORD`, or asked on the terminal without echo. */
async function password(fromStdin: boolean, io: Io): Promise<string> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  }
  const env = io.env["LOGBOOK_PASSWORD"];
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) throw new CliError("INVALID_ARGUMENT", "no password: pipe it with --password-stdin or set $LOGBOOK_PASSWORD (no terminal to ask on)");
  io.stderr.write("password: ");
  // readline on a silent output: the terminal shows nothing of what is typed.
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  try {
    // Ctrl-C or Ctrl-D ends the prompt with an error, not an unsettled wait.
    return await new Promise<string>((resolve, reject) => {
      const cancel = () => reject(new CliError("INVALID_ARGUMENT", "no password given (the prompt was cancelled)"));
      rl.once("SIGINT", cancel);
      rl.once("close", cancel);
      rl.question("", resolve);
    });
  } finally {
    rl.removeAllListeners("close");
    rl.close();
    io.stderr.write("\n");
  }
}

/** A server's JSON error as a CLI error: its code and message, or the HTTP status. */
async function refused(response: Response, what: string): Promise<CliError> {
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  return new CliError(body.error?.code === "UNAUTHENTICATED" ? "NOT_SIGNED_IN" : "SYNC", `${what}: ${body.error?.message ?? `HTTP ${response.status}`}`);
}

/** `logbook login` and `logbook sync`: this data directory as a syncing device of a space. */
export function syncCommands(program: Command, io: Io): void {
  program
    .command("login")
    .description("sign this device in to a sync server once (the token is kept in the data directory, owner-only)")
    .requiredOption("--server <url>", "the sync server, e.g. https://sync.example.com")
    .requiredOption("--email <address>", "your account")
    .option("--password-stdin", "read the password from standard input (else $LOGBOOK_PASSWORD, else asked)")
    .option("--device-name <name>", "how the server lists this device (default: the host and data directory)")
    .addHelpText("after", "\nExamples:\n  $ logbook login --server https://sync.example.com --email ada@example.com\n  $ pass show logbook | logbook login --server https://sync.example.com --email ada@example.com --password-stdin")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { server: string; email: string; passwordStdin?: boolean; deviceName?: string }>();
      // One device per data directory: signing in again under the same name replaces that device's session.
      const deviceName = options.deviceName ?? `logbook CLI on ${hostname()} (${options.pg === undefined ? dataDirOf(options, io.env) : "postgres"})`;
      const server = options.server.replace(/\/$/, "");
      if (!/^https?:\/\//.test(server)) throw new CliError("INVALID_ARGUMENT", `--server must be an http(s) URL, got ${JSON.stringify(options.server)}`);
      // The pull cursor and the push mark in the database count one server's ops: another server
      // would skip its first ops and never get this device's earlier ones.
      const path = credentialsPath(options, io.env);
      const previous = await readJson<Credentials | undefined>(path, undefined);
      if (previous && previous.server !== server) {
        throw new CliError("INVALID_ARGUMENT", `this data directory syncs with ${previous.server}, not ${server}: its sync cursors belong to that server (use another data directory)`);
      }
      const secret = await password(options.passwordStdin === true, io);
      let response: Response;
      try {
        response = await fetch(`${server}/accounts/sign-in`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: options.email, password: secret, deviceName: deviceName.slice(-MAX_DEVICE_NAME), returnToken: true }),
        });
      } catch (error) {
        throw new CliError("SYNC", `cannot reach ${server}: ${(error as Error).message}`);
      }
      if (!response.ok) throw await refused(response, `sign-in at ${server} refused`);
      const body = (await response.json()) as { token: string; user: { id: string }; device: { id: string } };
      // Owner-only: the token is a password for this device.
      await writeJson(path, { server, token: body.token, email: options.email, userId: body.user.id, device: body.device.id } satisfies Credentials, 0o600);
      io.stdout.write(options.json ? `${JSON.stringify({ server, email: options.email, device: body.device.id })}\n` : `signed in to ${server} as ${options.email} (device ${body.device.id})\n`);
    });

  program
    .command("sync")
    .description("one sync round with the server `logbook login` signed in to: push this device's edits, pull the others'")
    .option("--watch", "stay online: sync on every change the server announces, until Ctrl-C")
    .addHelpText(
      "after",
      "\nA second device joins a space with --space ID (the space's id from the first device's `logbook sync`).\n\nExamples:\n  $ logbook sync\n  $ logbook --space 0190f3c2-... sync --watch",
    )
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { watch?: boolean }>();
      const login = await loadCredentials(credentialsPath(options, io.env));
      const { createSyncClient, httpTransport, SyncError } = await import("../../sync/index.js");
      await withContext(options, io, "create", async (ctx) => {
        // A space named with --space that this database lacks is joined: its replica starts empty,
        // and the server must have it. Any other is this database's own: created on the server
        // (idempotent) by its first sync.
        let joined = false;
        // A joined space becomes the default once the server knew it (a typo stays no default).
        const keep = async () => {
          if (joined) await ctx.store.save({ ...(await ctx.store.load()), spaceId: ctx.spaceId });
          joined = false;
        };
        await ctx.engine.createSpace({ spaceId: ctx.spaceId }).then(
          () => {
            joined = true;
          },
          (error: unknown) => {
            if ((error as { code?: string }).code !== "CONFLICT") throw error;
          },
        );
        const say = (r: { pushed: number; pulled: number }) =>
          io.stdout.write(ctx.json ? `${JSON.stringify({ spaceId: ctx.spaceId, ...r })}\n` : `space ${ctx.spaceId}: pushed ${r.pushed} ops, pulled ${r.pulled}\n`);
        const transport = httpTransport({ baseUrl: login.server, token: login.token });
        const failure = (error: unknown) =>
          error instanceof SyncError ? new CliError(error.code === "UNAUTHENTICATED" ? "NOT_SIGNED_IN" : "SYNC", `sync with ${login.server}: ${error.message}`) : error;
        if (!options.watch) {
          const round = await createSyncClient({ engine: ctx.engine, spaceId: ctx.spaceId, transport, create: !joined }).sync().catch((e: unknown) => Promise.reject(failure(e)));
          await keep();
          say(round);
          return;
        }
        let fatal: unknown;
        const client = createSyncClient({
          engine: ctx.engine,
          spaceId: ctx.spaceId,
          transport,
          create: !joined,
          onRound: (r) => {
            void keep();
            if (r.pushed + r.pulled > 0) say(r);
          },
          onError: (error) => {
            fatal = failure(error);
            io.stderr.write(`logbook: ${(fatal as Error).message}\n`);
          },
        });
        if (!ctx.json) io.stdout.write(`watching space ${ctx.spaceId} at ${login.server} (Ctrl-C stops)\n`);
        client.start();
        // Until Ctrl-C (or a refusal); then nothing of the wait is left behind.
        let stopWaiting = () => {};
        const check = setInterval(() => client.status === "refused" && stopWaiting(), 200);
        await new Promise<void>((resolve) => {
          stopWaiting = resolve;
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
        clearInterval(check);
        process.removeListener("SIGINT", stopWaiting);
        process.removeListener("SIGTERM", stopWaiting);
        await client.stop();
        if (client.status === "refused") throw fatal;
      });
    });
}
