/**
 * Checkout in O(depth) (issue 14): a realistic outline imported in two parts (the first 10% of its
 * rows, then the rest), then 1,000 edits; checkout of the document root and of a large subtree to
 * the version at 10% built and to the version after the 10th edit, and back, at 10k / 100k / 1M
 * objectives, on PGlite and Postgres, beside Loro's whole-document checkout of the same versions.
 * Reported per checkout: rows read (every row any query returned) and written (rows inserted or appended to), time,
 * the time of an edit at the same depth, and the first edit below a fresh checkout against a plain
 * one. Prints tables, writes bench/results/checkout.json and .md.
 *
 * Engine figures are medians of `--runs` fresh builds (3 by default).
 *
 *   npx tsx bench/checkout.ts [--quick] [--sizes 10000,100000] [--runs 3]
 */
import type { Frontiers } from "loro-crdt";
import { loroOutline } from "./lib/loro-outline.js";
import { openCountedEngine } from "./lib/counting-storage.js";
import { importCalls } from "./lib/import-calls.js";
import { applyEdit } from "./lib/apply-edit.js";
import { mark, written } from "./lib/rows-written.js";
import { medianOf, progress, quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";
import { generateHistory, type Edit } from "./workload/history.js";
import { generateOutline, type Outline } from "./workload/outline.js";
import type { FlatRow } from "./workload/tree-model.js";

const sizesAt = process.argv.indexOf("--sizes");
const SIZES = sizesAt >= 0 ? process.argv[sizesAt + 1]!.split(",").map(Number) : quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const EDITS = 1_000;
const runsAt = process.argv.indexOf("--runs");
const RUNS = runsAt >= 0 ? Number(process.argv[runsAt + 1]) : 3;

interface Workload {
  readonly outline: Outline;
  readonly early: readonly FlatRow[];
  readonly rest: readonly FlatRow[];
  readonly history: readonly Edit[];
  /** A large top-level subtree that exists at 10% built. */
  readonly subtree: string;
}

function workload(size: number): Workload {
  const outline = generateOutline("realistic", size, 5);
  const cut = Math.floor(outline.rows.length / 10);
  const early = outline.rows.slice(1, cut);
  const present = new Set(early.map((r) => r[0]));
  // The largest child of the root among those present at 10% built (its rows may grow after).
  const sizeOf = new Map<string, number>();
  for (let i = outline.rows.length - 1; i > 0; i--) {
    const [id, parent] = outline.rows[i]!;
    sizeOf.set(id, (sizeOf.get(id) ?? 0) + 1);
    if (parent !== null) sizeOf.set(parent, (sizeOf.get(parent) ?? 0) + sizeOf.get(id)!);
  }
  const tops = outline.rows.filter((r) => r[1] === outline.rootId && present.has(r[0]) && r[0] !== outline.probe[1]);
  const subtree = tops.sort((a, b) => sizeOf.get(b[0])! - sizeOf.get(a[0])!)[0]![0];
  return { outline, early, rest: outline.rows.slice(cut), history: generateHistory(outline, EDITS, 5), subtree };
}

async function engineRun(kind: "pglite" | "postgres", w: Workload): Promise<Record<string, string | number>[] | undefined> {
  const opened = await openCountedEngine(kind, "logbook_checkout");
  if (!opened) return undefined;
  const { engine, raw, counter } = opened;
  const out: Record<string, string | number>[] = [];
  try {
    const { outline } = w;
    const { spaceId: s } = await engine.createSpace();
    const root = outline.rootId;
    await engine.createDocument(s, { oid: root, content: outline.rows[0]![2] });
    const known = new Set([root]);
    progress(`${kind} ${outline.rows.length}: import of the first 10%`);
    for (const c of importCalls(w.early, { known, maxTops: 200 })) await engine.importTree(s, c);
    for (const r of w.early) known.add(r[0]);
    const early = { root: (await engine.get(s, root)).vid, sub: (await engine.get(s, w.subtree)).vid };
    progress(`${kind} ${outline.rows.length}: import of the other 90%`);
    for (const c of importCalls(w.rest, { known, maxTops: 200 })) await engine.importTree(s, c);
    progress(`${kind} ${outline.rows.length}: ${EDITS} edits`);
    let tenth = { root: "", sub: "" };
    for (let i = 0; i < w.history.length; i++) {
      await applyEdit(engine, s, w.history[i]!);
      if (i === 9) tenth = { root: (await engine.get(s, root)).vid, sub: (await engine.get(s, w.subtree)).vid };
    }
    // An edit at the same depth as each checked-out objective, and at depth 5 (the probe chain).
    const editUs = async (oid: string) => {
      const us: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        await engine.update(s, oid, { content: `timing ${i}` });
        us.push((performance.now() - t0) * 1000);
      }
      return medianOf(us);
    };
    const rootEdit = await editUs(root);
    const subEdit = await editUs(w.subtree);
    const deepEdit = await editUs(outline.probe[5]!);
    const measure = async (oid: string, vid: string) => {
      const read0 = counter.rows();
      const wrote0 = await mark(raw);
      counter.statements();
      const t0 = performance.now();
      await engine.checkout(s, oid, vid);
      const ms = performance.now() - t0;
      for (const st of counter.statements()) progress(`  ${st.ms.toFixed(2).padStart(7)} ms ${String(st.rows).padStart(5)} rows  ${st.sql}`);
      return { ms, read: counter.rows() - read0, written: await written(raw, wrote0) };
    };
    for (const [what, oid, edit] of [["document root", root, rootEdit], ["largest subtree", w.subtree, subEdit]] as const) {
      const key = oid === root ? "root" : "sub";
      for (const [target, vid] of [["10% built", early[key]], ["10th edit", tenth[key]]] as const) {
        const before = (await engine.get(s, oid)).vid;
        const there = await measure(oid, vid);
        // The first edit below the fresh checkout, against a plain edit at the same depth.
        let first = NaN;
        if (oid === root && target === "10% built") {
          const t0 = performance.now();
          await engine.update(s, outline.probe[5]!, { content: "first after checkout" });
          first = (performance.now() - t0) * 1000;
        }
        const back = await measure(oid, before);
        out.push({
          backend: kind,
          nodes: outline.rows.length,
          checkout: `${what} → ${target}`,
          "ms": there.ms,
          "rows read": there.read,
          "rows written": there.written,
          "back ms": back.ms,
          "back rows read": back.read,
          "edit µs (same depth)": edit,
          "checkout ÷ edit": (there.ms * 1000) / edit,
          "first edit below ÷ plain": Number.isNaN(first) ? "" : first / deepEdit,
        });
      }
    }
  } finally {
    await opened.close();
  }
  return out;
}

/** Loro: the same outline (10% in one commit, the rest in another), the same edits; whole-document checkout. */
function loroRun(w: Workload): { "10% built": number; "10th edit": number } {
  const { doc, create, apply } = loroOutline();
  const add = ([id, parent, content, props]: FlatRow) => create(id, parent, content, props);
  add(w.outline.rows[0]!);
  for (const r of w.early) add(r);
  doc.commit();
  const early = doc.frontiers();
  for (const r of w.rest) add(r);
  doc.commit();
  let tenth: Frontiers = early;
  w.history.forEach((e, i) => {
    apply(e);
    doc.commit();
    if (i === 9) tenth = doc.frontiers();
  });
  const time = (to: Frontiers) => {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      doc.checkout(to);
      ms.push(performance.now() - t0);
      doc.checkoutToLatest();
    }
    return medianOf(ms);
  };
  const out = { "10% built": time(early), "10th edit": time(tenth) };
  doc.free();
  return out;
}

const rows: Record<string, string | number>[] = [];
const peers: Record<string, string | number>[] = [];
for (const size of SIZES) {
  const w = workload(size);
  progress(`loro ${w.outline.rows.length}`);
  const loro = loroRun(w);
  peers.push({ nodes: w.outline.rows.length, "loro checkout ms → 10% built": loro["10% built"]!, "loro checkout ms → 10th edit": loro["10th edit"]! });
  for (const kind of ["pglite", "postgres"] as const) {
    // Each run builds the workload afresh; times are the medians of the runs (one cold checkout
    // each), counts are the first run's (the same in every run: the workload is deterministic).
    const runs: Record<string, string | number>[][] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await engineRun(kind, w);
      if (r) runs.push(r);
    }
    if (runs.length === 0) continue;
    const r = runs[0]!.map((row, k) => {
      const out = { ...row };
      for (const key of ["ms", "back ms", "edit µs (same depth)", "first edit below ÷ plain"]) {
        const values = runs.map((run) => run[k]![key]).filter((v): v is number => typeof v === "number");
        if (values.length > 0) out[key] = medianOf(values);
      }
      out["checkout ÷ edit"] = ((out["ms"] as number) * 1000) / (out["edit µs (same depth)"] as number);
      return out;
    });
    for (const row of r) {
      const target = String(row["checkout"]).endsWith("10% built") ? "10% built" : "10th edit";
      row["loro ms (whole document)"] = loro[target]!;
      row["loro ÷ engine"] = loro[target]! / (row["ms"] as number);
      rows.push(row);
    }
  }
}
const md = `${table(rows)}\n\n${table(peers)}`;
await save("checkout", { quick, sizes: SIZES, edits: EDITS, runs: RUNS, rows, peers }, md);
