/**
 * The stored format before and after, in one run: bench/lib/format-probe.ts measures this checkout
 * and an older one (default: the last commit before schema 6) on PGlite and Postgres, each in its
 * own process, and the table puts the figures side by side with their ratio. The older checkout is
 * a temporary git worktree sharing this one's node_modules; the probe uses only the public API.
 *
 *   npx tsx bench/format.ts [--base <git rev>] [--quick]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { progress } from "./lib/measure.js";
import { save, table } from "./lib/results.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const baseAt = args.indexOf("--base");
/** The last commit with schema 5 (before the compact history format). */
const base = baseAt >= 0 ? args[baseAt + 1]! : "7653645";

function probe(dir: string, backend: string): Record<string, number> {
  progress(`probe ${backend} in ${dir === root ? "this checkout" : `${base}`}`);
  const run = spawnSync("npx", ["tsx", "bench/lib/format-probe.ts", backend, ...(quick ? ["--quick"] : [])], { cwd: dir, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  if (run.status !== 0) throw new Error(`probe failed in ${dir}: ${run.stderr.slice(-2000)}`);
  const line = run.stdout.trim().split("\n").pop()!;
  return JSON.parse(line) as Record<string, number>;
}

const tmp = mkdtempSync(join(tmpdir(), "logbook-format-"));
const old = join(tmp, "base");
execFileSync("git", ["worktree", "add", "--detach", old, base], { cwd: root, stdio: "ignore" });
try {
  symlinkSync(join(root, "node_modules"), join(old, "node_modules"));
  for (const f of ["format-probe.ts", "counting-storage.ts"]) copyFileSync(join(root, "bench/lib", f), join(old, "bench/lib", f));
  const rows: Record<string, string | number>[] = [];
  const raw: Record<string, unknown> = {};
  for (const backend of ["pglite", "postgres"]) {
    const before = probe(old, backend);
    const after = probe(root, backend);
    raw[backend] = { before, after };
    for (const metric of Object.keys(after)) {
      const b = before[metric]!;
      const a = after[metric]!;
      rows.push({ backend, metric, before: b, after: a, "after/before": b === 0 ? (a === 0 ? 1 : Infinity) : a / b });
    }
  }
  const md = table(rows);
  await save("format", { quick, base, note: "before: schema 5 (commit " + base + "); after: this checkout. Rows read: every row any query returned.", results: raw }, md);
} finally {
  execFileSync("git", ["worktree", "remove", "--force", old], { cwd: root, stdio: "ignore" });
  rmSync(tmp, { recursive: true, force: true });
}
