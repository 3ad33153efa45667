/**
 * Subtree snapshots (engine/subtree-snapshot.ts): the rows one version of one subtree reaches,
 * loaded into an empty space of another database, read there as that version reads on the
 * exporter (same vids, rows, statistics and history up to it) and stay editable.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { Engine, SnapshotFrame } from "../index.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";
import { lcg, randomEdits } from "./helpers/random-edits.js";

async function collect(gen: AsyncIterable<SnapshotFrame>): Promise<SnapshotFrame[]> {
  const out: SnapshotFrame[] = [];
  for await (const f of gen) out.push(f);
  return out;
}

/** Every row of a subtree version, as a reader sees it. */
async function rowsOf(e: Engine, s: string, oid: string, vid?: string) {
  const { rows } = await e.view(s, oid, { limit: 10_000, ...(vid === undefined ? {} : { vid }) });
  return rows.map((r) => [r.oid, r.vid, r.depth, r.content, r.props, r.stats]);
}

/** The ops of an objective's history (every page), oldest last. */
async function historyOf(e: Engine, s: string, oid: string) {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await e.history(s, oid, { limit: 200, ...(cursor === undefined ? {} : { cursor }) });
    out.push(...page.ops.map((o) => o.opId));
    cursor = page.next;
  } while (cursor);
  return out;
}

describe.each(await usableBackends())("subtree snapshots on $name", (backend) => {
  const opened: Fresh[] = [];
  const fresh = async (options: { actor?: string } = {}) => {
    const f = await backend.fresh(options);
    opened.push(f);
    return f;
  };
  let a: Engine;
  let b: Engine;
  beforeAll(async () => {
    a = (await fresh()).engine;
    b = (await fresh()).engine;
  });
  afterAll(async () => {
    for (const f of opened) await f.release();
  });

  it("random versions of random subtrees load elsewhere and read as on the exporter, history included", async () => {
    const { spaceId: s } = await a.createSpace();
    const doc = (await a.createDocument(s, { content: "doc" })).oid;
    // 150 children: the document's children list is stored in chunks.
    await a.importTree(s, { parentOid: doc, nodes: Array.from({ length: 150 }, (_, i) => ({ content: `row ${i}`, children: [{ content: `under ${i}`, children: [{ content: `deep ${i}` }] }] })) });
    const rand = lcg(11);
    let checked = 0;
    for (let round = 0; round < 8; round++) {
      // Moves, removals, restores and checkouts between them: versions link older ones, rows leave and come back.
      await randomEdits(a, s, [doc], rand, 25);
      const { rows } = await a.view(s, doc, { limit: 10_000 });
      const pick = round === 0 ? doc : rows[Math.floor(rand() * rows.length)]!.oid;
      const versions = (await a.versions(s, pick, { limit: 1000 })).versions;
      const picked = versions[Math.floor(rand() * versions.length)]!;
      const vid = picked.vid;
      const frames = await collect(a.exportSubtree(s, pick, vid));
      expect(frames[0]).toMatchObject({ t: "head", subtree: { oid: pick, vid } });
      const copy = randomUUID();
      const loaded = await b.loadSnapshot(copy, frames);
      expect(loaded.rows).toBe((frames.at(-1) as { rows: number }).rows);

      const root = await b.get(copy, pick);
      expect(root.vid).toBe(vid);
      expect(root.parentOid).toBeNull();
      expect(await b.documents(copy)).toEqual([expect.objectContaining({ oid: pick, vid })]);
      const copied = await rowsOf(b, copy, pick);
      expect(copied).toEqual(await rowsOf(a, s, pick, vid));
      // Every row shown is found and read by its oid there too.
      for (const r of copied) expect((await b.get(copy, r[0] as string)).vid).toBe(r[1]);
      // The root's history is the exporter's up to that version: newer ops did not travel.
      const full = await historyOf(a, s, pick);
      const upTo = full.indexOf(picked.opId);
      expect(upTo).toBeGreaterThanOrEqual(0);
      expect(await historyOf(b, copy, pick)).toEqual(full.slice(upTo));
      // Every older version of the subtree reads there too (the copy holds its history whole), and
      // nothing travelled that none of them holds.
      const inside = new Set([pick]);
      const older = versions.slice(versions.indexOf(picked));
      for (const v of older.slice(0, 40)) {
        const there = await rowsOf(a, s, pick, v.vid);
        expect(await rowsOf(b, copy, pick, v.vid)).toEqual(there);
        for (const r of there) inside.add(r[0] as string);
      }
      if (older.length <= 40) {
        const sent = new Set(frames.flatMap((f) => (f.t === "version" ? f.rows.map((r) => r[0] as string) : [])));
        expect([...sent].sort()).toEqual([...inside].sort());
      }

      // Any row shown is edited there.
      const any = copied[Math.floor(rand() * copied.length)];
      if (any) expect((await b.update(copy, any[0] as string, { content: "edited in the copy" })).content).toBe("edited in the copy");
      // And checks out offline: the root takes its oldest version's tree again.
      const oldest = older.at(-1)!;
      if (oldest.vid !== vid) {
        await b.checkout(copy, pick, oldest.vid);
        expect(await rowsOf(b, copy, pick)).toEqual(await rowsOf(a, s, pick, oldest.vid));
      }
      // The copy is a document of its own, editable: a new version on the root, nothing else moves.
      const docVid = (await a.get(s, doc)).vid;
      const kid = (await b.create(copy, { parentOid: pick, index: 0, content: "added in the copy" })).oid;
      expect((await b.get(copy, pick)).vid).not.toBe(vid);
      expect((await b.get(copy, kid)).content).toBe("added in the copy");
      expect((await a.get(s, doc)).vid).toBe(docVid);
      checked++;
    }
    expect(checked).toBe(8);
  });

  it("an objective a checkout above put back is found and edited in the copy, though no op of the copy says so", async () => {
    const { spaceId: s } = await a.createSpace();
    const d = (await a.createDocument(s, { content: "d" })).oid;
    const A = (await a.create(s, { parentOid: d, content: "A" })).oid;
    const z = (await a.create(s, { parentOid: A, content: "z" })).oid;
    const y = (await a.create(s, { parentOid: A, index: 1, content: "y" })).oid;
    const before = (await a.get(s, d)).vid;
    // y's newest version lives under z; the checkout of d above A puts its older one back under A.
    await a.move(s, y, { parentOid: z, index: 0 });
    await a.checkout(s, d, before);
    await a.update(s, A, { content: "A again" });
    const copy = randomUUID();
    await b.loadSnapshot(copy, a.exportSubtree(s, A, (await a.get(s, A)).vid));
    expect((await rowsOf(b, copy, A)).map((r) => r[0])).toEqual([z, y]);
    expect((await b.get(copy, y)).parentOid).toBe(A);
    expect((await b.update(copy, y, { content: "y in the copy" })).content).toBe("y in the copy");
  });

  it("sends what the subtree's versions reached, not what its objectives reached while elsewhere", async () => {
    const { spaceId: s } = await a.createSpace();
    const d = (await a.createDocument(s, { content: "d" })).oid;
    const A = (await a.create(s, { parentOid: d, content: "A" })).oid;
    const x = (await a.create(s, { parentOid: A, content: "x" })).oid;
    const secret = (await a.createDocument(s, { content: "secret" })).oid;
    await a.move(s, x, { parentOid: secret, index: 0 });
    const k = (await a.create(s, { parentOid: x, content: "k, made in the secret document" })).oid;
    await a.move(s, k, { parentOid: secret, index: 0 });
    await a.move(s, x, { parentOid: A, index: 0 });
    const vid = (await a.get(s, A)).vid;
    // k never was in A: hiding it refuses nothing, and none of its rows travels.
    const frames = await collect(a.exportSubtree(s, A, vid, { hidden: new Set([k, secret]) }));
    const sent = frames.flatMap((f) => (f.t === "version" ? f.rows.map((r) => r[0] as string) : []));
    expect(new Set(sent)).toEqual(new Set([A, x]));
    const copy = randomUUID();
    await b.loadSnapshot(copy, frames);
    expect((await rowsOf(b, copy, A)).map((r) => r[0])).toEqual([x]);
  });

  it("the copy is its loader's: the exporter's authors get no role there, an acting loader manages it", async () => {
    const alice = a.as("alice");
    const { spaceId: s } = await alice.createSpace();
    const d = (await alice.createDocument(s, { content: "alice's" })).oid;
    await alice.create(s, { parentOid: d, content: "row" });
    const bob = (await fresh({ actor: "bob" })).engine;
    const copy = randomUUID();
    await bob.loadSnapshot(copy, a.exportSubtree(s, d, (await a.get(s, d)).vid));
    expect(await bob.accessOf(copy, "alice")).toMatchObject({ member: false });
    expect(await bob.accessOf(copy, "bob")).toMatchObject({ member: true, readsAll: true });
    expect((await bob.create(copy, { parentOid: d, content: "bob's row" })).content).toBe("bob's row");
  });

  it("refuses a bad vid, an unknown version and a subtree holding a hidden objective, loading nothing", async () => {
    const { spaceId: s } = await a.createSpace();
    const doc = (await a.createDocument(s, { content: "doc" })).oid;
    const kid = (await a.create(s, { parentOid: doc, index: 0, content: "kid" })).oid;
    const vid = (await a.get(s, doc)).vid;
    await expect(collect(a.exportSubtree(s, doc, "not a vid"))).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("not a vid") });
    // The kid's vid is no version of the document.
    const kidVid = (await a.get(s, kid)).vid;
    await expect(collect(a.exportSubtree(s, doc, kidVid))).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining(kidVid) });
    await expect(collect(a.exportSubtree(s, doc, vid, { hidden: new Set([kid]) }))).rejects.toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining(kid) });
    // The same export without the hidden one goes through; a second load into the now full space is CONFLICT.
    const copy = randomUUID();
    await b.loadSnapshot(copy, await collect(a.exportSubtree(s, doc, vid)));
    await expect(b.loadSnapshot(copy, await collect(a.exportSubtree(s, doc, vid)))).rejects.toMatchObject({ code: "CONFLICT" });
  });
});
