import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineError, newOid, openEngine, StorageError, pglite, type Engine, type ImportEvent, type Objective, type Storage } from "../index.js";
import { serverStorage, usableBackends, type Fresh } from "./helpers/backends.js";
import { latestVersion } from "../storage/migrations.js";
import type { ChunkRef, KidsNode } from "../engine/children-tree.js";
import { decodeNode } from "../engine/format/chunk.js";
import { b64, unpack } from "../engine/format/codec.js";
import { decodeBody } from "../engine/format/rows.js";

async function rejects(p: Promise<unknown>, code: string, text?: string | RegExp): Promise<EngineError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(EngineError);
  expect((error as EngineError).code).toBe(code);
  if (text) expect((error as EngineError).message).toMatch(text);
  return error as EngineError;
}

/** Contents of the active subtree as nested arrays: ["A", ["A1"]], easy to compare. */
async function tree(engine: Engine, spaceId: string, oid: string): Promise<unknown[]> {
  const kids = await engine.children(spaceId, oid);
  const out: unknown[] = [];
  for (const k of kids) {
    out.push(k.content);
    if (k.childCount > 0) out.push(await tree(engine, spaceId, k.oid));
  }
  return out;
}

const TABLES = ["version", "chunk", "op", "document"] as const;


/** Chunks that no version record's children root or other chunk refers to. */
async function unreachableChunks(fresh: Fresh): Promise<number> {
  const chunks = await fresh.sql<{ chunk_id: Uint8Array; node: Uint8Array }>("select chunk_id, node from chunk");
  const referred = new Set<string>();
  const refer = (node: KidsNode) => {
    if ("i" in node) for (const r of node.i) referred.add(r[0]);
  };
  for (const c of chunks) refer(decodeNode(unpack(c.node)));
  for (const row of await fresh.sql<{ body: Uint8Array }>("select body from version")) {
    for (const r of decodeBody(row.body)) {
      if (r.kind === "image") refer(r.state.kids);
      if (r.kind === "delta" && r.delta.kids) refer("node" in r.delta.kids ? r.delta.kids.node : { i: r.delta.kids.items.filter((x) => typeof x[1] === "string") as ChunkRef[] });
    }
  }
  return chunks.filter((c) => !referred.has(b64(c.chunk_id))).length;
}

async function counts(fresh: Fresh): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = (await fresh.sql<{ n: number }>(`select count(*)::int8 as n from ${t}`))[0]!.n;
  // Version records: a row is a segment that later records are appended to.
  out["records"] = 0;
  for (const row of await fresh.sql<{ body: Uint8Array }>("select body from version")) out["records"] += decodeBody(row.body).length;
  return out;
}

describe.each(await usableBackends())("engine on $name", (backend) => {
  let fresh: Fresh;
  let e: Engine;
  beforeAll(async () => {
    fresh = await backend.fresh();
    e = fresh.engine;
  });
  afterAll(async () => fresh?.release());

  async function outline() {
    const { spaceId } = await e.createSpace();
    const doc = await e.createDocument(spaceId, { content: "Plan" });
    const a = await e.create(spaceId, { parentOid: doc.oid, content: "A" });
    const b = await e.create(spaceId, { parentOid: doc.oid, content: "B" });
    const a1 = await e.create(spaceId, { parentOid: a.oid, content: "A1", props: { done: false } });
    const a2 = await e.create(spaceId, { parentOid: a.oid, content: "A2", props: { done: true } });
    return { s: spaceId, doc, a, b, a1, a2 };
  }

  it("creates documents and objectives with depth, path and stats", async () => {
    const { s, doc, a, a1 } = await outline();
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A1", "A2"], "B"]);
    const got = await e.get(s, a1.oid);
    expect(got).toMatchObject({ content: "A1", parentOid: a.oid, depth: 2, path: [doc.oid, a.oid], props: { done: false } });
    const root = await e.get(s, doc.oid);
    expect(root.stats).toEqual({ descendants: 4, total: 2, done: 1, percent: 50 });
    expect(root.childCount).toBe(2);
    expect((await e.get(s, a.oid)).stats).toEqual({ descendants: 2, total: 2, done: 1, percent: 50 });
  });

  it("reads a subtree down to a depth, of any version, a level at a time", async () => {
    const { s, doc, a, a1 } = await outline();
    const before = await e.get(s, doc.oid);
    await e.create(s, { parentOid: a1.oid, content: "A1a" });
    await e.update(s, a.oid, { content: "A!" });
    const shape = (rows: readonly { content: string; level: number }[]) => rows.map((r) => `${r.level}:${r.content}`);
    expect(shape(await e.subtree(s, doc.oid, { depth: 1 }))).toEqual(["0:A!", "0:B"]);
    expect(shape(await e.subtree(s, doc.oid, { depth: 2 }))).toEqual(["0:A!", "1:A1", "1:A2", "0:B"]);
    expect(shape(await e.subtree(s, doc.oid, { depth: 9 }))).toEqual(["0:A!", "1:A1", "2:A1a", "1:A2", "0:B"]);
    expect(shape(await e.subtree(s, doc.oid, { depth: 9, vid: before.vid }))).toEqual(["0:A", "1:A1", "1:A2", "0:B"]);
    const rows = await e.subtree(s, a.oid, { depth: 1 });
    expect(rows.map((r) => [r.content, r.childCount, r.stats.descendants])).toEqual([["A1", 1, 1], ["A2", 0, 0]]);
    expect(rows[0]!.vid).toBe((await e.get(s, a1.oid)).vid);
    await rejects(e.subtree(s, doc.oid, { depth: 0 }), "INVALID_ARGUMENT", /depth must be a positive integer, got 0/);
    await rejects(e.subtree(s, doc.oid, { depth: 1, vid: "nope" }), "INVALID_ARGUMENT");
  });

  it("inserts at an index and rejects bad ones", async () => {
    const { s, doc } = await outline();
    await e.create(s, { parentOid: doc.oid, index: 0, content: "first" });
    await e.create(s, { parentOid: doc.oid, index: 2, content: "middle" });
    expect((await e.children(s, doc.oid)).map((o) => o.content)).toEqual(["first", "A", "middle", "B"]);
    await rejects(e.create(s, { parentOid: doc.oid, index: 5, content: "x" }), "INVALID_ARGUMENT", /index must be an integer from 0 to 4, got 5/);
    await rejects(e.create(s, { parentOid: doc.oid, index: -1, content: "x" }), "INVALID_ARGUMENT", /got -1/);
    await rejects(e.create(s, { parentOid: doc.oid, index: 1.5, content: "x" }), "INVALID_ARGUMENT", /got 1.5/);
  });

  it("promotes an update to every ascendant and shares unchanged siblings", async () => {
    const { s, doc, a, b, a1, a2 } = await outline();
    const before = { doc: await e.get(s, doc.oid), a: await e.get(s, a.oid), b: await e.get(s, b.oid), a2: await e.get(s, a2.oid) };
    const updated = await e.update(s, a1.oid, { content: "A1!", props: { done: true, tag: "x" } });
    expect(updated.vid).not.toBe(a1.vid);
    expect((await e.get(s, a.oid)).vid).not.toBe(before.a.vid);
    expect((await e.get(s, doc.oid)).vid).not.toBe(before.doc.vid);
    expect((await e.get(s, b.oid)).vid).toBe(before.b.vid);
    expect((await e.get(s, a2.oid)).vid).toBe(before.a2.vid);
    expect((await e.get(s, doc.oid)).stats).toMatchObject({ done: 2, total: 2, percent: 100 });
    // The old versions keep their own statistics forever.
    expect((await e.get(s, doc.oid, { vid: before.doc.vid })).stats).toMatchObject({ done: 1, total: 2, percent: 50 });
    expect((await e.get(s, a1.oid, { vid: a1.vid })).content).toBe("A1");
  });

  it("merges props patches; null deletes a key; a no-op patch writes nothing", async () => {
    const { s, a1 } = await outline();
    await e.update(s, a1.oid, { props: { tag: "x", n: 1 } });
    const merged = await e.update(s, a1.oid, { props: { n: null, m: [1, { k: "v" }] } });
    expect(merged.props).toEqual({ done: false, tag: "x", m: [1, { k: "v" }] });
    const before = await counts(fresh);
    const same = await e.update(s, a1.oid, { content: "A1", props: { tag: "x" } });
    expect(same.vid).toBe(merged.vid);
    expect(await counts(fresh)).toEqual(before);
  });

  it("moves and reorders, counting the index without the moved objective", async () => {
    const { s, doc, a, b, a1, a2 } = await outline();
    await e.move(s, a2.oid, { parentOid: a.oid, index: 0 });
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A2", "A1"], "B"]);
    await e.move(s, a2.oid, { parentOid: a.oid, index: 1 });
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A1", "A2"], "B"]);
    const moved = await e.move(s, a1.oid, { parentOid: b.oid });
    expect(moved).toMatchObject({ parentOid: b.oid, depth: 2, path: [doc.oid, b.oid] });
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A2"], "B", ["A1"]]);
    expect((await e.get(s, a.oid)).stats.descendants).toBe(1);
    expect((await e.get(s, b.oid)).stats).toMatchObject({ descendants: 1, total: 1, done: 0 });
    await e.move(s, b.oid, { parentOid: doc.oid, index: 0 });
    expect(await tree(e, s, doc.oid)).toEqual(["B", ["A1"], "A", ["A2"]]);
  });

  it("rejects cycles and root moves without writing", async () => {
    const { s, doc, a, a1 } = await outline();
    const before = await counts(fresh);
    await rejects(e.move(s, a.oid, { parentOid: a1.oid }), "CYCLE", new RegExp(a.oid));
    await rejects(e.move(s, a.oid, { parentOid: a.oid }), "CYCLE");
    await rejects(e.move(s, doc.oid, { parentOid: a.oid }), "INVALID_ARGUMENT", /document root/);
    await rejects(e.move(s, a1.oid, { parentOid: a.oid, index: 2 }), "INVALID_ARGUMENT", /from 0 to 1/);
    expect(await counts(fresh)).toEqual(before);
  });

  it("moves across documents", async () => {
    const { s, doc, a } = await outline();
    const other = await e.createDocument(s, { content: "Other" });
    await e.move(s, a.oid, { parentOid: other.oid });
    expect(await tree(e, s, doc.oid)).toEqual(["B"]);
    expect(await tree(e, s, other.oid)).toEqual(["A", ["A1", "A2"]]);
    expect((await e.get(s, other.oid)).stats.descendants).toBe(3);
    expect((await e.get(s, doc.oid)).stats.descendants).toBe(1);
  });

  it("removes a subtree from the active tree and keeps its versions", async () => {
    const { s, doc, a, a1 } = await outline();
    await e.remove(s, a.oid);
    expect(await tree(e, s, doc.oid)).toEqual(["B"]);
    await rejects(e.get(s, a1.oid), "NOT_FOUND", /removed/);
    await rejects(e.update(s, a1.oid, { content: "x" }), "NOT_FOUND", new RegExp(a1.oid));
    expect((await e.get(s, a1.oid, { vid: a1.vid })).content).toBe("A1");
    expect((await e.get(s, doc.oid)).stats).toEqual({ descendants: 1, total: 0, done: 0, percent: 0 });
    expect((await e.history(s, doc.oid)).ops[0]).toMatchObject({ kind: "remove", oid: a.oid });
  });

  it("restores a removed subtree where it was, leaving every later edit alone", async () => {
    const { s, doc, a, b, a1 } = await outline();
    const before = await e.get(s, a.oid);
    await e.remove(s, a.oid);
    await e.update(s, b.oid, { content: "B later" });
    const c = await e.create(s, { parentOid: doc.oid, index: 0, content: "C" });
    const back = await e.restore(s, a.oid);
    expect(back).toMatchObject({ oid: a.oid, content: "A", parentOid: doc.oid, depth: 1, childCount: 2 });
    expect(back.vid).not.toBe(before.vid);
    expect(await tree(e, s, doc.oid)).toEqual(["C", "A", ["A1", "A2"], "B later"]);
    expect((await e.get(s, a1.oid)).vid).toBe(a1.vid);
    expect((await e.get(s, doc.oid)).stats).toEqual({ descendants: 5, total: 2, done: 1, percent: 50 });
    expect((await e.history(s, a.oid)).ops.slice(0, 2).map((o) => o.kind)).toEqual(["restore", "remove"]);
    // Undo of the restore is a removal again; then it can go back under another parent.
    await e.remove(s, a.oid);
    await e.restore(s, a.oid, { parentOid: c.oid });
    expect(await tree(e, s, doc.oid)).toEqual(["C", ["A", ["A1", "A2"]], "B later"]);
    expect((await e.get(s, a.oid)).path).toEqual([doc.oid, c.oid]);
  });

  it("restores a subtree without what a checkout brought back elsewhere since, and keeps it there", async () => {
    const { s, doc, a, b, a1 } = await outline();
    const q = await e.create(s, { parentOid: doc.oid, content: "Q" });
    const c = await e.create(s, { parentOid: q.oid, content: "C" });
    const qBefore = await e.get(s, q.oid);
    await e.move(s, c.oid, { parentOid: a.oid, index: 0 });
    await e.remove(s, a.oid);
    // Q back to when it held C: C was removed with A, so it comes back under Q.
    await e.checkout(s, q.oid, qBefore.vid);
    expect(await tree(e, s, q.oid)).toEqual(["C"]);
    const back = await e.restore(s, a.oid);
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A1", "A2"], "B", "Q", ["C"]]);
    expect(back.stats.descendants).toBe(2);
    expect((await e.get(s, c.oid)).parentOid).toBe(q.oid);
    expect((await e.get(s, a1.oid)).vid).toBe(a1.vid);
    expect((await e.get(s, b.oid)).vid).toBe(b.vid);
    // Removing and restoring again is the same again.
    await e.remove(s, a.oid);
    await e.restore(s, a.oid);
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A1", "A2"], "B", "Q", ["C"]]);
  });

  it("what a checkout brings back is found where it came back to, by a later restore too", async () => {
    const { s, doc } = await outline();
    const x = await e.create(s, { parentOid: doc.oid, content: "X" });
    const z = await e.create(s, { parentOid: doc.oid, content: "Z" });
    const y = await e.create(s, { parentOid: x.oid, content: "Y" });
    const d = await e.create(s, { parentOid: y.oid, content: "D" });
    const xWithD = await e.get(s, x.oid);
    await e.move(s, d.oid, { parentOid: z.oid });
    const zWithD = await e.get(s, z.oid);
    await e.remove(s, d.oid);
    // D comes back under Y (its newest row said Z); then X leaves and Z takes D back.
    await e.checkout(s, x.oid, xWithD.vid);
    expect((await e.get(s, d.oid)).path).toEqual([doc.oid, x.oid, y.oid]);
    await e.remove(s, x.oid);
    await e.checkout(s, z.oid, zWithD.vid);
    // X comes back without D, which lives under Z now: never in two places.
    await e.restore(s, x.oid);
    expect(await tree(e, s, x.oid)).toEqual(["Y"]);
    expect(await tree(e, s, z.oid)).toEqual(["D"]);
    expect((await e.get(s, x.oid)).stats.descendants).toBe(1);
  });

  it("a restore does not bring back what a checkout brought back elsewhere while it was removed", async () => {
    const { s, doc } = await outline();
    const p = await e.create(s, { parentOid: doc.oid, content: "P" });
    const d = await e.create(s, { parentOid: p.oid, content: "D" });
    const pa = await e.get(s, p.oid);
    const x = await e.create(s, { parentOid: p.oid, content: "X" });
    await e.move(s, d.oid, { parentOid: x.oid });
    await e.remove(s, x.oid);
    await e.checkout(s, p.oid, pa.vid); // D comes back right under P (it was last in X, removed)
    await e.restore(s, x.oid);
    expect(await tree(e, s, p.oid)).toEqual(["D", "X"]);
    expect((await e.get(s, p.oid)).stats.descendants).toBe(2);
  });

  it("a checkout brings back what moved into an objective removed since, and a restore of that one leaves it there", async () => {
    const { s, doc } = await outline();
    const n1 = await e.create(s, { parentOid: doc.oid, content: "N1", index: 0 });
    await e.remove(s, n1.oid);
    const n2 = await e.create(s, { parentOid: doc.oid, content: "N2", index: 0 });
    const before = await e.get(s, doc.oid);
    await e.restore(s, n1.oid);
    await e.move(s, n2.oid, { parentOid: n1.oid }); // a move inside the document: no lost list names it
    await e.remove(s, n1.oid); // N2 leaves the tree inside N1
    await e.checkout(s, doc.oid, before.vid); // N2 comes back where it was
    await e.restore(s, n1.oid); // N1 comes back without N2, which lives elsewhere now
    const now = await tree(e, s, doc.oid);
    expect(now.filter((c) => c === "N2")).toHaveLength(1);
    expect(now.slice(0, 2)).toEqual(["N2", "N1"]);
    expect((await e.get(s, n1.oid)).childCount).toBe(0);
    expect((await e.get(s, doc.oid)).stats.descendants).toBe(before.stats.descendants + 1);
  });

  it("finds an objective in an old version when a move within its parent followed a checkout that brought it back", async () => {
    const { spaceId: s } = await e.createSpace();
    const d0 = (await e.createDocument(s, { content: "doc0" })).oid;
    const n1 = (await e.create(s, { parentOid: d0, index: 0, content: "a" })).oid;
    const n2 = (await e.create(s, { parentOid: n1, content: "a", props: { done: true, tag: "x" } })).oid;
    await e.move(s, n2, { parentOid: d0, index: 0 });
    const v3 = (await e.get(s, d0)).vid;
    await e.move(s, n2, { parentOid: n1 });
    await e.remove(s, n1);
    await e.checkout(s, d0, v3); // N2 back under the document, at an older version of it
    // A reorder under the same parent: its record names the new key only, against that older version.
    await e.move(s, n2, { parentOid: d0 });
    const v7 = (await e.get(s, d0)).vid;
    await e.move(s, n2, { parentOid: n1 });
    const n1v4 = (await e.get(s, n1)).vid;
    await e.remove(s, n1);
    await e.restore(s, n1);
    await e.remove(s, n1);
    // N2 comes back under the document as in v7 (found there, so N1 is told it left)...
    await e.checkout(s, d0, v7);
    // ...so N1's version that held it brings N1 back without it.
    await e.checkout(s, n1, n1v4);
    expect((await e.children(s, d0)).map((c) => c.oid)).toEqual([n1, n2]);
    expect((await e.get(s, n1)).childCount).toBe(0);
    expect((await e.get(s, d0)).stats.descendants).toBe(2);
  });

  it("a checkout of an objective a checkout brought back at an older version finds what left it", async () => {
    const { s, doc } = await outline();
    const p = await e.create(s, { parentOid: doc.oid, content: "P" });
    const x = await e.create(s, { parentOid: p.oid, content: "X" });
    const p1 = await e.get(s, p.oid);
    const eo = await e.create(s, { parentOid: p.oid, content: "E" });
    const p2 = await e.get(s, p.oid);
    await e.move(s, eo.oid, { parentOid: x.oid });
    const x2 = await e.get(s, x.oid);
    await e.remove(s, x.oid);
    await e.checkout(s, p.oid, p1.vid); // X back at its version without E
    await e.checkout(s, p.oid, p2.vid); // E back right under P
    await e.checkout(s, x.oid, x2.vid); // X's version with E: E lives under P now and stays there
    expect(await tree(e, s, p.oid)).toEqual(["X", "E"]);
    expect((await e.get(s, p.oid)).stats.descendants).toBe(2);
  });

  it("refuses to restore what is active, never existed, or left with an ascendant, and names it", async () => {
    const { s, doc, a, a1 } = await outline();
    await rejects(e.restore(s, a.oid), "INVALID_ARGUMENT", new RegExp(`${a.oid} is in the active tree`));
    await rejects(e.restore(s, newOid()), "NOT_FOUND", /does not exist/);
    await e.remove(s, a.oid);
    await rejects(e.restore(s, a1.oid), "INVALID_ARGUMENT", new RegExp(`${a1.oid} is not removed`));
    await rejects(e.restore(s, a.oid, { parentOid: a1.oid }), "NOT_FOUND", new RegExp(a1.oid));
    await rejects(e.restore(s, a.oid, { parentOid: doc.oid, index: 5 }), "INVALID_ARGUMENT", /5/);
    // A removed document comes back as a document, never under a row.
    const other = await e.createDocument(s, { content: "Other" });
    await e.remove(s, other.oid);
    await rejects(e.restore(s, other.oid, { parentOid: doc.oid }), "INVALID_ARGUMENT", new RegExp(`${other.oid} is a removed document`));
    await e.restore(s, other.oid);
    // Its last parent gone too: it says so, and a destination still works.
    const o = await e.create(s, { parentOid: doc.oid, content: "O" });
    const x = await e.create(s, { parentOid: o.oid, content: "X" });
    await e.remove(s, x.oid);
    await e.remove(s, o.oid);
    await rejects(e.restore(s, x.oid), "NOT_FOUND", new RegExp(`its parent ${o.oid}`));
    await e.restore(s, x.oid, { parentOid: doc.oid, index: 0 });
    expect(await tree(e, s, doc.oid)).toEqual(["X", "B"]);
  });

  it("restores a removed document, and cuts out what of it lives elsewhere now", async () => {
    const { s, doc, a, b, a1 } = await outline();
    const other = await e.createDocument(s, { content: "Other" });
    const keep = await e.get(s, doc.oid);
    await e.move(s, a1.oid, { parentOid: other.oid });
    const moved = await e.get(s, doc.oid);
    await e.remove(s, doc.oid);
    expect((await e.documents(s)).map((d) => d.oid)).toEqual([other.oid].sort());
    await e.restore(s, doc.oid);
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A2"], "B"]);
    expect((await e.get(s, doc.oid)).vid).not.toBe(moved.vid);
    expect((await e.documents(s)).map((d) => d.oid).sort()).toEqual([doc.oid, other.oid].sort());
    // A checkout of the restored document to before the move brings A1 back only where it is not.
    await e.checkout(s, doc.oid, keep.vid);
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A2"], "B"]);
    expect(await tree(e, s, other.oid)).toEqual(["A1"]);
    expect((await e.get(s, b.oid)).parentOid).toBe(doc.oid);
    expect((await e.get(s, a.oid)).childCount).toBe(1);
  });

  it("checks out a subtree without touching anything else, and stays editable", async () => {
    const { s, doc, a, b, a1 } = await outline();
    const old = await e.get(s, a.oid);
    await e.update(s, a1.oid, { content: "A1 changed", props: { done: true } });
    await e.create(s, { parentOid: a.oid, content: "A3" });
    await e.update(s, b.oid, { content: "B changed" });
    const bBefore = await e.get(s, b.oid);
    const out = await e.checkout(s, a.oid, old.vid);
    expect(out.vid).not.toBe(old.vid);
    expect(out.content).toBe("A");
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A1", "A2"], "B changed"]);
    expect((await e.get(s, b.oid)).vid).toBe(bBefore.vid);
    expect((await e.get(s, doc.oid)).stats).toEqual({ descendants: 4, total: 2, done: 1, percent: 50 });
    // Editable at once; edits build on the checked-out version.
    await e.update(s, a1.oid, { content: "A1 again" });
    await e.create(s, { parentOid: a1.oid, content: "deep" });
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A1 again", ["deep"], "A2"], "B changed"]);
    const ops = (await e.history(s, a.oid)).ops.map((o) => o.kind);
    expect(ops.slice(0, 3)).toEqual(["create", "update", "checkout"]);
  });

  it("keeps an objective that moved out since the target where it is now", async () => {
    const { s, doc, a, b, a1 } = await outline();
    const old = await e.get(s, a.oid);
    await e.move(s, a1.oid, { parentOid: b.oid });
    await e.checkout(s, a.oid, old.vid);
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A2"], "B", ["A1"]]);
    expect((await e.get(s, a.oid)).stats.descendants).toBe(1);
    expect((await e.get(s, a1.oid)).parentOid).toBe(b.oid);
  });

  it("a checkout leaves out what moved elsewhere since, also inside another objective, or with the same position key", async () => {
    const { spaceId: s } = await e.createSpace();
    const d0 = await e.createDocument(s, { content: "d0" });
    const d1 = await e.createDocument(s, { content: "d1" });
    const n2 = await e.create(s, { parentOid: d0.oid, index: 0, content: "n2" });
    const n3 = await e.create(s, { parentOid: d0.oid, index: 0, content: "n3" });
    const both = (await e.get(s, d0.oid)).vid; // d0: n3, n2
    await e.move(s, n3.oid, { parentOid: n2.oid, index: 0 }); // inside d0 still
    await e.move(s, n2.oid, { parentOid: d1.oid, index: 0 }); // n3 leaves d0 inside n2
    await e.checkout(s, d0.oid, both);
    // Both live in d1 now: the checkout of d0 shows neither, and d1 is untouched.
    expect(await e.children(s, d0.oid)).toEqual([]);
    expect((await e.children(s, d1.oid)).map((o) => o.oid)).toEqual([n2.oid]);
    expect((await e.children(s, n2.oid)).map((o) => o.oid)).toEqual([n3.oid]);
    expect((await e.get(s, n3.oid)).path).toEqual([d1.oid, n2.oid]);

    // A move that keeps the position key (the first child of another parent): found after a checkout.
    const a = await e.create(s, { parentOid: d1.oid, index: 0, content: "a" });
    await e.move(s, a.oid, { parentOid: d0.oid, index: 0 });
    const withA = (await e.get(s, d0.oid)).vid;
    const b = await e.create(s, { parentOid: d0.oid, content: "b" });
    await e.move(s, a.oid, { parentOid: d0.oid, index: 1 }); // after b
    await e.checkout(s, d0.oid, withA);
    expect((await e.children(s, d0.oid)).map((o) => o.oid)).toEqual([a.oid]);
    await e.move(s, a.oid, { parentOid: d1.oid, index: 0 });
    expect((await e.get(s, a.oid)).path).toEqual([d1.oid]);
    expect(b.oid).toBeDefined();
  });

  it("brings a removed subtree back with a checkout of its parent, and undoes the checkout", async () => {
    const { s, doc, a, a1 } = await outline();
    await e.create(s, { parentOid: a1.oid, content: "A1a" });
    const before = await e.get(s, doc.oid);
    await e.remove(s, a.oid);
    const removed = await e.get(s, doc.oid);
    await e.checkout(s, doc.oid, before.vid);
    expect(await tree(e, s, doc.oid)).toEqual(["A", ["A1", ["A1a"], "A2"], "B"]);
    expect((await e.get(s, doc.oid)).stats).toEqual(before.stats);
    await e.update(s, a1.oid, { content: "A1 edited after restore" });
    expect((await e.get(s, a1.oid)).depth).toBe(2);
    // Undo of the checkout is a checkout of the version before it.
    await e.checkout(s, doc.oid, removed.vid);
    expect(await tree(e, s, doc.oid)).toEqual(["B"]);
    await rejects(e.get(s, a1.oid), "NOT_FOUND");
  });

  it("a checkout that brings removed objectives back walks no chain of the active tree to find them", async () => {
    // An engine on storage whose statements are recorded, with their parameters.
    const { storage, release } = await serverStorage(backend.name);
    const statements: { sql: string; params: readonly unknown[] }[] = [];
    const wrap = <Q extends { query: Storage["query"] }>(q: Q): Q =>
      ({ ...q, query: (sql: string, params: readonly unknown[] = []) => (statements.push({ sql, params }), q.query(sql, params)) }) as Q;
    const recorded: Storage = { ...wrap(storage), kind: storage.kind, transaction: (fn) => storage.transaction((tx) => fn(wrap(tx))), close: async () => {} };
    const r = await openEngine({ storage: { kind: storage.kind, open: async () => recorded } });
    try {
      const { spaceId: s } = await r.createSpace();
      const doc = await r.createDocument(s, { content: "doc" });
      const kept = await r.create(s, { parentOid: doc.oid, content: "kept" });
      const gone: Objective[] = [];
      for (let i = 0; i < 3; i++) gone.push(await r.create(s, { parentOid: i === 2 ? gone[0]!.oid : doc.oid, content: `gone ${i}` }));
      await r.create(s, { parentOid: gone[1]!.oid, content: "under gone 1" });
      const before = await r.get(s, doc.oid);
      await r.remove(s, gone[1]!.oid);
      await r.remove(s, gone[2]!.oid);
      await r.remove(s, gone[0]!.oid);
      await r.move(s, kept.oid, { parentOid: doc.oid, index: 0 });
      statements.length = 0;
      await r.checkout(s, doc.oid, before.vid);
      // Their newest records remove them: active nowhere, no walk up the active tree (a null
      // seq bound) to learn it; the target's tree is still searched for their places in it.
      const walks = statements.filter((q) => q.sql.includes("logbook_chains"));
      expect(walks.filter((q) => q.params[2] === null)).toEqual([]);
      expect(walks.length).toBeGreaterThan(0);
      // Their newest rows came with what the rounds read about them: the whole checkout is the
      // lock, the op's id check, a read per round, the walk in the target, and the append.
      expect(statements.length).toBeLessThanOrEqual(6);
      expect(await tree(r, s, doc.oid)).toEqual(["kept", "gone 0", ["gone 2"], "gone 1", ["under gone 1"]]);
      // The one removed inside another removed one comes back with it, and edits go on.
      await r.update(s, gone[2]!.oid, { content: "gone 2 edited" });
      expect((await r.get(s, gone[2]!.oid)).depth).toBe(2);
    } finally {
      await r.close();
      await release();
    }
  });

  it("lists history newest first with cursor paging, and versions", async () => {
    const { s, doc, a1 } = await outline();
    for (let i = 0; i < 7; i++) await e.update(s, a1.oid, { content: `A1 v${i}` });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await e.history(s, doc.oid, { limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...page.ops.map((o) => o.opId));
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5 + 7);
    expect(new Set(seen).size).toBe(seen.length);
    const own = await e.history(s, a1.oid);
    expect(own.ops.map((o) => o.kind)).toEqual([...Array(7).fill("update"), "create"]);
    expect(own.ops[0]).toMatchObject({ device: e.deviceId, oid: a1.oid });
    const vs = await e.versions(s, a1.oid);
    expect(vs.versions).toHaveLength(8);
    expect(vs.versions[0]!.vid).toBe((await e.get(s, a1.oid)).vid);
    await rejects(e.history(s, doc.oid, { cursor: "nope" }), "INVALID_ARGUMENT", /cursor "nope"/);
  });

  it("diffs two versions: created, deleted, updated, moved, reordered", async () => {
    const { s, doc, a, b, a1, a2 } = await outline();
    const from = (await e.get(s, doc.oid)).vid;
    const c = await e.create(s, { parentOid: b.oid, content: "C" });
    await e.remove(s, a2.oid);
    await e.update(s, a1.oid, { content: "A1 new" });
    await e.move(s, a1.oid, { parentOid: b.oid, index: 0 });
    await e.move(s, b.oid, { parentOid: doc.oid, index: 0 });
    const to = (await e.get(s, doc.oid)).vid;
    const changes = await e.diff(s, doc.oid, from, to);
    const byKind = (k: string) => changes.filter((x) => x.kind === k).map((x) => x.oid);
    expect(byKind("created")).toEqual([c.oid]);
    expect(byKind("deleted")).toEqual([a2.oid]);
    expect(byKind("updated")).toEqual([a1.oid]);
    expect(byKind("moved")).toEqual([a1.oid]);
    expect(byKind("reordered")).toEqual([b.oid]);
    expect(changes.find((x) => x.kind === "moved")).toMatchObject({ parentBefore: a.oid, parentAfter: b.oid, indexBefore: 0, indexAfter: 0 });
    expect(changes.find((x) => x.kind === "reordered")).toMatchObject({ indexBefore: 1, indexAfter: 0 });
    expect(await e.diff(s, doc.oid, to, to)).toEqual([]);
    const back = await e.diff(s, doc.oid, to, from);
    expect(back.filter((x) => x.kind === "created").map((x) => x.oid)).toEqual([a2.oid]);
  });

  it("names the bad value in typed errors", async () => {
    const { s, doc, a } = await outline();
    const other = await e.createSpace();
    await rejects(e.get(s, "not-a-uuid"), "INVALID_ARGUMENT", /oid must be a UUID, got "not-a-uuid"/);
    await rejects(e.get(s, "0190c0de-0000-7000-8000-000000000000"), "NOT_FOUND", /0190c0de-0000-7000-8000-000000000000/);
    await rejects(e.get(other.spaceId, a.oid), "NOT_FOUND", new RegExp(other.spaceId));
    await rejects(e.create(other.spaceId, { parentOid: doc.oid, content: "x" }), "NOT_FOUND");
    await rejects(e.createDocument("0190c0de-0000-7000-8000-000000000001", { content: "x" }), "NOT_FOUND", /space/);
    await rejects(e.create(s, { parentOid: doc.oid, content: "" }), "INVALID_ARGUMENT", /empty/);
    await rejects(e.create(s, { parentOid: doc.oid, content: "x".repeat(100_001) }), "INVALID_ARGUMENT", /100001 characters/);
    await rejects(e.create(s, { parentOid: doc.oid, content: 42 as unknown as string }), "INVALID_ARGUMENT", /got 42/);
    await rejects(e.create(s, { parentOid: doc.oid, content: "a\u0000b" }), "INVALID_ARGUMENT", /NUL/);
    await rejects(e.update(s, a.oid, { props: { f: (() => 1) as unknown as string } }), "INVALID_ARGUMENT", /props.f must be JSON, got function/);
    await rejects(e.update(s, a.oid, { props: { n: Number.NaN } }), "INVALID_ARGUMENT", /NaN/);
    await rejects(e.update(s, a.oid, { props: { d: new Date(0) as unknown as string } }), "INVALID_ARGUMENT", /Date/);
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    await rejects(e.update(s, a.oid, { props: cyclic as never }), "INVALID_ARGUMENT", /cycle/);
    await rejects(e.update(s, a.oid, { props: { big: "x".repeat(70_000) } }), "INVALID_ARGUMENT", /bytes of JSON/);
    await rejects(e.get(s, a.oid, { vid: "short" }), "INVALID_ARGUMENT", /vid/);
    await rejects(e.get(s, a.oid, { vid: "AAAAAAAAAAAAAAAAAAAAAA" }), "NOT_FOUND", /AAAAAAAAAAAAAAAAAAAAAA/);
    await rejects(e.checkout(s, a.oid, doc.vid), "NOT_FOUND", /no version/);
    await rejects(e.create(s, { parentOid: doc.oid, content: "dup", oid: a.oid }), "CONFLICT", new RegExp(a.oid));
  });

  it("writes nothing when a statement fails mid-transaction", async () => {
    const { s, a1 } = await outline();
    // Records are binary: the trigger refuses the row the update appends the objective's record to.
    await fresh.sql(`create function fail_on_boom() returns trigger language plpgsql as $$
      begin if new.oid = '${a1.oid}' then raise exception 'boom refused' using errcode = 'P0001'; end if; return new; end $$`);
    await fresh.sql("create trigger boom after insert or update on version for each row execute function fail_on_boom()");
    try {
      const before = await counts(fresh);
      const seq = await fresh.sql("select seq from space where space_id = $1", [s]);
      const error = await rejects(e.update(s, a1.oid, { content: "boom" }), "STORAGE", /boom refused/);
      expect((error as { sqlstate?: string }).sqlstate).toBe("P0001");
      expect(await counts(fresh)).toEqual(before);
      expect(await fresh.sql("select seq from space where space_id = $1", [s])).toEqual(seq);
      // The engine is fine afterwards and its cache holds no phantom rows.
      await fresh.sql("drop trigger boom on version");
      const ok = await e.update(s, a1.oid, { content: "fine" });
      expect((await e.get(s, a1.oid)).vid).toBe(ok.vid);
    } finally {
      await fresh.sql("drop trigger if exists boom on version");
      await fresh.sql("drop function fail_on_boom()");
    }
  });

  it("writes O(log fanout) link rows for a change under a parent with 10,000 children", async () => {
    const { spaceId: s } = await e.createSpace();
    const doc = await e.createDocument(s, { content: "Wide" });
    const { oids } = await e.importTree(s, {
      parentOid: doc.oid,
      nodes: [{ content: "parent", children: Array.from({ length: 10_000 }, (_, i) => ({ content: `child ${i}` })) }],
    });
    const parent = oids[0]!;
    const kids = await e.children(s, parent, { offset: 5000, limit: 3 });
    expect(kids.map((k) => k.content)).toEqual(["child 5000", "child 5001", "child 5002"]);
    const written = async (fn: () => Promise<unknown>) => {
      const before = await counts(fresh);
      await fn();
      const after = await counts(fresh);
      return Object.fromEntries([...TABLES, "records"].map((t) => [t, after[t]! - before[t]!]));
    };
    const edit = await written(() => e.update(s, kids[1]!.oid, { content: "edited" }));
    // 3 version records (child, parent, doc), deltas appended to their rows but the small document
    // root's (its deltas outgrew twice its image: a new image, a new row), and one leaf + one inner
    // chunk of the 10,000-link tree.
    expect(edit).toEqual({ version: 1, records: 3, chunk: 2, op: 1, document: 0 });
    const insert = await written(() => e.create(s, { parentOid: parent, index: 7777, content: "new" }));
    expect(insert).toMatchObject({ version: 1, records: 3 });
    expect(insert.chunk).toBeLessThanOrEqual(4);
    const moved = await written(() => e.move(s, kids[0]!.oid, { parentOid: parent, index: 10 }));
    expect(moved.chunk).toBeLessThanOrEqual(6);
    expect((await e.get(s, parent)).stats.descendants).toBe(10_001);
    expect((await e.children(s, parent, { offset: 10, limit: 1 }))[0]!.oid).toBe(kids[0]!.oid);
    // 5,000 children appended in one write: one insert after another builds thousands of
    // intermediate chunks, but only the chunks of the final children tree get a row.
    const appended = await written(() =>
      e.importTree(s, { parentOid: parent, nodes: Array.from({ length: 5000 }, (_, i) => ({ content: `more ${i}` })) }),
    );
    expect(appended.version).toBe(5000 + 2);
    const leaves = Math.ceil(15_001 / 16);
    expect(appended.chunk).toBeLessThanOrEqual(leaves);
    expect(appended.chunk).toBeGreaterThanOrEqual(Math.ceil(5000 / 64));
    expect(await unreachableChunks(fresh)).toBe(0);
    expect((await e.children(s, parent, { offset: 15_000, limit: 1 }))[0]!.content).toBe("more 4999");
  });

  it("streams an import in one transaction: rows flushed on the way, one op, one version per row", async () => {
    const { spaceId: s } = await e.createSpace();
    const before = await counts(fresh);
    const progress: number[] = [];
    // A root with 3 sections of 150 rows, each row with 2 children: 1 + 3 * (150 * 3 + 1) rows.
    function* events(): Generator<ImportEvent> {
      yield { kind: "open", content: "Streamed" };
      for (let sec = 0; sec < 3; sec++) {
        yield { kind: "open", content: `section ${sec}` };
        for (let i = 0; i < 150; i++) {
          yield { kind: "open", content: `row ${sec}.${i}`, props: { done: i % 2 === 0 } };
          yield { kind: "open", content: "a" };
          yield { kind: "close" };
          yield { kind: "open", content: "b", props: { done: true } };
          yield { kind: "close" };
          yield { kind: "close" };
        }
        yield { kind: "close" };
      }
      yield { kind: "close" };
    }
    const { oids, count } = await e.importStream(s, events(), { flushRows: 100, onProgress: (n) => progress.push(n) });
    expect(count).toBe(1 + 3 * 451);
    const after = await counts(fresh);
    expect(after["version"]! - before["version"]!).toBe(count);
    // One op, and its rows as parts for other devices (engine/import-parts.ts): ~48 KiB each.
    const kinds = (await e.logSince(s, { limit: 10_000 })).map((op) => op.kind);
    expect(kinds.filter((k) => k === "import")).toHaveLength(1);
    expect(kinds.filter((k) => k === "importPart")).toHaveLength(2);
    expect(after["op"]! - before["op"]!).toBe(3);
    expect(progress.length).toBeGreaterThan(10);
    expect(progress[progress.length - 1]).toBe(count);
    const root = await e.get(s, oids[0]!);
    expect(root.stats).toEqual({ descendants: 1353, total: 3 * 300, done: 3 * 225, percent: 75 });
    const sections = await e.children(s, root.oid);
    expect(sections.map((x) => x.content)).toEqual(["section 0", "section 1", "section 2"]);
    const rows = await e.children(s, sections[1]!.oid, { offset: 148, limit: 5 });
    expect(rows.map((x) => x.content)).toEqual(["row 1.148", "row 1.149"]);
    const view = await e.view(s, root.oid, { offset: 3, limit: 4 });
    expect(view.rows.map((r) => r.content)).toEqual(["b", "row 0.1", "a", "b"]);
    // Appending under an existing objective promotes it once, after all the rows.
    const more = await e.importStream(s, [{ kind: "open", content: "appended" }, { kind: "close" }], { parentOid: sections[2]!.oid });
    const last = await e.children(s, sections[2]!.oid, { offset: 150, limit: 2 });
    expect(last.map((x) => x.oid)).toEqual(more.oids);
    expect((await e.get(s, root.oid)).stats.descendants).toBe(1354);
  });

  it("wraps a statement's error with its SQLSTATE and keeps the connection; Postgres runs without JIT", async () => {
    await expect(fresh.sql("select 1 / 0")).rejects.toMatchObject({ name: "StorageError", code: "STORAGE", sqlstate: "22012" });
    expect(await fresh.sql<{ n: number }>("select 2 as n")).toEqual([{ n: 2 }]);
    // The engine's statements are index probes: JIT compilation only costs them (storage/postgres).
    if (backend.name === "postgres") expect(await fresh.sql<{ jit: string }>("show jit")).toEqual([{ jit: "off" }]);
  });

  it("rolls a streamed import back whole when the source or an event fails half-way", async () => {
    const { spaceId: s } = await e.createSpace();
    const doc = await e.createDocument(s, { content: "Keep" });
    const before = await counts(fresh);
    async function* failing(): AsyncGenerator<ImportEvent> {
      yield { kind: "open", content: "Big" };
      for (let i = 0; i < 2500; i++) {
        yield { kind: "open", content: `row ${i}` };
        yield { kind: "close" };
      }
      // A caller's error whose code looks like a SQLSTATE must come back as it was thrown.
      throw Object.assign(new Error("the file went away"), { code: "LIMIT" });
    }
    const failure = await e.importStream(s, failing(), { flushRows: 500 }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ message: "the file went away", code: "LIMIT" });
    expect(failure).not.toBeInstanceOf(StorageError);
    const bad: ImportEvent[] = [{ kind: "open", content: "x" }, { kind: "open", content: "" }];
    await expect(e.importStream(s, bad, { parentOid: doc.oid })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(e.importStream(s, [{ kind: "open", content: "x" }])).rejects.toThrow(/still open/);
    await expect(e.importStream(s, [{ kind: "close" }])).rejects.toThrow(/import event 1 closes a row, but none is open/);
    await expect(e.importStream(s, [])).rejects.toThrow(/at least one row/);
    const oid = newOid();
    const twice: ImportEvent[] = [{ kind: "open", content: "a", oid }, { kind: "close" }, { kind: "open", content: "b", oid }, { kind: "close" }];
    await expect(e.importStream(s, twice)).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(e.importStream(s, [{ kind: "open", content: "again", oid: doc.oid }, { kind: "close" }], { flushRows: 1 })).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining(doc.oid),
    });
    expect(await counts(fresh)).toEqual(before);
    expect((await e.get(s, doc.oid)).stats.descendants).toBe(0);
  });

  it("serializes concurrent writers: two edits under one parent both survive", async () => {
    const { s, doc, a } = await outline();
    const other = fresh.another ? await fresh.another() : e;
    const writers = Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? other : e).create(s, { parentOid: a.oid, content: `w${i}` }),
    );
    const made = await Promise.all(writers);
    const kids = (await e.children(s, a.oid)).map((k) => k.oid);
    for (const m of made) expect(kids).toContain(m.oid);
    expect((await e.get(s, doc.oid)).stats.descendants).toBe(4 + 10);
    const ops = (await e.history(s, a.oid, { limit: 100 })).ops;
    expect(new Set(ops.map((o) => o.seq)).size).toBe(ops.length);
  });

  it("refuses a schema newer than the code, and calls after close", async () => {
    if (!fresh.another) return; // needs a second engine on the same database
    await fresh.sql("update meta set value = '999' where key = 'schema_version'");
    try {
      await rejects(fresh.another(), "SCHEMA_TOO_NEW", /999/);
    } finally {
      await fresh.sql("update meta set value = $1 where key = 'schema_version'", [String(latestVersion)]);
    }
    const extra = await fresh.another();
    await extra.close();
    await rejects(extra.createSpace(), "CLOSED");
  });
});

describe("pglite data directory", () => {
  it("keeps everything across close and reopen", async () => {
    const dir = await mkdtemp(join(tmpdir(), "logbook-"));
    try {
      let spaceId: string;
      let doc: Objective;
      let deviceId: string;
      {
        await using e = await openEngine({ storage: pglite({ dataDir: dir }) });
        spaceId = (await e.createSpace()).spaceId;
        doc = await e.createDocument(spaceId, { content: "Kept" });
        await e.create(spaceId, { parentOid: doc.oid, content: "child", props: { done: true } });
        deviceId = e.deviceId;
      }
      const e = await openEngine({ storage: pglite({ dataDir: dir }) });
      try {
        expect(e.deviceId).toBe(deviceId);
        const root = await e.get(spaceId, doc.oid);
        expect(root.stats).toMatchObject({ descendants: 1, done: 1 });
        expect((await e.children(spaceId, doc.oid))[0]!.content).toBe("child");
        expect((await e.get(spaceId, doc.oid, { vid: doc.vid })).childCount).toBe(0);
        const next = await e.create(spaceId, { parentOid: doc.oid, content: "after reopen" });
        expect((await e.history(spaceId, next.oid)).ops[0]!.opId).toBe(`${deviceId}.3`);
      } finally {
        await e.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("pglite in a worker thread", () => {
  it("writes, rolls back and streams imports like the in-thread backend, and the data dir opens in-thread", async () => {
    const dir = await mkdtemp(join(tmpdir(), "logbook-worker-"));
    try {
      let spaceId: string;
      let top: string;
      {
        await using e = await openEngine({ storage: pglite({ dataDir: dir, worker: true }) });
        spaceId = (await e.createSpace()).spaceId;
        const doc = await e.createDocument(spaceId, { content: "Doc" });
        await e.update(spaceId, doc.oid, { content: "Doc (edited)" });
        // Rows flushed every 50 while the next run is built: several writes in flight in one transaction.
        function* events(n: number): Generator<ImportEvent> {
          yield { kind: "open", content: "Imported" };
          for (let i = 0; i < n; i++) {
            yield { kind: "open", content: `row ${i}`, props: { done: i % 2 === 0 } };
            yield { kind: "close" };
          }
          yield { kind: "close" };
        }
        top = (await e.importStream(spaceId, events(1000), { parentOid: doc.oid, flushRows: 50 })).oids[0]!;
        async function* failing(): AsyncGenerator<ImportEvent> {
          yield* events(500);
          throw Object.assign(new Error("cut off"), { code: "EMPTY" });
        }
        await expect(e.importStream(spaceId, failing(), { flushRows: 50 })).rejects.toMatchObject({ message: "cut off", code: "EMPTY" });
        await expect(e.get(spaceId, "00000000-0000-7000-8000-000000000000")).rejects.toMatchObject({ code: "NOT_FOUND" });
        expect((await e.get(spaceId, doc.oid)).stats).toMatchObject({ descendants: 1001, total: 1000, done: 500 });
      }
      const e = await openEngine({ storage: pglite({ dataDir: dir }) });
      try {
        expect((await e.get(spaceId, top)).stats.descendants).toBe(1000);
        const rows = await e.children(spaceId, top, { offset: 998, limit: 5 });
        expect(rows.map((r) => r.content)).toEqual(["row 998", "row 999"]);
        const docs = (await e.history(spaceId, top)).ops.map((o) => o.kind);
        expect(docs).toEqual(["import"]);
      } finally {
        await e.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
