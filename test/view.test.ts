import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, TreeInput } from "../index.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";
import { lcg } from "./helpers/random-edits.js";

interface Flat {
  oid: string;
  vid: string;
  depth: number;
  content: string;
  childCount: number;
  folded: boolean;
}

/** The naive reference: the whole depth-first linearization, read with children() at a version. */
async function linearize(e: Engine, s: string, oid: string, vid: string, folded: ReadonlySet<string>, depth = 0): Promise<Flat[]> {
  const out: Flat[] = [];
  for (const k of await e.children(s, oid, { vid, limit: 100_000 })) {
    out.push({ oid: k.oid, vid: k.vid, depth, content: k.content, childCount: k.childCount, folded: folded.has(k.oid) });
    if (!folded.has(k.oid) && k.childCount > 0) out.push(...(await linearize(e, s, k.oid, k.vid, folded, depth + 1)));
  }
  return out;
}

/** A random outline of about `n` nodes with some wide parents. */
function randomTree(rand: () => number, n: number): TreeInput[] {
  const roots: TreeInput[] = [];
  const all: { children: TreeInput[] }[] = [{ children: roots }];
  for (let i = 0; i < n; i++) {
    const parent = all[Math.floor(rand() * all.length)]!;
    const node = { content: `n${i}`, props: rand() < 0.3 ? { done: rand() < 0.5 } : {}, children: [] as TreeInput[] };
    parent.children.push(node);
    all.push(node);
  }
  return roots;
}

describe.each(await usableBackends())("view builder on $name", (backend) => {
  let fresh: Fresh;
  let e: Engine;
  beforeAll(async () => {
    fresh = await backend.fresh();
    e = fresh.engine;
  });
  afterAll(async () => fresh?.release());

  it("returns exactly the window of the naive linearization, at any version, with any folds", async () => {
    const runs = Number(process.env["LOGBOOK_PROPERTY_RUNS"] ?? 200) >> 1;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 5, max: 80 }), async (seed, size) => {
        const rand = lcg(seed);
        const { spaceId: s } = await e.createSpace();
        const doc = await e.createDocument(s, { content: "doc" });
        await e.importTree(s, { parentOid: doc.oid, nodes: randomTree(rand, size) });
        const versions = [(await e.get(s, doc.oid)).vid];
        const oids = (await linearize(e, s, doc.oid, versions[0]!, new Set())).map((r) => r.oid);
        // Random edits, including moves, removals and subtree checkouts, remembering root versions.
        for (let step = 0; step < 6; step++) {
          const live = (await linearize(e, s, doc.oid, (await e.get(s, doc.oid)).vid, new Set())).map((r) => r.oid);
          if (live.length < 2) break;
          const pick = () => live[Math.floor(rand() * live.length)]!;
          const r = rand();
          try {
            if (r < 0.3) await e.create(s, { parentOid: pick(), content: `new${step}` });
            else if (r < 0.5) await e.move(s, pick(), { parentOid: rand() < 0.3 ? doc.oid : pick() });
            else if (r < 0.65) await e.remove(s, pick());
            else if (r < 0.85) {
              const target = pick();
              const vs = (await e.versions(s, target)).versions;
              await e.checkout(s, target, vs[Math.floor(rand() * vs.length)]!.vid);
            } else await e.update(s, pick(), { content: `edit${step}` });
          } catch (error) {
            if ((error as { code?: string }).code !== "CYCLE") throw error;
          }
          versions.push((await e.get(s, doc.oid)).vid);
          oids.push(...live);
        }
        for (let check = 0; check < 3; check++) {
          const vid = versions[Math.floor(rand() * versions.length)]!;
          const folded = new Set(oids.filter(() => rand() < 0.15));
          const expected = await linearize(e, s, doc.oid, vid, folded);
          const offset = Math.floor(rand() * (expected.length + 2));
          const limit = 1 + Math.floor(rand() * 12);
          const active = vid === (await e.get(s, doc.oid)).vid;
          const got = await e.view(s, doc.oid, { offset, limit, folded, ...(active ? {} : { vid }) });
          expect(got.total).toBe(expected.length);
          expect(got.rows.map((r) => ({ oid: r.oid, vid: r.vid, depth: r.depth, content: r.content, childCount: r.childCount, folded: r.folded }))).toEqual(
            expected.slice(offset, offset + limit),
          );
          const probe = expected[Math.floor(rand() * expected.length)];
          if (probe) expect(await e.rowIndex(s, doc.oid, probe.oid, { vid, folded })).toBe(expected.indexOf(probe));
        }
      }),
      { numRuns: runs },
    );
  });

  it("reads the same number of rows for a 50-row window in 10,000 and 200,000-node documents", async () => {
    const { spaceId: s } = await e.createSpace();
    const measure = async (nodes: number) => {
      const doc = await e.createDocument(s, { content: `doc ${nodes}` });
      // Fanout 20 at the top levels, and one parent with 2,000 children, so chunks are skipped too.
      const per = Math.floor(nodes / 20);
      await e.importTree(s, {
        parentOid: doc.oid,
        nodes: Array.from({ length: 20 }, (_, i) => ({
          content: `part ${i}`,
          children: Array.from({ length: per / 50 }, (_, j) => ({
            content: `section ${i}.${j}`,
            children: Array.from({ length: 49 }, (_, k) => ({ content: `item ${i}.${j}.${k}` })),
          })),
        })),
      });
      const total = (await e.view(s, doc.oid, { limit: 1 })).total;
      const reads: number[] = [];
      for (const at of [0.1, 0.5, 0.9]) {
        e.clearCache();
        const before = e.rowsRead();
        const { rows } = await e.view(s, doc.oid, { offset: Math.floor(total * at), limit: 50 });
        expect(rows).toHaveLength(50);
        reads.push(e.rowsRead() - before);
      }
      return { total, reads };
    };
    const small = await measure(10_000);
    const big = await measure(200_000);
    expect(big.total).toBeGreaterThan(small.total * 15);
    for (let k = 0; k < 3; k++) {
      expect(Math.abs(big.reads[k]! - small.reads[k]!)).toBeLessThanOrEqual(4); // ± depth
      expect(big.reads[k]!).toBeLessThan(80); // 50 rows + O(depth × log fanout)
    }
  });

  it("stores folds per user without making versions, and uses them in views", async () => {
    const { spaceId: s } = await e.createSpace();
    const doc = await e.createDocument(s, { content: "doc" });
    const [a] = (await e.importTree(s, { parentOid: doc.oid, nodes: [{ content: "A", children: [{ content: "A1" }, { content: "A2" }] }, { content: "B" }] })).oids;
    const vid = (await e.get(s, doc.oid)).vid;
    await e.setFolded(s, "ana", a!, true);
    await e.setFolded(s, "ana", a!, true);
    expect((await e.get(s, doc.oid)).vid).toBe(vid);
    expect(await e.folds(s, "ana")).toEqual([a]);
    expect(await e.folds(s, "bo")).toEqual([]);
    const ana = await e.view(s, doc.oid, { user: "ana" });
    expect(ana.rows.map((r) => [r.content, r.folded])).toEqual([["A", true], ["B", false]]);
    expect(ana.total).toBe(2);
    expect((await e.view(s, doc.oid, { user: "bo" })).total).toBe(4);
    expect(await e.scrollTo(s, doc.oid, (await e.children(s, a!))[1]!.oid, 2)).toBe(1);
    expect(await e.rowIndex(s, doc.oid, (await e.children(s, a!))[0]!.oid, { user: "ana" })).toBe(-1);
    await e.setFolded(s, "ana", a!, false);
    expect((await e.view(s, doc.oid, { user: "ana" })).total).toBe(4);
    await expect(e.setFolded(s, "", a!, true)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(e.view(s, doc.oid, { limit: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
