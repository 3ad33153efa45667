import { statSync } from "node:fs";
import { setFlagsFromString } from "node:v8";

/** Commands whose work on a big outline runs long enough to pay for optimized WebAssembly. */
const LONG_COMMANDS = new Set(["export", "serve"]);

/**
 * Picks how V8 compiles PGlite's WebAssembly for this run, before the database opens. By default
 * V8 starts with a baseline compiler and recompiles hot functions with its optimizing one in the
 * background; for a command that lasts a second or two that recompilation is pure cost: it took
 * ~40% of `logbook view`'s time and ~80 MB of memory (docs/cli.md, bench/results/cli.md). Short
 * commands keep the baseline code (`--liftoff-only`); `export`, a whole `tree` and the import of
 * a file over 1 MiB keep the default, which is ~35% faster on 100,000 rows.
 * `LOGBOOK_WASM=optimize|baseline` overrides.
 */
export function chooseWasmTier(argv: readonly string[], env: NodeJS.ProcessEnv): "optimize" | "baseline" {
  const tier = wasmTierFor(argv, env);
  if (tier === "baseline") setFlagsFromString("--liftoff-only");
  return tier;
}

/** The tier `chooseWasmTier` picks for a command line, without setting it. */
export function wasmTierFor(argv: readonly string[], env: NodeJS.ProcessEnv): "optimize" | "baseline" {
  const forced = env["LOGBOOK_WASM"];
  if (forced === "optimize" || forced === "baseline") return forced;
  return longRunning(argv) ? "optimize" : "baseline";
}

function longRunning(argv: readonly string[]): boolean {
  const at = argv.findIndex((arg, i) => !arg.startsWith("-") && !VALUE_OPTIONS.has(argv[i - 1] ?? ""));
  const command = argv[at];
  if (command === undefined) return false;
  if (command === "import") return argv.slice(at + 1).some((arg) => sizeOf(arg) >= BIG_IMPORT_BYTES);
  if (LONG_COMMANDS.has(command)) return true;
  return command === "tree" && !argv.includes("--depth");
}

/** An import file from this size on (~10,000 OPML rows) takes long enough to optimize. */
const BIG_IMPORT_BYTES = 2 ** 20;

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Global options that take a value (the value is not the command). */
const VALUE_OPTIONS = new Set(["--data", "--pg", "--space"]);
