import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Command } from "commander";
import { withContext, type GlobalOptions } from "../context.js";
import type { Io } from "../io.js";
import { positive } from "../parse-args.js";

interface ServeOptions extends GlobalOptions {
  readonly port?: number;
  readonly doc?: string;
  readonly open?: boolean;
  readonly user?: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The built page: dist/web next to the compiled CLI (the package), or, running from the sources,
 * the page bundled once into node_modules/.cache (esbuild, a dev dependency).
 */
async function pageDir(): Promise<string> {
  const shipped = join(here, "..", "..", "web");
  if (existsSync(join(shipped, "app.js"))) return shipped;
  const cache = join(here, "..", "..", "node_modules", ".cache", "logbook-web");
  const { buildPage } = await import(pathToFileURL(join(here, "..", "..", "web", "build-page.ts")).href);
  await (buildPage as (dir: string) => Promise<void>)(cache);
  return cache;
}

/** `logbook serve`: the outliner page on 127.0.0.1, over the engine the global options name. */
export function serveCommand(program: Command, io: Io): void {
  program
    .command("serve")
    .description("serve the outliner page on 127.0.0.1 (a token in the printed URL keeps other pages out)")
    .option("--port <n>", "the port (default 8790; 0 picks a free one)", (v: string) => (v === "0" ? 0 : positive("--port")(v)))
    .option("--doc <oid>", "the document the printed URL opens (default: the only one)")
    .option("--user <name>", "whose folds the page keeps", "web")
    .option("--open", "open the URL in the default browser")
    .addHelpText("after", "\nExamples:\n  $ logbook serve\n  $ logbook --data ~/notes serve --port 9000 --open")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<ServeOptions>();
      await withContext(options, io, "create", async (ctx) => {
        const { createWebApp } = await import("../../server/web-app.js");
        const port = options.port ?? 8790;
        const dir = await pageDir();
        let hosts: string[] = [];
        const { app, token } = await createWebApp({ engine: ctx.engine, spaceId: ctx.spaceId, pageDir: dir, hosts: () => hosts, user: options.user ?? "web" });
        await app.listen({ host: "127.0.0.1", port });
        const address = app.server.address();
        const actual = typeof address === "object" && address ? address.port : port;
        hosts = [`127.0.0.1:${actual}`, `localhost:${actual}`];
        const url = `http://127.0.0.1:${actual}/?token=${token}${options.doc ? `&doc=${encodeURIComponent(options.doc)}` : ""}`;
        io.stdout.write(ctx.json ? `${JSON.stringify({ url, port: actual, spaceId: ctx.spaceId })}\n` : `logbook serving space ${ctx.spaceId}\nopen ${url}\n(Ctrl-C stops it)\n`);
        if (options.open) spawn(process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open", [url], { stdio: "ignore", detached: true }).on("error", () => {}).unref();
        await new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
        await app.close();
      });
    });
}
