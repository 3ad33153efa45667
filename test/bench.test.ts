import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CellResult } from "../bench/lib/cell-spec.js";
import type { RunFile } from "../bench/lib/report.js";

const out = mkdtempSync(join(tmpdir(), "logbook-bench-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const numOrNull = (v: unknown) => v === null || num(v);

function checkCell(c: CellResult): void {
  expect(typeof c.system).toBe("string");
  for (const k of ["nodes", "importMs", "storageAfterImport", "editsApplied", "applyUsPerEdit", "storageAfterHistory", "peakRssBytes", "wallSec"] as const)
    expect(num(c[k]), `${c.system}.${k}`).toBe(true);
  for (const t of [c.checkout, c.restore, c.diffShort, c.diffLong]) expect(numOrNull(t.ms)).toBe(true);
  expect(c.views.map((v) => v.version)).toEqual(["active", "old"]);
  for (const v of c.views) expect(numOrNull(v.coldMs) && numOrNull(v.warmMs)).toBe(true);
  expect(c.edit.map((e) => e.depth)).toEqual([5, 10, 20]);
  for (const e of c.edit) expect(num(e.medianUs) && num(e.rows) && num(e.bytes)).toBe(true);
  expect(Array.isArray(c.notes) && Array.isArray(c.errors)).toBe(true);
}

// Runs the harness as CI-sized `--quick` (10k objectives, three shapes, every system; about five
// minutes on two cores) and checks only that it produced well-formed results: no timing is
// asserted. LOGBOOK_BENCH_PROFILE=smoke runs the one-minute smoke profile instead, for local loops.
const profile = process.env["LOGBOOK_BENCH_PROFILE"] === "smoke" ? "smoke" : "quick";

describe(`bench: npm run bench -- --${profile}`, () => {
  it("writes well-formed JSON, a Markdown table and an SVG chart", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", `--${profile}`, "--out", out], { encoding: "utf8", timeout: 1_500_000 });
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    const file = JSON.parse(readFileSync(join(out, `comparison-${profile}.json`), "utf8")) as RunFile;
    expect(file.name).toBe(`comparison-${profile}`);
    expect(file.failures.filter((f) => !f.error.startsWith("unavailable"))).toEqual([]);
    const systems = file.cells.map((c) => c.system);
    for (const s of ["engine-pglite", "loro", "automerge"]) expect(systems).toContain(s);
    for (const c of file.cells) checkCell(c);
    const engine = file.cells.find((c) => c.system === "engine-pglite")!;
    expect(engine.errors).toEqual([]);
    expect(engine.edit.every((e) => e.rows > 0)).toBe(true);
    expect(readFileSync(join(out, "README.md"), "utf8")).toContain("| system |");
    expect(readFileSync(join(out, `comparison-${profile}.svg`), "utf8")).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  }, 1_600_000);
});
