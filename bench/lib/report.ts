import type { CellResult } from "./cell-spec.js";

/** A results file of bench/run.ts. */
export interface RunFile {
  readonly name: string;
  readonly at: string;
  readonly machine: Record<string, unknown>;
  readonly profile: string;
  readonly argv: readonly string[];
  readonly cells: readonly CellResult[];
  readonly failures: readonly { readonly cell: string; readonly error: string }[];
  readonly totalSec: number;
}

/** The reference system the ratios are taken against. */
export const REFERENCE = "engine-postgres";

const fmt = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v) ? "–" : v >= 100 ? v.toFixed(0) : v.toFixed(digits);
const mb = (b: number) => fmt(b / 2 ** 20, 1);

const ratioText = (x: number) => (x >= 10 ? x.toFixed(0) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2));

function mdTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

/** The headline measures of a cell, as numbers (null: not measured / not supported). */
export function headline(c: CellResult): Record<string, number | null> {
  const d = (depth: number) => c.edit.find((e) => e.depth === depth);
  const v = (version: "active" | "old") => c.views.find((x) => x.version === version);
  return {
    checkoutMs: c.checkout.ms,
    editableMs: c.restore.ms,
    diffMs: c.diffLong.ms,
    editD5Us: d(5)?.medianUs ?? null,
    editD10Us: d(10)?.medianUs ?? null,
    editD20Us: d(20)?.medianUs ?? null,
    viewColdActiveMs: v("active")?.coldMs ?? null,
    viewWarmActiveMs: v("active")?.warmMs ?? null,
    viewColdOldMs: v("old")?.coldMs ?? null,
    viewWarmOldMs: v("old")?.warmMs ?? null,
    storageBytes: c.storageAfterHistory,
  };
}

function groups(cells: readonly CellResult[]): Map<string, CellResult[]> {
  const out = new Map<string, CellResult[]>();
  for (const c of cells) {
    const k = `${c.spec.size} ${c.spec.shape}`;
    out.set(k, [...(out.get(k) ?? []), c]);
  }
  return new Map([...out].sort(([a], [b]) => Number(a.split(" ")[0]) - Number(b.split(" ")[0]) || a.localeCompare(b)));
}

function cellTable(cells: readonly CellResult[]): string {
  const rows = cells.map((c) => {
    const h = headline(c);
    const d10 = c.edit.find((e) => e.depth === 10);
    return [
      c.system, String(c.nodes), fmt(c.importMs, 0), `${c.editsApplied}`, fmt(c.applyUsPerEdit / 1000, 2),
      fmt(h["checkoutMs"]), fmt(h["editableMs"]), `${fmt(h["diffMs"])} (${c.diffLong.changes ?? "–"})`,
      `${fmt(h["editD5Us"], 0)} / ${fmt(h["editD10Us"], 0)} / ${fmt(h["editD20Us"], 0)}`,
      d10 ? `${d10.rows} / ${d10.bytes}` : "–",
      `${fmt(h["viewColdActiveMs"])} / ${fmt(h["viewWarmActiveMs"], 2)}`,
      `${fmt(h["viewColdOldMs"])} / ${fmt(h["viewWarmOldMs"], 2)}`,
      mb(c.storageAfterHistory), fmt(c.storageBytesPerEdit, 0), mb(c.peakRssBytes),
    ];
  });
  return mdTable(
    ["system", "nodes", "import ms", "edits", "ms/history edit", "checkout ms", "editable ms", "diff ms (changes)", "edit µs d5 / d10 / d20", "rows / bytes per edit (d10)", "view active cold / warm ms", "view old cold / warm ms", "storage MiB", "storage B/edit", "peak RSS MiB"],
    rows,
  );
}

const RATIOS: readonly [string, string][] = [
  ["checkoutMs", "checkout"], ["editableMs", "editable"], ["diffMs", "diff"], ["editD10Us", "edit d10"],
  ["viewColdActiveMs", "view cold"], ["viewWarmActiveMs", "view warm"], ["viewColdOldMs", "old view cold"], ["storageBytes", "storage"],
];

/** Alternative ÷ reference per measure: above 1 the engine is faster (or smaller), below 1 the alternative wins. */
export function ratios(cells: readonly CellResult[]): { system: string; ratios: Record<string, number | null> }[] {
  const ref = cells.find((c) => c.system === REFERENCE) ?? cells.find((c) => c.system.startsWith("engine"));
  if (!ref) return [];
  const r = headline(ref);
  return cells.filter((c) => c !== ref).map((c) => {
    const h = headline(c);
    const out: Record<string, number | null> = {};
    for (const [k] of RATIOS) out[k] = h[k] !== null && r[k] !== null && r[k]! > 0 ? h[k]! / r[k]! : null;
    return { system: c.system, ratios: out };
  });
}

function ratioTable(cells: readonly CellResult[]): string {
  const ref = cells.find((c) => c.system === REFERENCE) ?? cells.find((c) => c.system.startsWith("engine"));
  if (!ref) return "";
  const rows = ratios(cells).map(({ system, ratios: r }) => [system, ...RATIOS.map(([k]) => (r[k] === null ? "–" : `${ratioText(r[k]!)}×`))]);
  return `Ratios: alternative ÷ ${ref.system} (above 1×: the engine is faster or smaller; below 1×: the alternative wins).\n\n` +
    mdTable(["system", ...RATIOS.map(([, l]) => l)], rows);
}

/** Growth exponent of each cost with document size (same shape): log(cost ratio) / log(size ratio); 0 flat, 1 linear. */
export function growth(cells: readonly CellResult[]): { system: string; shape: string; from: number; to: number; exponents: Record<string, number | null> }[] {
  const out: { system: string; shape: string; from: number; to: number; exponents: Record<string, number | null> }[] = [];
  const keys = new Set(cells.map((c) => `${c.system}|${c.spec.shape}`));
  for (const k of keys) {
    const [system, shape] = k.split("|") as [string, string];
    const series = cells.filter((c) => c.system === system && c.spec.shape === shape).sort((a, b) => a.nodes - b.nodes);
    if (series.length < 2) continue;
    const [a, b] = [series[0]!, series[series.length - 1]!];
    const [ha, hb] = [headline(a), headline(b)];
    const exponents: Record<string, number | null> = {};
    for (const [m] of RATIOS) exponents[m] = ha[m] && hb[m] ? Math.log(hb[m]! / ha[m]!) / Math.log(b.nodes / a.nodes) : null;
    out.push({ system, shape, from: a.nodes, to: b.nodes, exponents });
  }
  return out;
}

/** Markdown for one run: a table per workload, ratios, growth, notes and failures. */
export function runMarkdown(run: RunFile): string {
  const parts = [
    `## ${run.name} (${run.profile})`,
    `Measured ${run.at} in ${fmt(run.totalSec / 60, 1)} min on ${JSON.stringify(run.machine)}; \`${run.argv.join(" ")}\`.`,
    "Times are medians. checkout: the subtree (largest child of the root) to the version before the history; editable: checkout plus one edit of it. diff: the version before the history against the last one. edit: one content update of an objective at depth 5/10/20 (benchmark.js). view: 50 rows at random offsets, cold (caches dropped / document reloaded) and warm, at the active version and at the version before the history.",
  ];
  for (const [k, cells] of groups(run.cells)) {
    parts.push(`### ${k.replace(" ", " objectives, ")} outline, ${cells[0]?.spec.edits ?? 0}-edit history`, cellTable(cells), ratioTable(cells));
  }
  const g = growth(run.cells);
  if (g.length) {
    parts.push("### Growth with document size", "Exponent of each cost between the smallest and the largest size of a shape (0: flat, 1: linear in size).",
      mdTable(["system", "shape", "sizes", ...RATIOS.map(([, l]) => l)], g.map((x) => [x.system, x.shape, `${x.from}→${x.to}`, ...RATIOS.map(([m]) => fmt(x.exponents[m], 2))])));
  }
  const notes = new Map<string, readonly string[]>();
  for (const c of run.cells) notes.set(c.system, c.notes);
  parts.push("### What each system measures", [...notes].map(([s, n]) => `- **${s}**: ${n.length ? n.join("; ") : "as asked"}`).join("\n"));
  const errs = run.cells.flatMap((c) => c.errors.map((e) => `- ${c.system} ${c.spec.shape} ${c.spec.size}: ${e.split("\n")[0]}`));
  const fails = run.failures.map((f) => `- ${f.cell}: ${f.error.split("\n")[0]}`);
  if (errs.length || fails.length) parts.push("### Incomplete measures", [...errs, ...fails].join("\n"));
  return parts.join("\n\n");
}
