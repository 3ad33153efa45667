/**
 * The view builder: time and storage rows read per 50-row window at random offsets, cold (empty
 * row cache) and warm, at the active version and at an old one, for 10k / 100k / 1M-node documents.
 *
 *   npx tsx bench/view.ts [--quick] [--sizes 10000,100000,1000000] [--backends pglite,postgres]
 */
import type { Engine, TreeInput } from "../index.js";
import { openBench } from "./lib/backends.js";
import { progress, quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";
import { lcg } from "./lib/rng.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const SIZES = (arg("sizes") ?? (quick ? "10000,100000" : "10000,100000,1000000")).split(",").map(Number);
const BACKENDS = (arg("backends") ?? "pglite,postgres").split(",") as ("pglite" | "postgres")[];
const WINDOWS = quick ? 5 : 20;
const LIMIT = 50;

/** A realistic section: headings, items with notes and tasks, mixed fanout (2–30), ~`n` nodes. */
function section(rand: () => number, n: number, label: string): TreeInput {
  let left = n - 1;
  const grow = (depth: number): TreeInput[] => {
    const out: TreeInput[] = [];
    const fan = depth === 0 ? 30 : Math.max(1, Math.floor(rand() * (depth < 3 ? 12 : 4)));
    for (let i = 0; i < fan && left > 0; i++) {
      left--;
      const node: TreeInput = {
        content: `${label} item ${depth}.${i} ${"lorem ipsum ".repeat(1 + Math.floor(rand() * 4))}`,
        props: rand() < 0.4 ? { done: rand() < 0.5 } : {},
        children: depth < 8 && rand() < 0.6 ? grow(depth + 1) : [],
      };
      out.push(node);
    }
    return out;
  };
  const children: TreeInput[] = [];
  while (left > 0) children.push(...grow(0));
  return { content: label, children };
}

async function build(engine: Engine, s: string, doc: string, nodes: number): Promise<void> {
  const rand = lcg(nodes);
  const per = Math.min(50_000, nodes);
  for (let done = 0; done < nodes; done += per) {
    await engine.importTree(s, { parentOid: doc, nodes: [section(rand, Math.min(per, nodes - done), `part ${done / per}`)] });
    progress(`  imported ${Math.min(done + per, nodes)} / ${nodes}`);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const results: Record<string, string | number>[] = [];
for (const name of BACKENDS) {
  for (const size of SIZES) {
    const backend = await openBench(name);
    if (!backend) break;
    const { engine } = backend;
    progress(`${name}: building a ${size}-node document`);
    const { spaceId: s } = await engine.createSpace();
    const doc = await engine.createDocument(s, { content: `doc ${size}` });
    await build(engine, s, doc.oid, size);
    const oldVid = (await engine.get(s, doc.oid)).vid;
    // 100 edits spread over the document, so the old version differs from the active one.
    const total = (await engine.view(s, doc.oid, { limit: 1 })).total;
    const rand = lcg(7);
    for (let i = 0; i < 100; i++) {
      const [row] = (await engine.view(s, doc.oid, { offset: Math.floor(rand() * total), limit: 1 })).rows;
      await engine.update(s, row!.oid, { content: `edited ${i}` });
    }
    for (const at of ["active", "old"] as const) {
      const cold: number[] = [];
      const coldRows: number[] = [];
      const warm: number[] = [];
      for (let w = 0; w < WINDOWS; w++) {
        const offset = Math.floor(rand() * (total - LIMIT));
        const opts = { offset, limit: LIMIT, ...(at === "old" ? { vid: oldVid } : {}) };
        engine.clearCache();
        const before = engine.rowsRead();
        let t = performance.now();
        const v = await engine.view(s, doc.oid, opts);
        cold.push(performance.now() - t);
        coldRows.push(engine.rowsRead() - before);
        if (v.rows.length !== LIMIT) throw new Error(`window at ${offset} returned ${v.rows.length} rows`);
        t = performance.now();
        for (let k = 0; k < 5; k++) await engine.view(s, doc.oid, opts);
        warm.push((performance.now() - t) / 5);
      }
      results.push({
        backend: name,
        nodes: size,
        version: at,
        "cold ms (median)": median(cold),
        "cold rows read": median(coldRows),
        "max rows read": Math.max(...coldRows),
        "warm ms (median)": median(warm),
      });
      progress(`${name} ${size} ${at}: cold ${median(cold).toFixed(1)} ms / ${median(coldRows)} rows, warm ${median(warm).toFixed(2)} ms`);
    }
    await backend.release();
  }
}
const md = table(results);
await save("view", { quick, limit: LIMIT, windows: WINDOWS, rows: results }, md);
