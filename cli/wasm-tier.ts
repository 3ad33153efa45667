import { setFlagsFromString } from "node:v8";

/** Commands whose work on a big outline runs long enough to pay for optimized WebAssembly. */
const LONG_COMMANDS = new Set(["import", "export"]);

/**
 * Picks how V8 compiles PGlite's WebAssembly for this run, before the database opens. By default
 * V8 starts with a baseline compiler and recompiles hot functions with its optimizing one in the
 * background; for a command that lasts a second or two that recompilation is pure cost: it took
 * ~40% of `logbook view`'s time and ~80 MB of memory (docs/cli.md, bench/results/cli.md). Short
 * commands keep the baseline code (`--liftoff-only`); `import`, `export` and a whole `tree` keep
 * the default, which is ~35% faster on 100,000 rows. `LOGBOOK_WASM=optimize|baseline` overrides.
 */
export function chooseWasmTier(argv: readonly string[], env: NodeJS.ProcessEnv): "optimize" | "baseline" {
  const forced = env["LOGBOOK_WASM"];
  const tier = forced === "optimize" || forced === "baseline" ? forced : longRunning(argv) ? "optimize" : "baseline";
  if (tier === "baseline") setFlagsFromString("--liftoff-only");
  return tier;
}

function longRunning(argv: readonly string[]): boolean {
  const command = argv.find((arg, i) => !arg.startsWith("-") && !VALUE_OPTIONS.has(argv[i - 1] ?? ""));
  if (command === undefined) return false;
  if (LONG_COMMANDS.has(command)) return true;
  return command === "tree" && !argv.includes("--depth");
}

/** Global options that take a value (the value is not the command). */
const VALUE_OPTIONS = new Set(["--data", "--pg", "--space"]);
