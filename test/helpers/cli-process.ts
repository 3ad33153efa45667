/**
 * Runs the `logbook` CLI as a child process (node + tsx on the sources; the
 * published bin is the compiled dist/cli/main.js, tested by test/package.test.ts) and captures what it
 * prints and how it exits.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TSX = join(root, "node_modules", "tsx", "dist", "cli.mjs");
const MAIN = join(root, "cli", "main.ts");

/** What one run of the CLI did. */
export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `logbook ARGS` with `env` added to the environment (colours off unless asked). */
export function logbook(args: readonly string[], env: Record<string, string> = {}, cwd = root): Promise<Run> {
  return new Promise((resolve, reject) => {
    const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
    delete base["FORCE_COLOR"]; // node warns when both are set
    const child = spawn(process.execPath, [TSX, MAIN, ...args], {
      cwd,
      env: { ...base, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Parses a run's stdout as JSON, showing stderr when it is not. */
export function json<T = unknown>(run: Run): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout.slice(0, 500)}\nstderr: ${run.stderr.slice(0, 2000)}`);
  }
}
