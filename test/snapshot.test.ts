/**
 * Snapshots (engine/snapshot.ts): a space's stored rows copied as they are into an empty space of
 * another database hold the same versions, history and op log, and sync on from there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, SnapshotFrame } from "../index.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";
import { lcg, randomEdits } from "./helpers/random-edits.js";

async function collect(gen: AsyncIterable<SnapshotFrame>): Promise<SnapshotFrame[]> {
  const out: SnapshotFrame[] = [];
  for await (const f of gen) out.push(f);
  return out;
}

async function state(e: Engine, s: string, doc: string) {
  const root = await e.get(s, doc);
  const { rows } = await e.view(s, doc, { limit: 10_000 });
  return { vid: root.vid, stats: root.stats, rows: rows.map((r) => [r.oid, r.vid, r.depth, r.content, r.props]) };
}

describe.each(await usableBackends())("snapshots on $name", (backend) => {
  const opened: Fresh[] = [];
  const fresh = async () => {
    const f = await backend.fresh();
    opened.push(f);
    return f;
  };
  let origin: Fresh;
  beforeAll(async () => {
    origin = await fresh();
  });
  afterAll(async () => {
    for (const f of opened) await f.release();
  });

  it("a fresh database loads a space's rows as they are and holds the same versions, history and log", async () => {
    const a = origin.engine;
    const { spaceId: s } = await a.createSpace();
    const doc = (await a.createDocument(s, { content: "doc" })).oid;
    await a.importTree(s, { parentOid: doc, nodes: Array.from({ length: 300 }, (_, i) => ({ content: `row ${i}`, children: [{ content: `under ${i}` }] })) });
    await randomEdits(a, s, [doc], lcg(7), 40);
    const early = (await a.versions(s, doc)).versions.at(-1)!.vid;
    const frames = await collect(a.exportSnapshot(s));
    expect(frames[0]).toMatchObject({ t: "head", seq: expect.any(Number) });
    expect(frames.at(-1)).toMatchObject({ t: "end" });

    const b = (await fresh()).engine;
    const loaded = await b.loadSnapshot(s, frames);
    expect(loaded.rows).toBe((frames.at(-1) as { rows: number }).rows);
    expect(await state(b, s, doc)).toEqual(await state(a, s, doc));
    expect((await b.history(s, doc, { limit: 100 })).ops).toEqual((await a.history(s, doc, { limit: 100 })).ops);
    expect((await b.view(s, doc, { vid: early, limit: 50 })).rows).toEqual((await a.view(s, doc, { vid: early, limit: 50 })).rows);
    expect((await b.logSince(s, { limit: 10_000 })).map((op) => op.opId)).toEqual((await a.logSince(s, { limit: 10_000 })).map((op) => op.opId));
    expect(await b.conflicts(s)).toEqual(await a.conflicts(s));

    // Both go on editing and exchange what follows: the same versions again.
    const aMark = (await a.logSince(s, { limit: 10_000 })).length;
    await randomEdits(a, s, [doc], lcg(8), 10);
    await randomEdits(b, s, [doc], lcg(9), 10);
    const fromA = (await a.logSince(s, { limit: 10_000 })).filter((op) => op.device === a.deviceId).slice(-40);
    const fromB = await b.logSince(s, { device: b.deviceId });
    await a.applyOps(s, fromB);
    await b.applyOps(s, fromA.filter((op) => !fromB.some((x) => x.opId === op.opId)));
    expect(aMark).toBeGreaterThan(0);
    expect(await state(b, s, doc)).toEqual(await state(a, s, doc));
  });

  it("an export reads one moment: on Postgres writers go on meanwhile and the frames still hold the state of its start", async () => {
    const a = origin.engine;
    const { spaceId: s } = await a.createSpace();
    const doc = (await a.createDocument(s, { content: "doc" })).oid;
    await a.importTree(s, { parentOid: doc, nodes: Array.from({ length: 300 }, (_, i) => ({ content: `row ${i}`, children: [{ content: `below ${i}` }] })) });
    await randomEdits(a, s, [doc], lcg(7), 40);
    const before = await state(a, s, doc);
    const ops = (await a.logSince(s, { limit: 10_000 })).length;
    const frames = a.exportSnapshot(s)[Symbol.asyncIterator]();
    const head = await frames.next();
    expect(head.value).toMatchObject({ t: "head" });
    // Writes while the export is open: on Postgres they commit at once (the export holds no lock).
    await randomEdits(a, s, [doc], lcg(8), 30);
    await a.create(s, { parentOid: doc, index: 0, content: "after the export began" });
    const rest: SnapshotFrame[] = [head.value as SnapshotFrame];
    for (let f = await frames.next(); !f.done; f = await frames.next()) rest.push(f.value);
    const b = (await fresh()).engine;
    await b.createSpace({ spaceId: s });
    await b.loadSnapshot(s, rest);
    if (backend.name === "postgres") {
      // Every frame from the moment of the head: the state and log of then, not of now.
      expect(await state(b, s, doc)).toEqual(before);
      expect((await b.logSince(s, { limit: 10_000 })).length).toBe(ops);
    } else {
      // PGlite has one connection: its pages see each write (the sync server holds rounds off).
      expect((await state(b, s, doc)).rows.length).toBeGreaterThan(before.rows.length);
    }
  });

  it("loads into a database that numbers devices otherwise (its records get its numbers), refuses a space with rows, and leaves nothing of a bad snapshot", async () => {
    const a = origin.engine;
    const { spaceId: s } = await a.createSpace();
    const doc = (await a.createDocument(s, { content: "x" })).oid;
    await randomEdits(a, s, [doc], lcg(3), 15);
    const frames = await collect(a.exportSnapshot(s));
    // b numbers its own device 1 and, having replayed another space of a, a's device 2.
    const b = (await fresh()).engine;
    const { spaceId: other } = await b.createSpace();
    await b.createDocument(other, { content: "mine" });
    const { spaceId: third } = await a.createSpace();
    await a.createDocument(third, { content: "replayed" });
    await b.createSpace({ spaceId: third });
    await b.applyOps(third, await a.logSince(third));
    await b.loadSnapshot(s, frames);
    expect(await state(b, s, doc)).toEqual(await state(a, s, doc));
    expect((await b.history(s, doc, { limit: 100 })).ops).toEqual((await a.history(s, doc, { limit: 100 })).ops);
    // b goes on from there: its own edit, then a's next ops.
    await b.update(s, doc, { content: "b was here" });
    await a.applyOps(s, await b.logSince(s, { device: b.deviceId }));
    expect(await state(a, s, doc)).toEqual(await state(b, s, doc));
    // A space with rows is refused; a snapshot cut short leaves nothing, not even the space.
    await expect(b.loadSnapshot(s, frames)).rejects.toMatchObject({ code: "CONFLICT" });
    const c = (await fresh()).engine;
    const { spaceId: empty } = await a.createSpace();
    await expect(c.loadSnapshot(empty, frames.slice(0, -1))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await c.createSpace({ spaceId: empty });
  });
});
