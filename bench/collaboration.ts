/**
 * Collaboration (issue 19): what the role check costs. A 10,000-row outline with a chain of 20
 * nested objectives under its root, each holding 60 children; entries for three users along the
 * chain. At depth 5, 10 and 20: an edit, and a warm 50-row window of the objective there, by the
 * engine's owner (no actor: no check, the unshared case) and by a user acting through
 * `engine.as` (a manager at the root, so every check passes), side by side; plus the rows every
 * query returned per op (role checks included). And the sync server's check of a pushed op
 * (`checkOps`, which the server asks its replica: here the same engine) for one op and for a
 * 500-op batch by a collaborator, beside the owner's edit at the same depth. And what a device pays
 * when the server refuses N of its offline ops (a role taken away): withdrawn one per push, as the
 * client did, against all at once (`withdrawAll`, what the server's list of refusals allows). And
 * a partial replica's refresh (a member who reads one subtree of a space): the first load of a
 * shared subtree of 1,000 and 10,000 rows, and the refresh after one edit in it, beside a second
 * shared subtree that did not change (not sent): time, bytes on the wire, rows.
 * Prints tables, writes bench/results/collaboration.json and .md.
 *
 *   npx tsx bench/collaboration.ts [--quick]
 */
import { newOid, type CheckedOp, type Engine, type SnapshotFrame } from "../index.js";
import { encodeSnapshotFrame } from "../sync/protocol.js";
import { openCountedEngine } from "./lib/counting-storage.js";
import { importCalls } from "./lib/import-calls.js";
import { medianOf, progress, quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";
import { generateOutline } from "./workload/outline.js";

const DEPTHS = [5, 10, 20] as const;
const RUNS = quick ? 15 : 60;

async function medianUs(fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await fn(-1 - i);
  const us: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn(i);
    us.push((performance.now() - t0) * 1000);
  }
  return medianOf(us);
}

/** The newest clock in a space's log. */
async function newestHlc(engine: Engine, s: string): Promise<string> {
  let after = "";
  for (;;) {
    const page = await engine.logSince(s, { afterHlc: after, limit: 10_000 });
    if (page.length === 0) return after;
    after = page[page.length - 1]!.hlc;
  }
}

/** N offline updates of one row in a fresh space: the ops a server would refuse. */
async function offlineOps(engine: Engine, n: number): Promise<{ s: string; opIds: string[] }> {
  const { spaceId: s } = await engine.createSpace();
  const doc = await engine.createDocument(s, { content: "doc" });
  const row = await engine.create(s, { parentOid: doc.oid, content: "row" });
  for (let i = 0; i < n; i++) await engine.update(s, row.oid, { content: `offline ${i}` });
  const log = await engine.logSince(s, { limit: n + 10 });
  return { s, opIds: log.slice(-n).map((o) => o.opId) };
}

async function withdrawals(engine: Engine, kind: string): Promise<Record<string, string | number>[]> {
  const out: Record<string, string | number>[] = [];
  for (const n of quick ? [25, 100] : [25, 100, 200]) {
    progress(`${kind}: withdrawing ${n} refused ops`);
    const one = await offlineOps(engine, n);
    const t0 = performance.now();
    for (const opId of one.opIds) await engine.withdraw(one.s, opId, "refused");
    const oneByOne = performance.now() - t0;
    const all = await offlineOps(engine, n);
    const t1 = performance.now();
    await engine.withdrawAll(all.s, all.opIds.map((opId) => ({ opId, detail: "refused" })));
    const atOnce = performance.now() - t1;
    out.push({ backend: kind, "refused ops": n, "one per push ms": oneByOne, "all at once ms": atOnce, "× faster": oneByOne / atOnce, "µs per op (at once)": (atOnce * 1000) / n });
  }
  return out;
}

/** Frames as the server sends them (length-prefixed MessagePack), counted and collected. */
async function wire(frames: AsyncIterable<SnapshotFrame>): Promise<{ frames: SnapshotFrame[]; bytes: number; rows: number }> {
  const out: SnapshotFrame[] = [];
  let bytes = 0;
  let rows = 0;
  for await (const f of frames) {
    bytes += encodeSnapshotFrame(f).length;
    if ("rows" in f && Array.isArray(f.rows)) rows += f.rows.length;
    out.push(f);
  }
  return { frames: out, bytes, rows };
}

async function partialRefresh(kind: "pglite" | "postgres"): Promise<Record<string, string | number>[]> {
  const out: Record<string, string | number>[] = [];
  for (const size of quick ? [1_000] : [1_000, 10_000]) {
    const owner = await openCountedEngine(kind, "logbook_partial_owner");
    const device = await openCountedEngine(kind, "logbook_partial_device");
    if (!owner || !device) return out;
    try {
      progress(`${kind}: partial replica of a ${size}-row subtree`);
      const a = owner.engine;
      const { spaceId: s } = await a.createSpace();
      const doc = (await a.createDocument(s, { content: "space" })).oid;
      const tops: string[] = [];
      for (const [i, name] of ["shared", "also shared", "not shared"].entries()) {
        const top = (await a.create(s, { parentOid: doc, content: name })).oid;
        // Another seed for each: other oids.
        const outline = generateOutline("realistic", size, 11 + i);
        // The outline's rows under `top` instead of under its own root.
        for (const c of importCalls(outline.rows.slice(1), { known: new Set([outline.rootId]), maxTops: 200 })) await a.importTree(s, { ...c, parentOid: c.parentOid === outline.rootId ? top : c.parentOid });
        tops.push(top);
      }
      await a.share(s, tops[0]!, "bob", "collaborator");
      await a.share(s, tops[1]!, "bob", "viewer");
      const b = device.engine;
      await b.createSpace({ spaceId: s });
      // What the device holds: each top's vid and its entries mark as of the last load.
      let marks = new Map<string, number | undefined>();
      const have = async () => (await b.documents(s)).map((d) => ({ oid: d.oid, vid: d.vid, ...(marks.get(d.oid) === undefined ? {} : { entries: marks.get(d.oid)! }) }));
      const load = async () => {
        const t0 = performance.now();
        const sent = await wire(a.exportPartial(s, "bob", await have()));
        const t1 = performance.now();
        marks = new Map((await b.loadPartial(s, sent.frames, "")).tops.map((t) => [t.oid, t.entries]));
        return { exportMs: t1 - t0, loadMs: performance.now() - t1, bytes: sent.bytes, rows: sent.rows };
      };
      const first = await load();
      const t0 = performance.now();
      const topsNow = await a.partialTops(s, "bob");
      const checkMs = performance.now() - t0;
      const row = (await a.children(s, tops[0]!, { limit: 1 }))[0]!.oid;
      await a.update(s, row, { content: "one edit" });
      const again = await load();
      if ((await b.get(s, tops[0]!)).vid !== (await a.get(s, tops[0]!)).vid) throw new Error("the partial replica differs after its refresh");
      out.push({
        backend: kind,
        "rows per shared subtree": size,
        tops: topsNow.tops.length,
        "first load: export ms": first.exportMs,
        "first load: load ms": first.loadMs,
        "first load KiB": first.bytes / 1024,
        "first load rows": first.rows,
        "tops check ms": checkMs,
        "refresh after one edit: export ms": again.exportMs,
        "refresh: load ms": again.loadMs,
        "refresh KiB": again.bytes / 1024,
        "refresh rows": again.rows,
        "bytes per shared row (first load)": first.bytes / (2 * size),
      });
    } finally {
      await owner.close();
      await device.close();
    }
  }
  return out;
}

async function run(kind: "pglite" | "postgres"): Promise<Record<string, string | number>[] | undefined> {
  const b = await openCountedEngine(kind, "logbook_collab");
  if (!b) return undefined;
  const out: Record<string, string | number>[] = [];
  try {
    const owner: Engine = b.engine;
    const alice = owner.as("alice");
    const { spaceId: s } = await owner.createSpace();
    const outline = generateOutline("realistic", 10_000, 5);
    const root = (await alice.createDocument(s, { oid: outline.rootId, content: outline.rows[0]![2] })).oid;
    progress(`${kind}: outline`);
    for (const c of importCalls(outline.rows.slice(1), { known: new Set([root]), maxTops: 200 })) await alice.importTree(s, c);
    progress(`${kind}: chain of 20, 60 children each`);
    const chain: string[] = [];
    let parent = root;
    for (let d = 1; d <= 20; d++) {
      parent = (await alice.create(s, { parentOid: parent, content: `level ${d}` })).oid;
      chain.push(parent);
      await alice.importTree(s, { parentOid: parent, nodes: Array.from({ length: 60 }, (_, i) => ({ content: `row ${i} at ${d}` })) });
    }
    // Entries along the way, as a shared document has them (the path holds some of them).
    await alice.share(s, root, "bob", "viewer");
    await alice.share(s, chain[2]!, "bob", "collaborator");
    await alice.share(s, chain[8]!, "carol", "collaborator");
    await alice.share(s, chain[14]!, "bob", "none");
    // The pushing collaborator of the server check (allowed everywhere: the whole check runs).
    await alice.share(s, root, "dave", "collaborator");
    for (const d of DEPTHS) {
      const oid = chain[d - 1]!;
      const row: Record<string, string | number> = { backend: kind, depth: d };
      for (const [who, e] of [["owner", owner], ["as user", alice]] as const) {
        const r0 = b.counter.rows();
        row[`edit µs (${who})`] = await medianUs((i) => e.update(s, oid, { content: `${who} ${i}` }));
        const r1 = b.counter.rows();
        row[`window µs (${who})`] = await medianUs(() => e.view(s, oid, { limit: 50 }));
        row[`rows read per edit (${who})`] = (r1 - r0) / (RUNS + 5);
        row[`rows read per window (${who})`] = (b.counter.rows() - r1) / (RUNS + 5);
      }
      // A pushed update by dave at this depth, with a clock after everything (no race to probe).
      const last = await newestHlc(owner, s);
      const hlc = last.replace(/^(\d{15})/, (ms) => String(Number(ms) + 1).padStart(15, "0"));
      const pushed = (n: number): CheckedOp[] =>
        Array.from({ length: n }, (_, i) => ({ opId: `${newOid()}.${i + 1}`, kind: "update", oid: i === 0 ? oid : chain[i % d]!, actor: "dave", hlc, data: { content: `push ${i}` } }));
      const r2 = b.counter.rows();
      row["check µs (1 op)"] = await medianUs(async () => {
        if (await owner.checkOps(s, pushed(1))) throw new Error("refused");
      });
      const r3 = b.counter.rows();
      row["rows read per check (1 op)"] = (r3 - r2) / (RUNS + 5);
      const batch = pushed(500);
      row["check µs per op (500)"] = (await medianUs(() => owner.checkOps(s, batch))) / 500;
      row["check ÷ edit"] = (row["check µs (1 op)"] as number) / (row["edit µs (owner)"] as number);
      row["edit ×"] = (row["edit µs (as user)"] as number) / (row["edit µs (owner)"] as number);
      row["window ×"] = (row["window µs (as user)"] as number) / (row["window µs (owner)"] as number);
      out.push(row);
    }
    withdrawn.push(...(await withdrawals(owner, kind)));
    partials.push(...(await partialRefresh(kind)));
  } finally {
    await b.close();
  }
  return out;
}

const rows: Record<string, string | number>[] = [];
const withdrawn: Record<string, string | number>[] = [];
const partials: Record<string, string | number>[] = [];
for (const kind of ["pglite", "postgres"] as const) {
  const r = await run(kind);
  if (r) rows.push(...r);
}
await save(
  "collaboration",
  { quick, runs: RUNS, rows, withdrawn, partials },
  `${table(rows)}\n\nWithdrawing N offline ops a server refused (a role taken away), on the device:\n\n${table(withdrawn)}\n\nA partial replica (a member who reads two subtrees of a space of three): the first load, the tops check, and the refresh after one edit in one of them (the other is not sent again):\n\n${table(partials)}`,
);
