/**
 * Side-by-side benchmark (issue 5): this engine on PGlite and Postgres against an event log, full
 * snapshots, a mutable adjacency table, Loro and Automerge, on the same generated outlines and
 * edit histories. Each cell (system × workload) runs in its own process; results go to
 * `<out>/<name>.json`, `<out>/<name>.svg` and `<out>/README.md` (every run file found there).
 *
 *   npm run bench                      # full: 10k (4 shapes), 100k (2 shapes), 1M (engine only)
 *   npm run bench -- --quick           # CI-sized: 10k, 3 shapes, 200 edits (< 10 min on 2 cores)
 *   npm run bench -- --smoke           # tiny, for the test suite
 *   flags: --sizes 10000,100000 --shapes realistic,wide --systems loro,engine-postgres --edits 1000
 *          --reps 5 --windows 10 --budget 240 --seed 1 --name comparison --out bench/results
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SYSTEMS, type CellResult, type CellSpec, type SystemName } from "./lib/cell-spec.js";
import { progress } from "./lib/measure.js";
import { runMarkdown, type RunFile } from "./lib/report.js";
import { machine, resultsDir } from "./lib/results.js";
import { chartSvg } from "./lib/svg-chart.js";
import { SHAPES, type Shape } from "./workload/outline.js";

interface Step {
  readonly size: number;
  readonly shapes: readonly Shape[];
  readonly systems: readonly SystemName[];
}
interface Profile {
  readonly name: string;
  readonly plan: readonly Step[];
  readonly edits: number;
  readonly reps: number;
  readonly windows: number;
  readonly budget: number;
}

const ENGINES: readonly SystemName[] = ["engine-pglite", "engine-postgres"];
const PROFILES: Record<"smoke" | "quick" | "full", Profile> = {
  smoke: { name: "smoke", plan: [{ size: 1_000, shapes: ["realistic"], systems: SYSTEMS }], edits: 30, reps: 2, windows: 3, budget: 30 },
  quick: { name: "quick", plan: [{ size: 10_000, shapes: ["realistic", "deep", "wide"], systems: SYSTEMS }], edits: 200, reps: 3, windows: 5, budget: 60 },
  full: {
    name: "full",
    plan: [
      { size: 10_000, shapes: SHAPES, systems: SYSTEMS },
      { size: 100_000, shapes: ["realistic", "balanced"], systems: SYSTEMS },
      { size: 1_000_000, shapes: ["realistic"], systems: ENGINES },
    ],
    edits: 1_000,
    reps: 5,
    windows: 10,
    budget: 240,
  },
};

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const list = (name: string) => flag(name)?.split(",").filter(Boolean);

/** The plan after command-line overrides. */
function planOf(profile: Profile): Step[] {
  const sizes = list("sizes")?.map(Number);
  const shapes = list("shapes") as Shape[] | undefined;
  const systems = list("systems") as SystemName[] | undefined;
  for (const s of shapes ?? []) if (!SHAPES.includes(s)) throw new Error(`unknown shape ${s} (${SHAPES.join(", ")})`);
  for (const s of systems ?? []) if (!SYSTEMS.includes(s)) throw new Error(`unknown system ${s} (${SYSTEMS.join(", ")})`);
  const base = sizes ? sizes.map((size) => ({ size, shapes: profile.plan[0]!.shapes, systems: SYSTEMS })) : profile.plan;
  return base.map((st) => ({
    size: st.size,
    shapes: shapes ?? st.shapes,
    systems: systems ? st.systems.filter((s) => systems.includes(s)) : st.systems,
  }));
}

const here = dirname(fileURLToPath(import.meta.url));

function runCell(spec: CellSpec, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ["--import", "tsx", join(here, "cell.ts"), JSON.stringify(spec), out, ...(spec.quick ? ["--quick"] : [])];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code, signal) => 
      code === 0 ? resolve() : reject(new Error(code === 3 ? "unavailable: needs Postgres (PG_URL)" : `cell exited with ${signal ?? code}`)),
    );
  });
}

/** Rewrites `<out>/README.md` from every run file in `out` (full first). */
async function writeReadme(out: string): Promise<void> {
  const files = (await readdir(out)).filter((f) => /^comparison.*\.json$/.test(f)).sort((a, b) => a.length - b.length || a.localeCompare(b));
  const runs = await Promise.all(files.map(async (f) => JSON.parse(await readFile(join(out, f), "utf8")) as RunFile));
  const body = runs.map((r) => `${runMarkdown(r)}\n\n![${r.name}](${r.name}.svg)`).join("\n\n");
  await writeFile(join(out, "README.md"), `# Benchmark results\n\nWritten by \`npm run bench\` (bench/run.ts); method and reading in [docs/benchmarks.md](../../docs/benchmarks.md).\n\n${body}\n`);
}

const which = process.argv.includes("--smoke") ? "smoke" : process.argv.includes("--quick") ? "quick" : "full";
const profile = PROFILES[which];
const name = flag("name") ?? (which === "full" ? "comparison" : `comparison-${which}`);
const out = flag("out") ?? resultsDir;
const edits = Number(flag("edits") ?? profile.edits);
const seed = Number(flag("seed") ?? 1);
const plan = planOf(profile);
const specs: CellSpec[] = plan.flatMap((st) =>
  st.shapes.flatMap((shape) =>
    st.systems.map((system) => ({
      system, shape, size: st.size, edits, seed,
      reps: Number(flag("reps") ?? profile.reps),
      windows: Number(flag("windows") ?? profile.windows),
      historyBudgetSec: Number(flag("budget") ?? profile.budget),
      quick: which !== "full",
    })),
  ),
);

await mkdir(out, { recursive: true });
const scratch = join(tmpdir(), `logbook-bench-${process.pid}`);
await mkdir(scratch, { recursive: true });
const started = performance.now();
const cells: CellResult[] = [];
const failures: { cell: string; error: string }[] = [];
progress(`${name}: ${specs.length} cells (${which}), ${edits}-edit histories`);
for (const [i, spec] of specs.entries()) {
  const label = `${spec.system} ${spec.shape} ${spec.size}`;
  progress(`[${i + 1}/${specs.length}] ${label} (${((performance.now() - started) / 60_000).toFixed(1)} min so far)`);
  const file = join(scratch, `${i}.json`);
  try {
    await runCell(spec, file);
    cells.push(JSON.parse(await readFile(file, "utf8")) as CellResult);
  } catch (error) {
    failures.push({ cell: label, error: (error as Error).message });
    progress(`${label} failed: ${(error as Error).message}`);
  }
  const run: RunFile = { name, at: new Date().toISOString(), machine: machine(), profile: which, argv: process.argv.slice(2), cells, failures, totalSec: (performance.now() - started) / 1000 };
  await writeFile(join(out, `${name}.json`), JSON.stringify(run, null, 1) + "\n");
  const shape = cells.some((c) => c.spec.shape === "realistic") ? "realistic" : (cells[0]?.spec.shape ?? "realistic");
  await writeFile(join(out, `${name}.svg`), chartSvg(cells, shape, `logbook-engine vs alternatives (${which})`));
  await writeReadme(out);
}
await rm(scratch, { recursive: true, force: true });
progress(`${name}: ${cells.length} cells, ${failures.length} failed, ${((performance.now() - started) / 60_000).toFixed(1)} min; ${join(out, `${name}.json`)}`);
