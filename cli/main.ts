/**
 * The `logbook` command (package.json "bin"; `npm run logbook -- ARGS` or `npx tsx cli/main.ts`).
 * See docs/cli.md.
 */
import { processIo } from "./io.js";
import { runCli } from "./run.js";

process.exitCode = await runCli(process.argv.slice(2), processIo());
