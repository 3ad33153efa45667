#!/usr/bin/env node
/**
 * The `logbook` command: the package's "bin" is its compiled form (dist/cli/main.js, plain node);
 * in the repository `npm run logbook -- ARGS` runs this source through tsx.
 * See docs/cli.md.
 */
import { processIo } from "./io.js";
import { runCli } from "./run.js";
import { chooseWasmTier } from "./wasm-tier.js";

const argv = process.argv.slice(2);
chooseWasmTier(argv, process.env);
process.exitCode = await runCli(argv, processIo());
