/**
 * Undo of a removal (engine.restore, the page's Backspace undo): a realistic outline imported, then
 * 1,000 edits; at depth 5, 10 and 20 of the probe chain, an objective with its subtree is removed
 * and restored 30 times, beside an edit of the same objective, on PGlite and Postgres, at 10k and
 * 100k objectives (1M with --sizes). Reported: medians in µs, restore ÷ edit, rows read (every
 * row any query returned) and written per restore. The alternative an app would otherwise have,
 * a checkout of the parent to its version before the removal, is timed beside it: it reverts
 * every other edit in the parent's subtree, which is why the page does not use it.
 * Prints a table, writes bench/results/restore.json and .md.
 *
 *   npx tsx bench/restore.ts [--quick] [--sizes 10000,100000]
 */
import type { Engine } from "../index.js";
import { openCountedEngine } from "./lib/counting-storage.js";
import { importCalls } from "./lib/import-calls.js";
import { applyEdit } from "./lib/apply-edit.js";
import { medianOf, progress, quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";
import { mark, written } from "./lib/rows-written.js";
import { generateHistory } from "./workload/history.js";
import { generateOutline, type Outline } from "./workload/outline.js";

const sizesAt = process.argv.indexOf("--sizes");
const SIZES = sizesAt >= 0 ? process.argv[sizesAt + 1]!.split(",").map(Number) : quick ? [10_000] : [10_000, 100_000];
const ROUNDS = quick ? 10 : 30;
const DEPTHS = [5, 10, 20];

async function build(engine: Engine, outline: Outline): Promise<string> {
  const { spaceId: s } = await engine.createSpace();
  await engine.createDocument(s, { oid: outline.rootId, content: outline.rows[0]![2] });
  for (const c of importCalls(outline.rows.slice(1), { known: new Set([outline.rootId]), maxTops: 200 })) await engine.importTree(s, c);
  for (const e of generateHistory(outline, 1_000, 5)) await applyEdit(engine, s, e);
  return s;
}

async function run(kind: "pglite" | "postgres", outline: Outline): Promise<Record<string, string | number>[] | undefined> {
  const opened = await openCountedEngine(kind, "logbook_restore");
  if (!opened) return undefined;
  const { engine, raw, counter } = opened;
  const out: Record<string, string | number>[] = [];
  try {
    progress(`${kind} ${outline.rows.length}: import and 1,000 edits`);
    const s = await build(engine, outline);
    for (const depth of DEPTHS) {
      const oid = outline.probe[depth]!;
      const parent = (await engine.get(s, oid)).parentOid!;
      const rows = (await engine.get(s, oid)).stats.descendants + 1;
      const edit: number[] = [];
      const removeUs: number[] = [];
      const restoreUs: number[] = [];
      const viaCheckout: number[] = [];
      let read = 0;
      let wrote = 0;
      progress(`${kind} ${outline.rows.length}: depth ${depth}`);
      for (let i = 0; i < ROUNDS; i++) {
        let t0 = performance.now();
        await engine.update(s, oid, { content: `timing ${i}` });
        edit.push((performance.now() - t0) * 1000);
        const parentBefore = (await engine.get(s, parent)).vid;
        t0 = performance.now();
        await engine.remove(s, oid);
        removeUs.push((performance.now() - t0) * 1000);
        const read0 = counter.rows();
        const wrote0 = i === 0 ? await mark(raw) : 0;
        t0 = performance.now();
        await engine.restore(s, oid);
        restoreUs.push((performance.now() - t0) * 1000);
        if (i === 0) {
          read = counter.rows() - read0;
          wrote = await written(raw, wrote0);
        }
        // The other way back: the parent checked out to before the removal (and the removal again).
        await engine.remove(s, oid);
        t0 = performance.now();
        await engine.checkout(s, parent, parentBefore);
        viaCheckout.push((performance.now() - t0) * 1000);
      }
      const e = medianOf(edit);
      const r = medianOf(restoreUs);
      out.push({
        backend: kind,
        nodes: outline.rows.length,
        depth,
        "subtree rows": rows,
        "edit µs": e,
        "remove µs": medianOf(removeUs),
        "restore µs": r,
        "restore ÷ edit": r / e,
        "rows read / restore": read,
        "rows written / restore": wrote,
        "parent checkout µs": medianOf(viaCheckout),
      });
    }
  } finally {
    await opened.close();
  }
  return out;
}

const rows: Record<string, string | number>[] = [];
for (const size of SIZES) {
  const outline = generateOutline("realistic", size, 5);
  for (const kind of ["pglite", "postgres"] as const) rows.push(...((await run(kind, outline)) ?? []));
}
const md = table(rows);
await save("restore", { quick, sizes: SIZES, rounds: ROUNDS, rows }, md);
