/**
 * Subtree snapshots (issue 15, item 3: "one subtree `(oid, vid)`"): what copying one version of one
 * subtree, with its history up to it, costs beside the whole space's snapshot, measured side by
 * side in one run on both backends. A realistic outline of 10,000 (and 100,000) rows is imported,
 * then 1,000 edits are made (history generator). Copied into a fresh space of the same database:
 * - the document root at the 10th edit (990 edits ago: the subtree is the whole document);
 * - the largest subtree (the outline's checkout target) at the 10th edit and as it is now;
 * - the whole space (exportSnapshot), for the ratio.
 * Per copy: export and load time (ms), bytes on the wire (frames as the server sends them), rows,
 * rows the export read, and that the copy reads the same root vid and every row of it.
 * Beside them, Loro (one document, no per-subtree copy): the same outline and edits, the document
 * at the 10th edit with its history up to there (`forkAt`, then a snapshot export and an import
 * into a new document) and the whole document's snapshot.
 * Prints a table, writes bench/results/subtree-snapshot.json and .md.
 *
 *   npx tsx bench/subtree-snapshot.ts [--quick]
 */
import { randomUUID } from "node:crypto";
import { LoroDoc, type Frontiers } from "loro-crdt";
import { loroOutline } from "./lib/loro-outline.js";
import type { Engine, SnapshotFrame } from "../index.js";
import { encodeSnapshotFrame } from "../sync/protocol.js";
import { applyEdit } from "./lib/apply-edit.js";
import { openCountedEngine, type CountedEngine } from "./lib/counting-storage.js";
import { importCalls } from "./lib/import-calls.js";
import { medianOf, progress, quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";
import { generateHistory } from "./workload/history.js";
import { generateOutline } from "./workload/outline.js";

const SIZES = quick ? [10_000] : [10_000, 100_000];
const EDITS = 1_000;
const RUNS = quick ? 1 : 3;
const SEED = 8;

interface Copy {
  backend: string;
  nodes: number;
  what: string;
  rows: number;
  bytes: number;
  exportMs: number;
  loadMs: number;
  rowsReadByExport: number;
  sameVid: boolean;
}

/** Exports, encodes (as the server sends) and loads into a fresh space: medians of RUNS. */
async function copy(c: CountedEngine, what: string, frames: () => AsyncGenerator<SnapshotFrame>, check: (space: string) => Promise<boolean>) {
  const exports: number[] = [];
  const loads: number[] = [];
  let bytes = 0;
  let rows = 0;
  let read = 0;
  let same = true;
  for (let run = 0; run < RUNS; run++) {
    const before = c.counter.rows();
    const t0 = performance.now();
    const list: SnapshotFrame[] = [];
    bytes = 0;
    for await (const f of frames()) {
      bytes += encodeSnapshotFrame(f).length;
      list.push(f);
    }
    exports.push(performance.now() - t0);
    read = c.counter.rows() - before;
    const into = randomUUID();
    const t1 = performance.now();
    rows = (await c.engine.loadSnapshot(into, list)).rows;
    loads.push(performance.now() - t1);
    same &&= await check(into);
  }
  progress(`subtree: ${what}: ${rows} rows, ${(bytes / 1024).toFixed(0)} KiB`);
  return { what, rows, bytes, exportMs: medianOf(exports), loadMs: medianOf(loads), rowsReadByExport: read, sameVid: same };
}

/** Loro: the same outline in one commit, the same edits one commit each; the copies Loro can make. */
function loroCopies(outline: ReturnType<typeof generateOutline>, history: ReturnType<typeof generateHistory>) {
  const { doc, create, apply } = loroOutline();
  for (const [id, parent, content, props] of outline.rows) create(id, parent, content, props);
  doc.commit();
  let tenth: Frontiers = doc.frontiers();
  history.forEach((e, i) => {
    apply(e);
    doc.commit();
    if (i === 9) tenth = doc.frontiers();
  });
  const measure = (what: string, make: () => Uint8Array) => {
    const exports: number[] = [];
    const loads: number[] = [];
    let bytes = 0;
    for (let run = 0; run < RUNS; run++) {
      const t0 = performance.now();
      const out = make();
      exports.push(performance.now() - t0);
      bytes = out.length;
      const t1 = performance.now();
      const other = new LoroDoc();
      other.import(out);
      loads.push(performance.now() - t1);
      other.free();
    }
    return { what, bytes, exportMs: medianOf(exports), loadMs: medianOf(loads) };
  };
  const out = [
    measure("document at the 10th edit (forkAt, snapshot, import)", () => {
      const fork = doc.forkAt(tenth);
      const bytes = fork.export({ mode: "snapshot" });
      fork.free();
      return bytes;
    }),
    measure("whole document (snapshot, import)", () => doc.export({ mode: "snapshot" })),
  ];
  doc.free();
  return out;
}

const copies: Copy[] = [];
const loro: { nodes: number; what: string; bytes: number; exportMs: number; loadMs: number }[] = [];
for (const nodes of SIZES) {
  const outline = generateOutline("realistic", nodes, SEED);
  const history = generateHistory(outline, EDITS, SEED);
  progress(`subtree: loro ${nodes}`);
  for (const l of loroCopies(outline, history)) loro.push({ nodes, ...l });
  for (const kind of ["pglite", "postgres"] as const) {
    const c = await openCountedEngine(kind, "bench_subtree");
    if (!c) continue;
    try {
      const e: Engine = c.engine;
      const { spaceId: s } = await e.createSpace();
      const [first, ...rest] = outline.rows;
      await e.createDocument(s, { oid: first![0], content: first![2], props: first![3] });
      for (const call of importCalls(rest, { maxTops: 5_000 })) await e.importTree(s, call);
      progress(`subtree: ${kind} ${nodes}: imported; ${EDITS} edits`);
      let tenth = { root: "", target: "" };
      for (let i = 0; i < history.length; i++) {
        await applyEdit(e, s, history[i]!);
        if (i === 9) tenth = { root: (await e.get(s, outline.rootId)).vid, target: (await e.get(s, outline.checkoutTarget)).vid };
      }
      const now = (await e.get(s, outline.checkoutTarget)).vid;
      const rootNow = (await e.get(s, outline.rootId)).vid;
      // The copy holds the version, and every row of it reads (all its descendants, window by window).
      const vidIs = (oid: string, vid: string) => async (space: string) => {
        const root = await e.get(space, oid);
        let rows = 0;
        for (let offset = 0; offset < root.stats.descendants; offset += 10_000) rows += (await e.view(space, oid, { offset, limit: 10_000 })).rows.length;
        return root.vid === vid && rows === root.stats.descendants;
      };
      const cases = [
        await copy(c, "document root at the 10th edit", () => e.exportSubtree(s, outline.rootId, tenth.root), vidIs(outline.rootId, tenth.root)),
        await copy(c, `largest subtree (${outline.checkoutTargetSize.toLocaleString("en")} rows) at the 10th edit`, () => e.exportSubtree(s, outline.checkoutTarget, tenth.target), vidIs(outline.checkoutTarget, tenth.target)),
        await copy(c, "largest subtree now", () => e.exportSubtree(s, outline.checkoutTarget, now), vidIs(outline.checkoutTarget, now)),
        await copy(c, "whole space (snapshot)", () => e.exportSnapshot(s), vidIs(outline.rootId, rootNow)),
      ];
      for (const x of cases) copies.push({ backend: kind, nodes, ...x });
    } finally {
      await c.close();
    }
  }
}

const whole = (c: Copy) => copies.find((x) => x.backend === c.backend && x.nodes === c.nodes && x.what.startsWith("whole"))!;
const md = [
  `Copies of one version of one subtree with its history up to it (\`exportSubtree\` → \`loadSnapshot\` into a fresh space of the same database), beside the whole space's snapshot. A realistic outline imported, then ${EDITS.toLocaleString("en")} edits; medians of ${RUNS}. Bytes: frames as the sync server sends them.`,
  table(
    copies.map((c) => ({
      backend: c.backend,
      nodes: c.nodes.toLocaleString("en"),
      copy: c.what,
      rows: c.rows.toLocaleString("en"),
      KiB: Math.round(c.bytes / 1024).toLocaleString("en"),
      "B per row": Math.round(c.bytes / c.rows),
      "export ms": Math.round(c.exportMs),
      "load ms": Math.round(c.loadMs),
      "rows read by export": c.rowsReadByExport.toLocaleString("en"),
      "÷ whole space bytes": `${(c.bytes / whole(c).bytes).toFixed(2)}×`,
      "same vid, every row read": c.sameVid ? "yes" : "NO",
    })),
  ),
  "Loro, the same outline and edits (it copies whole documents only; times side by side in the same run):",
  table(
    loro.map((l) => {
      const ours = (kind: string) => copies.find((c) => c.backend === kind && c.nodes === l.nodes && c.what.startsWith(l.what.startsWith("whole") ? "whole" : "document root"));
      const ratio = (kind: string) => {
        const c = ours(kind);
        return c ? `${((c.exportMs + c.loadMs) / (l.exportMs + l.loadMs)).toFixed(1)}×` : "–";
      };
      return {
        nodes: l.nodes.toLocaleString("en"),
        copy: l.what,
        KiB: Math.round(l.bytes / 1024).toLocaleString("en"),
        "export ms": Math.round(l.exportMs),
        "load ms": Math.round(l.loadMs),
        "engine PGlite ÷ loro (export + load)": ratio("pglite"),
        "engine Postgres ÷ loro (export + load)": ratio("postgres"),
      };
    }),
  ),
].join("\n\n");
console.log(md);
await save("subtree-snapshot", { edits: EDITS, runs: RUNS, copies, loro }, md);
