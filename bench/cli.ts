/**
 * The `logbook` command as a user runs it: the compiled bin under plain node, one process per
 * command, wall time and peak RSS. Side by side in one run, interleaved:
 * - a bare PGlite open of the same data directory plus `select 1` (V8's default WebAssembly
 *   tiering, and with the baseline compiler only, as the CLI runs short commands): the floor;
 * - a read command (`view`, `tree --depth 1`) on a 300-row outline and a small import (the
 *   8-row Workflowy fixture), in this checkout and in an older one (`--base`, default the last
 *   commit before the package work), both compiled with tsconfig.build.json;
 * - `tree --depth 1/2` and `export` of a 100,000-row outline, before and after.
 *
 *   npx tsx bench/cli.ts [--quick] [--base <git rev>]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, createWriteStream, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { syntheticOpml } from "../interchange/synthetic.js";
import { medianOf, progress, quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const baseAt = args.indexOf("--base");
/** The last commit before the package work (TypeScript bin through tsx, every dependency). */
const base = baseAt >= 0 ? args[baseAt + 1]! : "69db15c";
const runs = quick ? 3 : 5;
const bigRuns = quick ? 1 : 2;
const BIG = quick ? 20_000 : 100_000;

interface Sample {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly stdout: string;
}

/** One process: wall time around it, peak RSS from GNU time (`/usr/bin/time -f %M`). */
function measure(argv: readonly string[], env: Record<string, string> = {}): Sample {
  const started = process.hrtime.bigint();
  const run = spawnSync("/usr/bin/time", ["-f", "%M", ...argv], { cwd: root, encoding: "utf8", maxBuffer: 256 * 2 ** 20, env: { ...process.env, NO_COLOR: "1", ...env } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`${argv.join(" ")} failed: ${run.stderr.slice(-2000)}`);
  const kb = Number(run.stderr.trim().split("\n").pop());
  return { seconds, rssMiB: kb / 1024, stdout: run.stdout };
}

const tmp = mkdtempSync(join(tmpdir(), "logbook-cli-bench-"));
const old = join(tmp, "base");
const bare = join(tmp, "bare-open.mjs");
writeFileSync(
  bare,
  `import { PGlite } from ${JSON.stringify(join(root, "node_modules/@electric-sql/pglite/dist/index.js"))};
const db = await PGlite.create(process.argv[2]);
await db.query("select 1");
await db.close();
`,
);

progress("compiling this checkout (npm run build:dist)");
execFileSync("npm", ["run", "build:dist"], { cwd: root, stdio: "ignore" });
progress(`compiling ${base} in a worktree`);
execFileSync("git", ["worktree", "add", "--detach", old, base], { cwd: root, stdio: "ignore" });
try {
  symlinkSync(join(root, "node_modules"), join(old, "node_modules"));
  copyFileSync(join(root, "tsconfig.build.json"), join(old, "tsconfig.build.json"));
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: old, stdio: "ignore" });
  if (!existsSync(join(old, "dist/cli/main.js"))) throw new Error(`${base} did not compile`);

  const cli = { before: join(old, "dist/cli/main.js"), after: join(root, "dist/cli/main.js") } as const;
  const logbook = (which: keyof typeof cli, data: string, ...rest: string[]) => [process.execPath, cli[which], "--data", data, ...rest];
  const importDoc = (data: string, file: string): string => {
    const out = measure(logbook("after", data, "--json", "import", file, "--no-progress"));
    return (JSON.parse(out.stdout) as { oid: string }).oid;
  };

  progress("a 300-row outline");
  const small = join(tmp, "small");
  const smallFile = join(tmp, "small.opml");
  await pipeline(Readable.from(syntheticOpml(300)), createWriteStream(smallFile));
  const smallDoc = importDoc(small, smallFile);
  const workflowy = join(root, "test/fixtures/workflowy.opml");

  const cases: { name: string; argv: (which: "before" | "after") => string[] }[] = [
    { name: "view --limit 20 (300 rows)", argv: (w) => logbook(w, small, "view", smallDoc, "--limit", "20") },
    { name: "tree --depth 1 (300 rows)", argv: (w) => logbook(w, small, "tree", smallDoc, "--depth", "1") },
    { name: "import 8-row Workflowy file", argv: (w) => logbook(w, small, "import", workflowy, "--no-progress") },
  ];
  const floors = { bare: [] as Sample[], bareBaseline: [] as Sample[] };
  const samples = new Map<string, { before: Sample[]; after: Sample[] }>(cases.map((c) => [c.name, { before: [], after: [] }]));
  for (let i = 0; i < runs; i++) {
    progress(`small commands, round ${i + 1}/${runs}`);
    floors.bare.push(measure([process.execPath, bare, join(small, "pglite")]));
    floors.bareBaseline.push(measure([process.execPath, "--liftoff-only", bare, join(small, "pglite")]));
    for (const c of cases) {
      samples.get(c.name)!.before.push(measure(c.argv("before")));
      samples.get(c.name)!.after.push(measure(c.argv("after")));
    }
  }
  const med = (xs: Sample[], k: "seconds" | "rssMiB") => medianOf(xs.map((x) => x[k]));
  const bareS = med(floors.bare, "seconds");
  const bareM = med(floors.bare, "rssMiB");
  const baseS = med(floors.bareBaseline, "seconds");
  const baseM = med(floors.bareBaseline, "rssMiB");
  const rows: Record<string, string | number>[] = [
    { command: "bare PGlite open + select 1 (V8 default)", "before s": bareS, "after s": bareS, "after/before": 1, "after/bare": 1, "after/bare baseline": bareS / baseS, "before MiB": bareM, "after MiB": bareM, "MiB after/bare": 1 },
    { command: "bare PGlite open + select 1 (--liftoff-only)", "before s": baseS, "after s": baseS, "after/before": 1, "after/bare": baseS / bareS, "after/bare baseline": 1, "before MiB": baseM, "after MiB": baseM, "MiB after/bare": baseM / bareM },
  ];
  for (const c of cases) {
    const s = samples.get(c.name)!;
    const b = med(s.before, "seconds");
    const a = med(s.after, "seconds");
    rows.push({ command: c.name, "before s": b, "after s": a, "after/before": a / b, "after/bare": a / bareS, "after/bare baseline": a / baseS, "before MiB": med(s.before, "rssMiB"), "after MiB": med(s.after, "rssMiB"), "MiB after/bare": med(s.after, "rssMiB") / bareM });
  }
  const smallTable = table(rows);

  progress(`a ${BIG.toLocaleString("en")}-row outline`);
  const big = join(tmp, "big");
  const bigFile = join(tmp, "big.opml");
  await pipeline(Readable.from(syntheticOpml(BIG)), createWriteStream(bigFile));
  const bigDoc = importDoc(big, bigFile);
  const bigCases: { name: string; argv: (which: "before" | "after") => string[] }[] = [
    { name: "tree --depth 1", argv: (w) => logbook(w, big, "tree", bigDoc, "--depth", "1") },
    { name: "tree --depth 2", argv: (w) => logbook(w, big, "tree", bigDoc, "--depth", "2") },
    { name: "view --limit 20", argv: (w) => logbook(w, big, "view", bigDoc, "--limit", "20") },
    { name: "export --format opml", argv: (w) => logbook(w, big, "export", bigDoc, "--format", "opml") },
    { name: "export --format md", argv: (w) => logbook(w, big, "export", bigDoc, "--format", "md") },
  ];
  const bigRows: Record<string, string | number>[] = [];
  const bigRaw: Record<string, unknown> = {};
  for (const c of bigCases) {
    const before: Sample[] = [];
    const after: Sample[] = [];
    for (let i = 0; i < bigRuns; i++) {
      progress(`${c.name} at ${BIG.toLocaleString("en")} rows, round ${i + 1}/${bigRuns}`);
      before.push(measure(c.argv("before")));
      after.push(measure(c.argv("after")));
    }
    const lines = after[0]!.stdout.split("\n").filter(Boolean).length;
    const b = med(before, "seconds");
    const a = med(after, "seconds");
    bigRows.push({ command: c.name, "lines printed": lines, "before s": b, "after s": a, "after/before": a / b, "µs/line after": (a * 1e6) / lines, "before MiB": med(before, "rssMiB"), "after MiB": med(after, "rssMiB") });
    bigRaw[c.name] = { lines, before: before.map((x) => ({ seconds: x.seconds, rssMiB: x.rssMiB })), after: after.map((x) => ({ seconds: x.seconds, rssMiB: x.rssMiB })) };
  }
  const bigTable = table(bigRows);
  const md = [
    `Before: commit ${base} compiled the same way; after: this checkout. Medians of ${runs} interleaved runs (${bigRuns} for the ${BIG.toLocaleString("en")}-row outline), one process each, plain node.`,
    "",
    "## Start: a read command and a small import against a bare PGlite open",
    "",
    smallTable,
    "",
    `## A ${BIG.toLocaleString("en")}-row outline`,
    "",
    bigTable,
  ].join("\n");
  await save(quick ? "cli-quick" : "cli", { base, runs, bigRuns, big: BIG, small: rows, bigRows, floors: { bare: floors.bare.map((x) => x.seconds), bareBaseline: floors.bareBaseline.map((x) => x.seconds) }, bigRaw }, md);
} finally {
  execFileSync("git", ["worktree", "remove", "--force", old], { cwd: root, stdio: "ignore" });
  rmSync(tmp, { recursive: true, force: true });
}
