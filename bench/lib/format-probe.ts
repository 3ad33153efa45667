/**
 * One side of bench/format.ts: measures one engine checkout on one backend through the public API
 * only (so the same file runs against an older checkout of the engine), and prints the figures as
 * one JSON line. Rows read are counted at the storage boundary (every row any query returned), the
 * same way for any stored format; storage is the database's growth after VACUUM.
 *
 *   npx tsx bench/lib/format-probe.ts pglite|postgres [--quick]
 */
import pg from "pg";
import { openEngine, pglite, postgres, type Engine, type Storage, type StorageConfig, type TreeInput } from "../../index.js";
import { generateOutline, type Outline } from "../workload/outline.js";
import { countingStorage, type Counting } from "./counting-storage.js";

let counter: Counting;
const rowsRead = () => counter.rows();

const backend = process.argv[2] === "postgres" ? "postgres" : "pglite";
const quick = process.argv.includes("--quick");
const SIZE = quick ? 5_000 : 20_000;
const EDITS = quick ? 200 : 1_000;
const PG_URL = process.env["PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function open(): Promise<{ engine: Engine; raw: Storage; drop: () => Promise<void> }> {
  let raw: Storage;
  let drop = async () => {};
  if (backend === "pglite") raw = await pglite().open();
  else {
    const name = `logbook_format_${Date.now().toString(36)}`;
    await admin(`create database ${name}`);
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    raw = await postgres({ connectionString: url.toString() }).open();
    drop = () => admin(`drop database if exists ${name} with (force)`);
  }
  counter = countingStorage(raw);
  const config: StorageConfig = { kind: backend, open: async () => counter.storage };
  return { engine: await openEngine({ storage: config }), raw, drop };
}

/** Database size after VACUUM (every table; growth is what the history costs). */
async function size(raw: Storage): Promise<number> {
  await raw.query("vacuum");
  const [r] = await raw.query<{ n: number }>("select pg_database_size(current_database())::int8 as n");
  return Number(r!.n);
}

function treeOf(outline: Outline): { top: TreeInput[] } {
  const made = new Map<string, TreeInput & { children: TreeInput[] }>();
  const top: TreeInput[] = [];
  for (const [id, parent, content, props] of outline.rows.slice(1)) {
    const node = { oid: id, content, props, children: [] as TreeInput[] };
    made.set(id, node);
    const up = parent === null || parent === outline.rootId ? undefined : made.get(parent);
    (up ? up.children : top).push(node);
  }
  return { top };
}

function depthsOf(outline: Outline): Map<string, number> {
  const depth = new Map<string, number>([[outline.rootId, 0]]);
  for (const [id, parent] of outline.rows.slice(1)) depth.set(id, depth.get(parent!)! + 1);
  return depth;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; rows: number; value: T }> {
  const before = rowsRead();
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, rows: rowsRead() - before, value };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[s.length >> 1]!;
};

const { engine, raw, drop } = await open();
const out: Record<string, number> = {};
try {
  const outline = generateOutline("realistic", SIZE, 3);
  const { spaceId: s } = await engine.createSpace();
  const doc = await engine.createDocument(s, { oid: outline.rootId, content: outline.rows[0]![2] });
  const empty = await size(raw);
  const { top } = treeOf(outline);
  for (let i = 0; i < top.length; i += 50) await engine.importTree(s, { parentOid: doc.oid, nodes: top.slice(i, i + 50) });
  out["bytes per imported node"] = (await size(raw)) - empty;
  out["bytes per imported node"] /= outline.rows.length - 1;

  // Edits: content updates at depth 4-5, then at depth 10 (the probe chain).
  const depth = depthsOf(outline);
  const shallow = outline.rows.map((r) => r[0]).filter((id) => depth.get(id) === 4 || depth.get(id) === 5);
  const first = (await engine.get(s, doc.oid)).vid;
  for (const [name, targets] of [["d4-5", shallow], ["d10", [outline.probe[10]!]]] as const) {
    const before = await size(raw);
    const us: number[] = [];
    for (let i = 0; i < EDITS; i++) {
      const t0 = performance.now();
      await engine.update(s, targets[(i * 7919) % targets.length]!, { content: `edit ${name} ${i}` });
      us.push((performance.now() - t0) * 1000);
    }
    out[`bytes per edit ${name}`] = ((await size(raw)) - before) / EDITS;
    out[`edit µs ${name} (median)`] = median(us);
  }
  const last = (await engine.get(s, doc.oid)).vid;

  // Edit latency at depth 5 / 10 / 20, warm.
  for (const d of [5, 10, 20]) {
    const us: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await engine.update(s, outline.probe[d]!, { content: `probe ${d} ${i}` });
      us.push((performance.now() - t0) * 1000);
    }
    out[`edit µs d${d} (median)`] = median(us);
  }

  // Reads, cold (caches dropped before each) and warm.
  const total = (await engine.view(s, doc.oid, { limit: 1 })).total;
  const cold: number[] = [];
  const coldRows: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < 15; i++) {
    const offset = (i * 104_729) % Math.max(1, total - 50);
    engine.clearCache();
    const c = await timed(() => engine.view(s, doc.oid, { offset, limit: 50 }));
    cold.push(c.ms);
    coldRows.push(c.rows);
    warm.push((await timed(() => engine.view(s, doc.oid, { offset, limit: 50 }))).ms);
  }
  out["window cold ms (median)"] = median(cold);
  out["window cold rows read (median)"] = median(coldRows);
  out["window warm ms (median)"] = median(warm);
  const old = await timed(() => {
    engine.clearCache();
    return engine.view(s, doc.oid, { vid: first, offset: 100, limit: 50 });
  });
  out["old-version window cold rows read"] = old.rows;

  engine.clearCache();
  const diff = await timed(() => engine.diff(s, doc.oid, first, last));
  out["diff rows read"] = diff.rows;
  out["diff ms"] = diff.ms;
  out["diff changes"] = diff.value.length;
  engine.clearCache();
  const history = await timed(() => engine.history(s, doc.oid, { limit: 50 }));
  out["history (50) rows read"] = history.rows;
  out["history (50) ms"] = history.ms;
  engine.clearCache();
  const versions = await timed(() => engine.versions(s, doc.oid, { limit: 50 }));
  out["versions (50) rows read"] = versions.rows;
  out["versions (50) ms"] = versions.ms;

  // Subtree checkout: the largest child of the root to the version before 10 edits inside it, and back.
  const big = outline.checkoutTarget;
  const inside = outline.rows.filter((r) => r[1] === big).map((r) => r[0]);
  const before = (await engine.get(s, big)).vid;
  for (let i = 0; i < 10; i++) await engine.update(s, inside[i % inside.length]!, { content: `inside ${i}` });
  const after = (await engine.get(s, big)).vid;
  engine.clearCache();
  const co = await timed(() => engine.checkout(s, big, before));
  out["checkout rows read (cold)"] = co.rows;
  out["checkout ms (cold)"] = co.ms;
  const back = await timed(() => engine.checkout(s, big, after));
  out["checkout back rows read (warm)"] = back.rows;
  out["checkout back ms (warm)"] = back.ms;
} finally {
  await engine.close();
  await drop();
}
console.log(JSON.stringify(out));
