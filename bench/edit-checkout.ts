/**
 * Edit and subtree-checkout cost at depth 5 / 10 / 20, in a small and a large document, on PGlite
 * and Postgres, next to the floor: a bare transaction writing the same rows with no reads.
 * Prints a table, writes bench/results/edit-checkout.json.
 *
 *   npx tsx bench/edit-checkout.ts [--quick]
 */
import type { Engine, TreeInput } from "../index.js";
import type { Storage } from "../storage/contract.js";
import { openBench } from "./lib/backends.js";
import { progress, quick, time } from "./lib/measure.js";
import { save, table } from "./lib/results.js";

const DEPTHS = [5, 10, 20];
const SIZES = quick ? [1_000, 20_000] : [1_000, 100_000];
// Every row an edit writes: its records (one row per objective), chunks of wide lists, the op (which
// is also the device's sync log), documents. Nothing is updated but the space's counter.
const TABLES = ["version", "chunk", "op", "document"];

/** A balanced filler subtree of about `n` nodes (fanout 10). */
function filler(n: number, label: string): TreeInput[] {
  const out: TreeInput[] = [];
  let left = n;
  const make = (depth: number, prefix: string): TreeInput => {
    left--;
    const children: TreeInput[] = [];
    if (depth < 6) for (let i = 0; i < 10 && left > 0; i++) children.push(make(depth + 1, `${prefix}.${i}`));
    return { content: `${label} ${prefix}`, props: { done: left % 3 === 0 }, children };
  };
  while (left > 0) out.push(make(0, String(out.length)));
  return out;
}

/** A chain 21 deep (root's child is depth 0... 20), each level with 9 leaf siblings. */
function chain(depth: number): TreeInput {
  const siblings = Array.from({ length: 9 }, (_, i) => ({ content: `sibling ${depth}.${i}`, props: { done: i % 2 === 0 } }));
  return { content: `level ${depth}`, children: depth === 20 ? siblings : [...siblings, chain(depth + 1)] };
}

async function counts(storage: Storage): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = (await storage.query<{ n: number }>(`select count(*)::int8 as n from ${t}`))[0]!.n;
  return out;
}

async function rowsWritten(storage: Storage, fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await counts(storage);
  await fn();
  const after = await counts(storage);
  return Object.fromEntries(TABLES.map((t) => [t, after[t]! - before[t]!]));
}

let n = 0;

/**
 * The floor: one transaction inserting what an edit at depth d inserts, as plain rows with no reads
 * and no engine work: d+1 version rows (a ~50-byte delta body each) and one op row.
 */
async function floor(storage: Storage, depth: number): Promise<() => Promise<void>> {
  await storage.query(`create table if not exists floor_version (like version including all)`);
  await storage.query(`create table if not exists floor_op (like op including all)`);
  await storage.query(`create table if not exists floor_space (like space including all)`);
  const space = "00000000-0000-7000-8000-000000000000";
  await storage.query(`insert into floor_space (space_id, seq, created_at) values ($1, 0, 0) on conflict do nothing`, [space]);
  const oids = Array.from({ length: depth + 1 }, (_, i) => `00000000-0000-7000-8000-${String(i).padStart(12, "0")}`);
  const body = Buffer.alloc(50, 7);
  return async () => {
    n++;
    await storage.transaction(async (tx) => {
      await tx.query("update floor_space set seq = seq + 1 where space_id = $1", [space]);
      await tx.query(
        `insert into floor_version (space_id, oid, seq, parent_oid, pos, flags, image, body) select $1, t.oid, $2, null, 'a0', 0, $2, $3 from unnest($4::uuid[]) as t(oid)`,
        [space, n, body, oids],
      );
      await tx.query(`insert into floor_op (space_id, op_id, hlc, kind, oid, at, device, data, seq, outcome) values ($1, $2, $3, 'update', $4, 0, 'd', $5, $6, 'applied')`, [
        space,
        `d.${n}`,
        `h${n}`,
        oids[0],
        body,
        n,
      ]);
    });
  };
}

async function pathTo(engine: Engine, s: string, top: string, depth: number): Promise<string[]> {
  // oids of "level k" for k = 0..depth, walking down the chain (last child of each level).
  const out: string[] = [];
  let at = top;
  for (let k = 0; k <= depth; k++) {
    out.push(at);
    if (k === depth) break;
    const kids = await engine.children(s, at);
    at = kids[kids.length - 1]!.oid;
  }
  return out;
}

const results: Record<string, unknown>[] = [];
for (const name of ["pglite", "postgres"] as const) {
  const backend = await openBench(name);
  if (!backend) continue;
  const { engine, storage } = backend;
  const floors = new Map<number, number>();
  for (const d of DEPTHS) {
    const run = await floor(storage, d);
    floors.set(d, (await time(`${name} floor d${d}`, run)).meanUs);
  }
  for (const size of SIZES) {
    progress(`${name}: building a ${size}-node document`);
    const { spaceId: s } = await engine.createSpace();
    const doc = await engine.createDocument(s, { content: `doc ${size}` });
    const [top] = (await engine.importTree(s, { parentOid: doc.oid, nodes: [chain(0)] })).oids;
    await engine.importTree(s, { parentOid: doc.oid, nodes: filler(size - 211, "filler") });
    const levels = await pathTo(engine, s, top!, 20);
    for (const d of DEPTHS) {
      const target = levels[d - 1]!; // at depth d: the document root is depth 0
      let i = 0;
      const edit = () => engine.update(s, target, { content: `edit ${i++}` });
      const rows = await rowsWritten(storage, edit);
      const editTime = await time(`${name} ${size} edit d${d}`, edit);
      // Checkout of the depth-d objective's subtree to a version 10 edits away, back and forth.
      const old = (await engine.get(s, target)).vid;
      for (let k = 0; k < 10; k++) await edit();
      const recent = (await engine.get(s, target)).vid;
      let flip = false;
      const checkout = () => engine.checkout(s, target, (flip = !flip) ? old : recent);
      const checkoutRows = await rowsWritten(storage, checkout);
      const checkoutTime = await time(`${name} ${size} checkout d${d}`, checkout);
      const floorUs = floors.get(d)!;
      results.push({
        backend: name,
        nodes: size,
        depth: d,
        "edit µs": editTime.meanUs,
        "floor µs": floorUs,
        "edit/floor": editTime.meanUs / floorUs,
        "rows/edit": Object.values(rows).reduce((a, b) => a + b, 0),
        "version rows/edit": rows["version"]!,
        "chunks/edit": rows["chunk"]!,
        "checkout µs": checkoutTime.meanUs,
        "checkout/floor": checkoutTime.meanUs / floorUs,
        "rows/checkout": Object.values(checkoutRows).reduce((a, b) => a + b, 0),
      });
      progress(`${name} ${size} d${d}: edit ${editTime.meanUs.toFixed(0)} µs, checkout ${checkoutTime.meanUs.toFixed(0)} µs`);
    }
  }
  await backend.release();
}
const md = table(results as Record<string, string | number>[]);
await save("edit-checkout", { quick, rows: results, note: "rows/edit: rows inserted (version rows, chunks, the op row); nothing else is updated but the space's counter" }, md);
